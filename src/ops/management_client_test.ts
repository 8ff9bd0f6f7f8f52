import assert from "node:assert/strict";
import { Logger } from "../log/log.ts";
import { startManagement } from "./management.ts";
import { managementRequest, ManagementUnreachableError } from "./management_client.ts";
import { FakeServerControl } from "../testing/ops/control.ts";

const log = new Logger({ sink: () => {} });

Deno.test("managementRequest() returns one-line replies and multi-line replies without END", async () => {
  const control = new FakeServerControl();
  const mgmt = await startManagement("127.0.0.1:0", control, { log });
  try {
    assert.deepEqual(await managementRequest(mgmt.address, "kill alice"), [
      "SUCCESS: common name 'alice' found, 1 client(s) killed",
    ]);
    const json = await managementRequest(mgmt.address, "status json");
    assert.equal(json.length, 1);
    assert.equal(JSON.parse(json[0]).clients.length, 1);
    const v2 = await managementRequest(mgmt.address, "status 2");
    assert.match(v2[0], /^TITLE,/);
    assert.equal(v2.at(-1), "GLOBAL_STATS,dco_enabled,0");
  } finally {
    await mgmt.close();
  }
});

Deno.test("managementRequest() works over a unix socket", async () => {
  const dir = await Deno.makeTempDir();
  const mgmt = await startManagement(`${dir}/m.sock`, new FakeServerControl(), { log });
  try {
    assert.deepEqual(await managementRequest(`${dir}/m.sock`, "reload-crl"), [
      "SUCCESS: CRL reloaded, 0 client(s) disconnected",
    ]);
  } finally {
    await mgmt.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("managementRequest() explains in one line when nothing listens", async () => {
  // Bind then release a port so that nothing listens on it.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  await assert.rejects(
    () => managementRequest(`127.0.0.1:${port}`, "status json"),
    (e: Error) => {
      assert.ok(e instanceof ManagementUnreachableError);
      assert.equal(
        e.message,
        `Cannot reach the management interface at 127.0.0.1:${port}: connection refused (is the server running?)`,
      );
      return true;
    },
  );
  await assert.rejects(
    () => managementRequest("/nonexistent/tsvpn.sock", "status json"),
    /at \/nonexistent\/tsvpn.sock: no such socket/,
  );
});

Deno.test("managementRequest() times out on a peer that never answers and rejects a non-management peer", async () => {
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of silent) {
      held.push(c);
      if (held.length === 2) await c.write(new TextEncoder().encode("SSH-2.0-OpenSSH\r\n"));
    }
  })();
  const port = (silent.addr as Deno.NetAddr).port;
  try {
    await assert.rejects(
      () => managementRequest(`127.0.0.1:${port}`, "status json", { timeoutMs: 200 }),
      /no answer within 200 ms/,
    );
    await assert.rejects(
      () => managementRequest(`127.0.0.1:${port}`, "status json", { timeoutMs: 2000 }),
      /not a management interface \(it said "SSH-2.0-OpenSSH"\)/,
    );
  } finally {
    for (const c of held) c.close();
    silent.close();
    await accepting.catch(() => {});
  }
});
