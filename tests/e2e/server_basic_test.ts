/**
 * End-to-end: the tsvpn server in a namespace, stock openvpn 2.6 clients in
 * others, all on one bridged segment (see support/lab.ts).
 */

import assert from "node:assert/strict";
import { e2eIgnore, serverYaml } from "./support/lab.ts";
import { withPair } from "./support/pair.ts";

Deno.test({
  name: "runServer() serves a stock openvpn client over UDP in tun/subnet: address pushed, pings both ways",
  ignore: e2eIgnore(),
  fn: async () => {
    await withPair(async ({ lab, pki, srv, cli: c1 }) => {
      const server = await lab.startServer(
        srv,
        "server",
        serverYaml({
          pki: { ca: pki.ca, cert: pki.cert, key: pki.key, crl: pki.crl },
          server: `  network: 10.8.0.0/24\n  status_interval: 1\n  status_file: ${pki.dir}/status.txt\n`,
          extra: ["data: { reneg_seconds: 2 }", "management: { listen: 127.0.0.1:7505 }"],
        }),
      );
      const client = lab.startClient(c1, "alice", await pki.profile("alice", "172.31.0.1:1194"));
      await client.waitFor(/Initialization Sequence Completed/, 20_000);
      const addrs = await lab.addresses(c1, "tun0");
      assert.deepEqual(addrs.filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`), [
        "10.8.0.2/24",
      ]);
      assert.ok(await lab.pingUntil(c1, "10.8.0.1"), "client pings the server's tun address");
      assert.ok(await lab.pingUntil(srv, "10.8.0.2"), "server host pings the client");
      await server.waitFor(/client connected cn=alice/);
      await server.waitFor(/address assigned cn=alice/);
      // Soft reset: new data keys every 2 s, traffic keeps flowing.
      await server.waitFor(/data keys renewed cn=alice keyId=1/, 10_000);
      assert.ok(await lab.pingUntil(c1, "10.8.0.1"), "pings after the soft reset");
      await server.waitFor(/management interface listening address=127\.0\.0\.1:7505/);
      const status = await Deno.readTextFile(`${pki.dir}/status.txt`);
      assert.match(status, /CLIENT_LIST,alice,172\.31\.0\.11:\d+,10\.8\.0\.2/);
      assert.equal(await server.stop(), 0, "exit 0 after SIGTERM");
      assert.match(server.log(), /server stopped/);
      const links = await lab.exec(srv, ["ip", "-j", "link"]);
      assert.ok(!links.stdout.includes("tsvpn0"), "device removed");
    });
  },
});
