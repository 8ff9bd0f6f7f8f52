/**
 * The tsvpn client against the tsvpn server (`main.ts --server`, started by
 * E2eLab.startServer), in the client lab with its "internet" host (tests/e2e/support/client_lab.ts): cli ── srv (10.8.0.0/24, ip_forward)
 * ── net, where net routes only the tunnel network back.
 */

import assert from "node:assert/strict";
import { e2eIgnore, serverYaml } from "./support/lab.ts";
import {
  clientYaml,
  hasRoute,
  hostSnapshot,
  namespaceResolvConf,
  routes,
  startClient,
  withClientLab,
} from "./support/client_lab.ts";

Deno.test({
  name:
    "runClient() against runServer: pushed subnet, routes, def1 and DNS applied, the internet reached through the tunnel, re-dial after a server restart, host restored",
  ignore: e2eIgnore(),
  async fn() {
    await withClientLab(true, async (n, pki) => {
      const { e, srv, cli } = n;
      const resolvConfPath = await namespaceResolvConf(cli, "nameserver 192.0.2.53\n");
      const before = await hostSnapshot(n);
      assert.equal(await e.pingFails(cli, "10.78.0.2", 1), true);

      const yaml = serverYaml({
        pki: { ca: pki.ca, cert: pki.cert, key: pki.key, crl: pki.crl, tlsCrypt: pki.tlsCrypt },
        keepalive: "{ interval: 1, timeout: 5 }",
        server: [
          "  network: 10.8.0.0/24",
          "  push:",
          "    routes: [10.20.0.0/16]",
          "    redirect_gateway: [def1]",
          "    dns: [10.8.0.1]",
          "    domain: vpn.example",
        ].join("\n"),
      });
      let server = await e.startServer(srv, "server1", yaml);
      const client = await startClient(
        n,
        "client",
        clientYaml(pki, ["remotes: [{ host: 10.77.0.1, port: 1194 }]", "pull: { dns: resolv.conf }"]),
        { resolvConfPath },
      );
      try {
        await client.waitFor(/tunnel up/, 20_000);
        const addrs = await e.addresses(cli, "tsvpn0");
        assert.ok(addrs.some((a) => a.local === "10.8.0.2" && a.prefixlen === 24), JSON.stringify(addrs));
        const r4 = await routes(n);
        for (const dst of ["0.0.0.0/1", "128.0.0.0/1", "10.20.0.0/16"]) {
          assert.ok(hasRoute(r4, dst, "tsvpn0", "10.8.0.1"), dst);
        }
        assert.ok(hasRoute(r4, "10.77.0.1", "eth0"));
        assert.ok(await e.pingUntil(cli, "10.8.0.1", 5000), "the server's tunnel address answers");
        assert.ok(await e.pingUntil(cli, "10.78.0.2", 5000), "the internet answers through the tunnel");
        assert.ok(await e.pingUntil(srv, "10.8.0.2", 5000), "the server reaches the client");
        const resolv = await e.exec(cli, ["cat", "/etc/resolv.conf"]);
        assert.match(resolv.stdout, /^nameserver 10\.8\.0\.1$/m);
        assert.match(resolv.stdout, /^search vpn\.example$/m);

        // The server stops cleanly and comes back: the client is told and re-dials.
        assert.equal(await server.stop(), 0);
        server = await e.startServer(srv, "server2", yaml);
        await client.waitFor(/tunnel up again/, 15_000);
        assert.ok(await e.pingUntil(cli, "10.8.0.1", 5000), "pings after the server restart");
      } finally {
        assert.equal(await client.stop(10_000), 0, client.log());
        await server.stop();
      }
      assert.equal(await hostSnapshot(n), before);
      assert.equal(await Deno.readTextFile(resolvConfPath), "nameserver 192.0.2.53\n");
    });
  },
});
