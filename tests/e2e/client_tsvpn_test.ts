/**
 * The tsvpn client against the tsvpn server (`runServer`, started through
 * tests/e2e/support/launch_server.ts), in namespaces:
 *
 *   +------- cli -------+          +----------- srv -----------+          +------- net -------+
 *   | tsvpn client      |          | tsvpn server 10.8.0.0/24  |          | "internet"        |
 *   | eth0 10.77.0.2/24 |==========| eth0 10.77.0.1/24         |          |                   |
 *   | default via .1    |          | eth1 10.78.0.1/24 ========|==========| eth0 10.78.0.2/24 |
 *   +-------------------+          | ip_forward on             |          | 10.8.0.0/24 via   |
 *                                  +---------------------------+          |   10.78.0.1 only  |
 *                                                                         +-------------------+
 */

import assert from "node:assert/strict";
import { e2eIgnore, E2eLab, ROOT, serverYaml } from "./support/lab.ts";
import { createE2ePki } from "./support/pki.ts";

const LAUNCH = `${ROOT}src/client/testing_launch.ts`;

Deno.test({
  name:
    "runClient() against runServer: pushed subnet, routes, def1 and DNS applied, the internet reached through the tunnel, re-dial after a server restart, host restored",
  ignore: e2eIgnore(),
  async fn() {
    const pki = await createE2ePki(["alice"]);
    const e = new E2eLab(pki.dir);
    let nsDir = "";
    try {
      const lab = e.lab;
      const srv = await lab.addNamespace("srv");
      const cli = await lab.addNamespace("cli");
      const net = await lab.addNamespace("net");
      for (const k of ["all", "default"]) {
        await e.exec(cli, ["sysctl", "-q", "-w", `net.ipv6.conf.${k}.accept_dad=0`]);
      }
      await lab.veth({ ns: srv, name: "eth0", address: "10.77.0.1/24" }, {
        ns: cli,
        name: "eth0",
        address: "10.77.0.2/24",
      });
      await lab.veth({ ns: srv, name: "eth1", address: "10.78.0.1/24" }, {
        ns: net,
        name: "eth0",
        address: "10.78.0.2/24",
      });
      await e.exec(cli, ["ip", "route", "add", "default", "via", "10.77.0.1"]);
      await e.exec(net, ["ip", "route", "add", "10.8.0.0/24", "via", "10.78.0.1"]);
      await e.exec(srv, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
      await e.linkLocalReady(cli);
      nsDir = `/etc/netns/${cli}`;
      await Deno.mkdir(nsDir, { recursive: true });
      await Deno.writeTextFile(`${nsDir}/resolv.conf`, "nameserver 192.0.2.53\n");
      const snapshot = async () => {
        const r = await e.exec(cli, ["ip", "-j", "route", "show", "table", "all"]);
        const a = await e.exec(cli, ["ip", "-j", "addr"]);
        return r.stdout + a.stdout;
      };
      const before = await snapshot();
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
      const clientYaml = [
        "mode: client",
        "remotes: [{ host: 10.77.0.1, port: 1194 }]",
        "pki:",
        `  ca: ${pki.ca}`,
        `  cert: ${pki.caDir}/alice.crt`,
        `  key: ${pki.caDir}/alice.key`,
        `  tls_crypt: ${pki.tlsCrypt}`,
        "server_name: server",
        "dev: { type: tun, name: tsvpn0 }",
        "pull: { dns: resolv.conf }",
        "reconnect: { initial_delay: 1, max_delay: 2 }",
        "",
      ].join("\n");
      await Deno.writeTextFile(`${e.dir}/client.yaml`, clientYaml);
      const client = e.spawnLogged(cli, "client", [
        Deno.execPath(),
        "run",
        "-A",
        "--unstable-net",
        LAUNCH,
        `${e.dir}/client.yaml`,
        JSON.stringify({ resolvConfPath: `${nsDir}/resolv.conf`, firstResponseTimeoutMs: 3000 }),
      ]);
      try {
        await client.waitFor(/tunnel up/, 20_000);
        const addrs = await e.addresses(cli, "tsvpn0");
        assert.ok(addrs.some((a) => a.local === "10.8.0.2" && a.prefixlen === 24), JSON.stringify(addrs));
        const routes = JSON.parse((await e.exec(cli, ["ip", "-j", "route"])).stdout) as {
          dst: string;
          gateway?: string;
          dev: string;
        }[];
        for (
          const [dst, dev] of [["0.0.0.0/1", "tsvpn0"], ["128.0.0.0/1", "tsvpn0"], ["10.20.0.0/16", "tsvpn0"]]
        ) {
          assert.ok(routes.some((r) => r.dst === dst && r.dev === dev && r.gateway === "10.8.0.1"), dst);
        }
        assert.ok(routes.some((r) => r.dst === "10.77.0.1" && r.dev === "eth0"));
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
      assert.equal(await snapshot(), before);
      assert.equal(await Deno.readTextFile(`${nsDir}/resolv.conf`), "nameserver 192.0.2.53\n");
    } finally {
      await e.close();
      if (nsDir) await Deno.remove(nsDir, { recursive: true }).catch(() => {});
      await pki.cleanup();
    }
  },
});
