import assert from "node:assert/strict";
import { Logger } from "../log/log.ts";
import { LineReader } from "./line_reader.ts";
import { startManagement } from "./management.ts";
import { ClientAuthHub, MAX_CLIENT_AUTH_LINES } from "./management_client_auth.ts";
import { FakeServerControl } from "../testing/ops/control.ts";
import { until } from "../testing/wait.ts";

const encoder = new TextEncoder();
const quiet = new Logger({ level: "error", sink: () => {} });

async function open(
  port: number,
): Promise<{ conn: Deno.Conn; reader: LineReader; send(t: string): Promise<void> }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const reader = new LineReader(conn, { maxLineBytes: 1 << 16 });
  await reader.readLine(); // greeting
  return {
    conn,
    reader,
    send: async (t) => {
      const b = encoder.encode(t);
      let off = 0;
      while (off < b.length) off += await conn.write(b.subarray(off));
    },
  };
}

Deno.test("startManagement() with clientAuth: a session sees >CLIENT:CONNECT, answers client-auth with a block up to END, and pid still works after", async () => {
  const hub = new ClientAuthHub({ log: quiet });
  const mgmt = await startManagement("127.0.0.1:0", new FakeServerControl(), { log: quiet, clientAuth: hub });
  const port = Number(mgmt.address.split(":")[1]);
  const s = await open(port);
  try {
    // Commands work as usual; a decision asked now reaches the session (or would be replayed on attach).
    await s.send("pid\n");
    assert.match((await s.reader.readLine())!, /^SUCCESS: pid=/);
    const decision = hub.decide("CONNECT", 4, 0, { common_name: "alice" });
    assert.deepEqual(
      [await s.reader.readLine(), await s.reader.readLine(), await s.reader.readLine()],
      [">CLIENT:CONNECT,4,0", ">CLIENT:ENV,common_name=alice", ">CLIENT:ENV,END"],
    );
    await s.send('client-auth 4 0\npush "route 10.1.0.0 255.255.0.0"\nEND\npid\n');
    assert.equal(await s.reader.readLine(), "SUCCESS: client-auth command succeeded");
    assert.deepEqual(await decision, { ok: true, config: ['push "route 10.1.0.0 255.255.0.0"'] });
    assert.match((await s.reader.readLine())!, /^SUCCESS: pid=/);
    await s.send('client-deny 4 0 "late"\n');
    assert.equal(await s.reader.readLine(), "ERROR: client-deny command failed");
  } finally {
    s.conn.close();
    await mgmt.close();
  }
});

Deno.test("startManagement() with clientAuth ends a session whose client-auth block never ends within the line limit", async () => {
  const hub = new ClientAuthHub({ log: quiet });
  const mgmt = await startManagement("127.0.0.1:0", new FakeServerControl(), { log: quiet, clientAuth: hub });
  const port = Number(mgmt.address.split(":")[1]);
  const s = await open(port);
  try {
    const decision = hub.decide("CONNECT", 1, 0, {});
    await until(async () => (await s.reader.readLine()) === ">CLIENT:ENV,END" || null, {
      what: "the CONNECT block",
      timeoutMs: 5000,
    });
    await s.send("client-auth 1 0\n" + "push x\n".repeat(MAX_CLIENT_AUTH_LINES + 1));
    assert.equal(
      await s.reader.readLine(),
      `ERROR: client-auth block longer than ${MAX_CLIENT_AUTH_LINES} lines`,
    );
    assert.equal(await s.reader.readLine(), null, "the session was closed");
    assert.equal(hub.pendingCount, 1, "the decision is still open");
    hub.close();
    assert.deepEqual(await decision, { ok: false, reason: "server shutting down" });
  } finally {
    s.conn.close();
    await mgmt.close();
  }
});

Deno.test("startManagement() without clientAuth answers client-auth as an unknown command", async () => {
  const mgmt = await startManagement("127.0.0.1:0", new FakeServerControl(), { log: quiet });
  const s = await open(Number(mgmt.address.split(":")[1]));
  try {
    await s.send("client-auth-nt 1 0\n");
    assert.match((await s.reader.readLine())!, /^ERROR: unknown command/);
  } finally {
    s.conn.close();
    await mgmt.close();
  }
});
