import assert from "node:assert/strict";
import { Logger } from "../log/log.ts";
import { startManagement } from "../ops/management.ts";
import { formatStatusTable } from "../ops/status_table.ts";
import { FakeServerControl } from "../ops/testing_control.ts";
import { runStatus } from "./status.ts";

const log = new Logger({ sink: () => {} });

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "", err = "";
  const code = await runStatus(args, { out: (t) => out += t, err: (t) => err += t, timeoutMs: 2000 });
  return { code, out, err };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

Deno.test("runStatus() prints the status table from a live management interface", async () => {
  const control = new FakeServerControl();
  const mgmt = await startManagement("127.0.0.1:0", control, { log });
  try {
    const r = await run(["--management", mgmt.address]);
    assert.equal(r.err, "");
    assert.equal(r.code, 0);
    assert.equal(r.out, formatStatusTable(control.snapshot()).join("\n") + "\n");
    assert.match(r.out, /^alice {2}198\.51\.100\.7:51514 /m);
  } finally {
    await mgmt.close();
  }
});

Deno.test("runStatus() --json prints the snapshot as JSON, also over a unix socket", async () => {
  const dir = await Deno.makeTempDir();
  const control = new FakeServerControl();
  const mgmt = await startManagement(`${dir}/mgmt.sock`, control, { log });
  try {
    const r = await run(["--json", "--management", `${dir}/mgmt.sock`]);
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.out), control.snapshot());
  } finally {
    await mgmt.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runStatus() exits 1 with one clear line when the server is not reachable", async () => {
  const port = freePort();
  const r = await run(["--management", `127.0.0.1:${port}`]);
  assert.equal(r.code, 1);
  assert.equal(r.out, "");
  assert.equal(
    r.err,
    `tsvpn status: Cannot reach the management interface at 127.0.0.1:${port}: connection refused (is the server running?)\n`,
  );
});

Deno.test("runStatus() exits 1 when the server answers with an error or no status document", async () => {
  // A stand-in that speaks the protocol but answers every command with an error, like an old OpenVPN.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const replies = ["ERROR: bad status format version number\r\n", '{"not":"a snapshot"}\r\nEND\r\n'];
  const conns: Deno.Conn[] = [];
  const serving = (async () => {
    for await (const c of l) {
      conns.push(c);
      const reply = replies.shift() ?? "";
      await c.write(new TextEncoder().encode(">INFO:OpenVPN Management Interface Version 5\r\n"));
      await c.read(new Uint8Array(100));
      await c.write(new TextEncoder().encode(reply));
    }
  })();
  const address = `127.0.0.1:${(l.addr as Deno.NetAddr).port}`;
  try {
    const a = await run(["--management", address]);
    assert.equal(a.code, 1);
    assert.equal(
      a.err,
      `tsvpn status: the server at ${address} answered "ERROR: bad status format version number"\n`,
    );
    const b = await run(["--management", address]);
    assert.equal(b.code, 1);
    assert.equal(b.err, `tsvpn status: the server at ${address} sent no valid status document\n`);
  } finally {
    for (const c of conns) c.close();
    l.close();
    await serving.catch(() => {});
  }
});

Deno.test("runStatus() exits 2 on usage errors and prints help on --help", async () => {
  const unknown = await run(["--bogus"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /^tsvpn status: Unknown option '--bogus' \(see tsvpn status --help\)\n$/);
  const positional = await run(["extra"]);
  assert.equal(positional.code, 2);
  const badAddr = await run(["--management", "nowhere"]);
  assert.equal(badAddr.code, 2);
  assert.match(badAddr.err, /^tsvpn status: Invalid management address "nowhere"/);
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /^Usage: tsvpn status/);
});
