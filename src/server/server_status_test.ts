import assert from "node:assert/strict";
import { Lab } from "../testing/server/lab.ts";

Deno.test("logStatus() (SIGUSR2) logs the summary, then each client with its addresses and bytes, then each route", async () => {
  const lab = await Lab.create();
  try {
    const server = await lab.startServer({
      server: ["  network: 10.8.0.0/24", "  clients:", "    client1: { iroutes: [192.168.50.0/24] }"],
    });
    const client = lab.startClient("client1");
    await client.handle.waitConnected(15_000);
    const before = server.log.lines.length;
    server.handle.logStatus();
    const dump = server.log.lines.slice(before).map((l) => l.replace(/^\S+ /, ""));
    assert.match(dump[0], /^INFO {2}\[server\] status clients=1/);
    assert.match(
      dump[1],
      /^INFO {2}\[server\] status: client cn=client1 real=192\.168\.1\.10:40000 virtual=10\.8\.0\.2 bytesIn=\d+ bytesOut=\d+ since=\d{4}-/,
    );
    assert.deepEqual(dump.slice(2), [
      "INFO  [server] status: route route=10.8.0.2 cn=client1",
      "INFO  [server] status: route route=192.168.50.0/24 cn=client1",
    ]);
  } finally {
    await lab.close();
  }
});
