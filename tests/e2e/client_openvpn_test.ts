/**
 * The tsvpn client against a stock `openvpn` 2.6 server, in the client lab
 * (tests/e2e/support/client_lab.ts: cli ── srv, and with the "internet" host
 * net behind srv, which routes only the tunnel network back). The client runs
 * as a Deno script inside "cli" (src/testing/client/launch.ts); the test
 * process stays in the root namespace and checks with ip -j, ping and the
 * files the client writes.
 */

import assert from "node:assert/strict";
import { e2eIgnore, type LoggedProcess } from "./support/lab.ts";
import { holds } from "../../src/testing/wait.ts";
import {
  clientYaml,
  hasRoute,
  hostSnapshot,
  namespaceResolvConf,
  routes,
  startClient,
  withClientLab,
} from "./support/client_lab.ts";
import { openvpnUp } from "./support/openvpn_server.ts";

const ignore = e2eIgnore();

const ENV_DUMP =
  '#!/bin/sh\nenv | grep -E "^(script_type|dev|ifconfig_|route_|trusted_|topology|dns_|redirect_)" | sort > "$0.$script_type.env"\n';

Deno.test({
  name:
    "runClient() applies openvpn's subnet push with redirect-gateway def1, IPv6, DNS and scripts, survives a server kill -9, and leaves the host as it found it",
  ignore,
  async fn() {
    await withClientLab(true, async (n, pki) => {
      const { e, cli, srv } = n;
      // Before the tunnel the "internet" host cannot answer (it has no route back to 10.77.0.0/24).
      assert.equal(await e.pingFails(cli, "10.78.0.2", 1), true);
      const resolvPath = await namespaceResolvConf(cli, "nameserver 192.0.2.53\noptions edns0\n");
      const script = `${e.dir}/updown.sh`;
      await Deno.writeTextFile(script, ENV_DUMP, { mode: 0o755 });
      const before = await hostSnapshot(n);
      const serverArgs = [
        "--server",
        "10.8.0.0",
        "255.255.255.0",
        "--topology",
        "subnet",
        "--server-ipv6",
        "fd00:8::/64",
        "--local",
        "10.77.0.1",
        "--proto",
        "udp",
        "--keepalive",
        "1",
        "4",
        "--push",
        "route 10.20.0.0 255.255.0.0",
        "--push",
        "redirect-gateway def1",
        "--push",
        "dhcp-option DNS 10.8.0.1",
        "--push",
        "dhcp-option DOMAIN vpn.example",
      ];
      let server = await openvpnUp(n, pki, "openvpn1", serverArgs);
      const client = await startClient(
        n,
        "client",
        clientYaml(pki, [
          "remotes: [{ host: 10.77.0.1, port: 1194 }]",
          "pull: { dns: resolv.conf }",
          `scripts: { up: ${script}, down: ${script} }`,
        ]),
        { resolvConfPath: resolvPath },
      );
      try {
        await client.waitFor(/tunnel up/, 20_000);
        // Addresses exactly as pushed.
        const addrs = await e.addresses(cli, "tsvpn0");
        assert.ok(addrs.some((a) => a.local === "10.8.0.2" && a.prefixlen === 24), JSON.stringify(addrs));
        assert.ok(addrs.some((a) => a.local === "fd00:8::1000" && a.prefixlen === 64), JSON.stringify(addrs));
        const r4 = await routes(n);
        assert.ok(hasRoute(r4, "0.0.0.0/1", "tsvpn0", "10.8.0.1"), JSON.stringify(r4));
        assert.ok(hasRoute(r4, "128.0.0.0/1", "tsvpn0", "10.8.0.1"));
        assert.ok(hasRoute(r4, "10.20.0.0/16", "tsvpn0", "10.8.0.1"));
        assert.ok(hasRoute(r4, "10.77.0.1", "eth0"), "host route to the server outside the tunnel");
        assert.ok(hasRoute(r4, "default", "eth0", "10.77.0.1"), "def1 leaves the default route alone");
        const r6 = await routes(n, true);
        assert.ok(hasRoute(r6, "::/1", "tsvpn0"), JSON.stringify(r6));
        assert.ok(hasRoute(r6, "8000::/1", "tsvpn0"));
        // Traffic both ways: the server's tunnel addresses, the internet through the tunnel, the server directly.
        assert.equal(await e.pingUntil(cli, "10.8.0.1", 5000), true);
        assert.equal(await e.pingUntil(cli, "fd00:8::1", 5000), true);
        assert.equal(await e.pingUntil(cli, "10.78.0.2", 5000), true);
        const get = await e.exec(cli, ["ip", "-j", "route", "get", "10.78.0.2"]);
        assert.equal(JSON.parse(get.stdout)[0].dev, "tsvpn0");
        assert.equal(await e.pingUntil(cli, "10.77.0.1", 3000), true);
        // DNS where processes in the namespace look.
        const resolv = await e.exec(cli, ["cat", "/etc/resolv.conf"]);
        assert.match(resolv.stdout, /^nameserver 10\.8\.0\.1$/m);
        assert.match(resolv.stdout, /^search vpn\.example$/m);
        assert.match(resolv.stdout, /^options edns0$/m);
        // The up script saw the documented environment.
        const upEnv = await Deno.readTextFile(`${script}.up.env`);
        for (
          const line of [
            "dev=tsvpn0",
            "ifconfig_local=10.8.0.2",
            "ifconfig_netmask=255.255.255.0",
            "ifconfig_ipv6_local=fd00:8::1000",
            "topology=subnet",
            "trusted_ip=10.77.0.1",
            "trusted_port=1194",
            "route_vpn_gateway=10.8.0.1",
            "dns_servers=10.8.0.1",
            "dns_domain=vpn.example",
            "redirect_gateway=def1",
            "route_network_1=0.0.0.0",
            "route_netmask_1=128.0.0.0",
          ]
        ) assert.ok(upEnv.split("\n").includes(line), `${line} missing from\n${upEnv}`);

        // The server dies hard and comes back: the client notices (ping-restart 4 s) and is back in 15 s.
        const t0 = Date.now();
        server.proc.kill("SIGKILL");
        await server.proc.status;
        server = await openvpnUp(n, pki, "openvpn2", serverArgs);
        await client.waitFor(/tunnel up again/, 15_000);
        assert.ok(Date.now() - t0 < 15_000);
        assert.ok((await e.addresses(cli, "tsvpn0")).some((a) => a.local === "10.8.0.2"));
        assert.equal(await e.pingUntil(cli, "10.8.0.1", 5000), true);
        assert.match(client.log(), /ping-restart/);
      } finally {
        assert.equal(await client.stop(10_000), 0, client.log());
        await server.stop();
      }
      assert.match(client.log(), /received SIGTERM/);
      // Everything undone: routes, addresses, the device, resolv.conf; the down script ran.
      assert.equal(await hostSnapshot(n), before);
      assert.equal(await Deno.readTextFile(resolvPath), "nameserver 192.0.2.53\noptions edns0\n");
      const downEnv = await Deno.readTextFile(`${script}.down.env`);
      assert.ok(downEnv.includes("script_type=down") && downEnv.includes("dev=tsvpn0"), downEnv);
      void srv;
    });
  },
});

async function exitCode(p: LoggedProcess, timeoutMs: number): Promise<number> {
  const timer = setTimeout(() => p.proc.kill("SIGKILL"), timeoutMs);
  const s = await p.proc.status;
  clearTimeout(timer);
  return s.code;
}

function serverArgs(topology: string, port: number, extra: string[] = []): string[] {
  return [
    "--server",
    "10.8.0.0",
    "255.255.255.0",
    "--topology",
    topology,
    "--local",
    "10.77.0.1",
    "--port",
    String(port),
    "--proto",
    "udp",
    "--keepalive",
    "1",
    "10",
    ...extra,
  ];
}

Deno.test({
  name:
    "runClient() gives net30 and p2p addresses as pushed, replaces and restores the default route, stops on a failing up script and on SIGINT, and backs off after AUTH_FAILED",
  ignore,
  async fn() {
    await withClientLab(false, async (n, pki) => {
      const { e, cli } = n;
      const before = await hostSnapshot(n);
      const failing = `${e.dir}/fail.sh`;
      await Deno.writeTextFile(failing, "#!/bin/sh\necho refusing >&2\nexit 3\n", { mode: 0o755 });
      const remote = (port: number) => `remotes: [{ host: 10.77.0.1, port: ${port} }]`;

      // net30.
      let server = await openvpnUp(
        n,
        pki,
        "net30",
        serverArgs("net30", 1194, ["--push", "route 10.20.0.0 255.255.0.0"]),
      );
      const bad = await startClient(
        n,
        "badup",
        clientYaml(pki, [remote(1194), `scripts: { up: ${failing} }`]),
      );
      assert.equal(await exitCode(bad, 20_000), 1);
      assert.match(bad.log(), /up script failed: .*fail\.sh exited with code 3/);
      assert.match(bad.log(), /tearing the tunnel down/);
      assert.equal(await hostSnapshot(n), before);

      let client = await startClient(n, "net30c", clientYaml(pki, [remote(1194)]));
      await client.waitFor(/tunnel up/, 20_000);
      const a30 = (await e.addresses(cli, "tsvpn0")).find((a) => a.family === "inet")!;
      const pushed = /ifconfig (10\.8\.0\.\d+) (10\.8\.0\.\d+)/.exec(server.log()) ??
        /ifconfig (10\.8\.0\.\d+) (10\.8\.0\.\d+)/.exec(client.log());
      assert.equal(a30.prefixlen, 32);
      assert.ok(a30.address && a30.address !== a30.local, JSON.stringify(a30));
      if (pushed) assert.deepEqual([a30.local, a30.address], [pushed[1], pushed[2]]);
      const r30 = await routes(n);
      assert.ok(hasRoute(r30, "10.20.0.0/16", "tsvpn0", a30.address), JSON.stringify(r30));
      assert.equal(await e.pingUntil(cli, "10.8.0.1", 5000), true);
      client.proc.kill("SIGINT");
      assert.equal(await exitCode(client, 10_000), 0, client.log());
      assert.match(client.log(), /received SIGINT/);
      assert.equal(await hostSnapshot(n), before);
      await server.stop();

      // p2p with a plain redirect-gateway: the default route goes through the tunnel and comes back after.
      server = await openvpnUp(n, pki, "p2p", serverArgs("p2p", 1194, ["--push", "redirect-gateway"]));
      client = await startClient(n, "p2pc", clientYaml(pki, [remote(1194)]));
      await client.waitFor(/tunnel up/, 20_000);
      const ap = (await e.addresses(cli, "tsvpn0")).find((a) => a.family === "inet")!;
      assert.equal(ap.prefixlen, 32);
      assert.ok(ap.address && ap.address !== ap.local, JSON.stringify(ap));
      const rp = await routes(n);
      assert.ok(hasRoute(rp, "default", "tsvpn0", ap.address), JSON.stringify(rp));
      assert.ok(!hasRoute(rp, "default", "eth0"), "the original default route is taken away");
      assert.ok(hasRoute(rp, "10.77.0.1", "eth0"), "the server stays reachable outside the tunnel");
      assert.equal(await e.pingUntil(cli, "10.8.0.1", 5000), true);
      assert.equal(await client.stop(10_000), 0, client.log());
      assert.equal(await hostSnapshot(n), before);
      await server.stop();

      // A server that refuses the client: a clear reason, and no tight retry loop.
      server = await openvpnUp(
        n,
        pki,
        "refuse",
        serverArgs("subnet", 1195, ["--script-security", "2", "--client-connect", "/bin/false"]),
      );
      client = await startClient(n, "refused", clientYaml(pki, [remote(1195)]));
      await client.waitFor(/AUTH_FAILED/, 20_000);
      await client.waitFor(/reconnecting to=\S+ in=/, 5000);
      // Proving an absence in a real process (no clock to inject): no tight retry loop for 3 s.
      await holds(() => (client.log().match(/ connecting /g)?.length ?? 0) <= 1, 3000, "no re-dial", 100);
      const log = client.log();
      assert.equal(log.match(/ connecting /g)?.length, 1, log);
      assert.match(
        log,
        /refused our certificate \(AUTH_FAILED\).*reconnecting to=10\.77\.0\.1:1195 in=(\d+)/,
      );
      assert.ok(Number(/reconnecting to=\S+ in=(\d+)/.exec(log)![1]) >= 30);
      assert.equal(await client.stop(10_000), 0, log);
      await server.stop();
      assert.equal(await hostSnapshot(n), before);
    });
  },
});

Deno.test({
  name:
    "runClient() fails over past a silent and a refusing remote, re-dials a server that announces its restart, runs over TCP, and after kill -9 leaves only what docs/client.md lists",
  ignore,
  async fn() {
    await withClientLab(false, async (n, pki) => {
      const { e, cli } = n;
      const before = await hostSnapshot(n);
      const udpArgs = serverArgs("subnet", 1194, ["--explicit-exit-notify", "1"]);
      let server = await openvpnUp(n, pki, "udp1", udpArgs);
      const t0 = Date.now();
      let client = await startClient(
        n,
        "failover",
        clientYaml(pki, [
          "remotes:",
          "  - { host: 10.77.0.1, port: 1195, proto: udp }",
          "  - { host: 10.77.0.1, port: 1196, proto: tcp }",
          "  - { host: 10.77.0.1, port: 1194, proto: udp }",
        ]),
      );
      await client.waitFor(/tunnel up remote=10\.77\.0\.1:1194/, 20_000);
      assert.ok(Date.now() - t0 < 15_000);
      assert.match(client.log(), /No answer from 10\.77\.0\.1:1195 within 3 s/);
      assert.match(client.log(), /Connection to 10\.77\.0\.1:1196 refused/);
      assert.equal(await e.pingUntil(cli, "10.8.0.1", 5000), true);

      // A graceful server shutdown sends RESTART: the client re-dials the same remote at once.
      await server.stop();
      server = await openvpnUp(n, pki, "udp2", udpArgs);
      await client.waitFor(/tunnel up again/, 15_000);
      assert.match(client.log(), /the server sent RESTART.*reconnecting now/);
      assert.equal(await e.pingUntil(cli, "10.8.0.1", 5000), true);
      assert.equal(await client.stop(10_000), 0, client.log());
      await server.stop();
      assert.equal(await hostSnapshot(n), before);

      // proto tcp, then kill -9.
      const resolvPath = await namespaceResolvConf(cli, "nameserver 192.0.2.53\n");
      server = await openvpnUp(n, pki, "tcp", [
        ...serverArgs("subnet", 1197).filter((a) => a !== "udp" && a !== "--proto"),
        "--proto",
        "tcp-server",
        "--push",
        "redirect-gateway def1",
        "--push",
        "dhcp-option DNS 10.8.0.1",
      ]);
      const tcpYaml = clientYaml(pki, [
        "remotes: [{ host: 10.77.0.1, port: 1197, proto: tcp }]",
        "pull: { dns: resolv.conf }",
      ]);
      client = await startClient(n, "tcp", tcpYaml, { resolvConfPath: resolvPath });
      await client.waitFor(/tunnel up/, 20_000);
      assert.equal(await e.pingUntil(cli, "10.8.0.1", 5000), true);
      assert.ok(hasRoute(await routes(n), "0.0.0.0/1", "tsvpn0", "10.8.0.1"));
      client.proc.kill("SIGKILL");
      await client.proc.status;
      // The kernel removed the device and every route through it; the host route to the server and
      // resolv.conf stay until the next start (documented in docs/client.md).
      assert.equal((await e.exec(cli, ["ip", "link", "show", "tsvpn0"], false)).code !== 0, true);
      const left = await routes(n);
      assert.ok(!left.some((r) => r.dev === "tsvpn0"));
      assert.ok(hasRoute(left, "10.77.0.1", "eth0"), JSON.stringify(left));
      assert.match(await Deno.readTextFile(resolvPath), /nameserver 10\.8\.0\.1/);
      // The next start puts resolv.conf back first, and a clean stop restores the snapshot except that route.
      client = await startClient(n, "tcp2", tcpYaml, { resolvConfPath: resolvPath });
      await client.waitFor(/tunnel up/, 20_000);
      assert.match(client.log(), /restored resolv\.conf left behind by an earlier run/);
      assert.equal(await client.stop(10_000), 0, client.log());
      assert.equal(await Deno.readTextFile(resolvPath), "nameserver 192.0.2.53\n");
      await server.stop();
      await e.exec(cli, ["ip", "route", "del", "10.77.0.1/32", "dev", "eth0"], false);
      assert.equal(await hostSnapshot(n), before);
    });
  },
});
