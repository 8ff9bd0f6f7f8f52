/**
 * The tsvpn client against a hostile stock `openvpn` 2.6 server, in the client
 * lab without its "internet" host (tests/e2e/support/client_lab.ts):
 *
 *   +-------- cli ---------+          +------------ srv -------------+
 *   | tsvpn client         |          | openvpn --server 10.8.0.0/24 |
 *   | eth0 10.77.0.2/24    |==========| eth0 10.77.0.1/24            |
 *   | default via .1       |          | pushes the hostile set below |
 *   +----------------------+          +------------------------------+
 *
 * The server pushes a domain whose quoted value carries a newline and a
 * nameserver line (given on openvpn's command line, the one place a stock
 * server takes a newline inside an option), the def1 pair of /1 routes and a
 * redirect-gateway to a client whose pull.redirect_gateway is false, a route
 * via net_gateway, and a route the client's pull_filter ignores. The test
 * checks the real host (resolv.conf as processes in "cli" see it, `ip -j
 * route` there) shows none of it, while the tunnel and the honest part of the
 * push work.
 */

import assert from "node:assert/strict";
import { e2eIgnore, type LoggedProcess } from "./support/lab.ts";
import type { E2ePki } from "./support/pki.ts";
import {
  type ClientNet,
  clientYaml,
  hostSnapshot,
  namespaceResolvConf,
  routes,
  startClient,
  withClientLab,
} from "./support/client_lab.ts";
import { OPENVPN } from "../interop/openvpn_harness.ts";

const ORIGINAL_RESOLV = "nameserver 192.0.2.53\noptions edns0\n";

/** The client's own settings: it refuses redirect-gateway and filters out one route. */
const HOSTILE_CLIENT = [
  "remotes: [{ host: 10.77.0.1, port: 1194 }]",
  "pull:",
  "  redirect_gateway: false",
  "  dns: resolv.conf",
  "  filter:",
  '    - ignore: "route 10.30."',
];

const HOSTILE_PUSH = [
  "dhcp-option DNS 10.8.0.1",
  'dhcp-option DOMAIN "x\nnameserver 203.0.113.66"',
  "dhcp-option DOMAIN-SEARCH corp.example",
  "route 0.0.0.0 128.0.0.0",
  "route 128.0.0.0 128.0.0.0",
  "redirect-gateway def1",
  "route 10.99.0.0 255.255.0.0 net_gateway",
  "route 10.30.0.0 255.255.0.0",
  "route 10.20.0.0 255.255.0.0",
];

function startHostileServer(n: ClientNet, pki: E2ePki): LoggedProcess {
  return n.e.spawnLogged(n.srv, "openvpn", [
    OPENVPN!,
    ...["--dev", "tun", "--ca", pki.ca, "--cert", pki.cert, "--key", pki.key, "--dh", "none"],
    ...["--tls-crypt", pki.tlsCrypt, "--verb", "3", "--local", "10.77.0.1", "--proto", "udp"],
    ...["--server", "10.8.0.0", "255.255.255.0", "--topology", "subnet", "--keepalive", "1", "10"],
    ...HOSTILE_PUSH.flatMap((p) => ["--push", p]),
  ]);
}

Deno.test({
  name:
    "runClient() against a hostile openvpn server applies none of a newline domain, a /1 pair, redirect-gateway, a net_gateway route or a filtered route, and the tunnel works",
  ignore: e2eIgnore(),
  async fn() {
    await withClientLab(false, async (n, pki) => {
      const { e, cli } = n;
      const resolvConfPath = await namespaceResolvConf(cli, ORIGINAL_RESOLV);
      const before = await hostSnapshot(n);
      const server = startHostileServer(n, pki);
      await server.waitFor(/Initialization Sequence Completed/, 15_000);
      const client = await startClient(n, "client", clientYaml(pki, HOSTILE_CLIENT), {
        resolvConfPath,
        level: "debug",
      });
      try {
        await client.waitFor(/tunnel up/, 20_000);
        // The server really sent the hostile set, newline included.
        assert.match(client.log(), /removed by pull_filter option="route 10\.30\.0\.0 255\.255\.0\.0"/);
        const log = client.log();
        for (
          const warning of [
            /WARN .*Ignoring pushed option "dhcp-option DOMAIN \\"x\\nnameserver 203\.0\.113\.66\\"": it contains a control character/,
            /WARN .*Ignoring pushed redirect-gateway: pull\.redirect_gateway is false/,
            /WARN .*Ignoring pushed "route 0\.0\.0\.0 128\.0\.0\.0": it redirects all traffic/,
            /WARN .*Ignoring pushed "route 128\.0\.0\.0 128\.0\.0\.0": it redirects all traffic/,
            /WARN .*Ignoring pushed "route 10\.99\.0\.0 255\.255\.0\.0 net_gateway": routes around the tunnel/,
          ]
        ) assert.match(log, warning);
        assert.ok(
          log.split("\n").every((l) =>
            l === "" || /^\d{4}-\d\d-\d\dT/.test(l) || !l.includes("203.0.113.66")
          ),
          "no log line starts with pushed text",
        );

        // resolv.conf where processes in the namespace read it: the honest part only.
        const resolv = (await e.exec(cli, ["cat", "/etc/resolv.conf"])).stdout;
        assert.deepEqual(resolv.split("\n").filter((l) => l !== "" && !l.startsWith("#")), [
          "search corp.example",
          "nameserver 10.8.0.1",
          "options edns0",
        ]);

        // Routes: the honest route through the tunnel, nothing else the server asked for.
        const r4 = await routes(n);
        const dsts = r4.map((r) => r.dst);
        assert.ok(r4.some((r) => r.dst === "10.20.0.0/16" && r.dev === "tsvpn0"), JSON.stringify(r4));
        for (const refused of ["0.0.0.0/1", "128.0.0.0/1", "10.99.0.0/16", "10.30.0.0/16", "10.77.0.1"]) {
          assert.ok(!dsts.includes(refused), `${refused} in ${JSON.stringify(r4)}`);
        }
        assert.ok(r4.some((r) => r.dst === "default" && r.dev === "eth0" && r.gateway === "10.77.0.1"));
        const viaGet = await e.exec(cli, ["ip", "-j", "route", "get", "198.51.100.1"]);
        assert.equal(JSON.parse(viaGet.stdout)[0].dev, "eth0", "traffic to the internet stays outside");

        // The tunnel works.
        assert.equal(await e.pingUntil(cli, "10.8.0.1", 5000), true);
      } finally {
        assert.equal(await client.stop(10_000), 0, client.log());
        await server.stop();
      }
      assert.equal(await hostSnapshot(n), before);
      assert.equal(await Deno.readTextFile(resolvConfPath), ORIGINAL_RESOLV);
    });
  },
});
