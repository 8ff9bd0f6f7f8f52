/**
 * The tsvpn client against a stock `openvpn` 2.6 server, in namespaces:
 *
 *   +------- cli -------+          +----------- srv -----------+          +------- net -------+
 *   | tsvpn client      |          | openvpn --server 10.8.0.0 |          | "internet"        |
 *   | eth0 10.77.0.2/24 |==========| eth0 10.77.0.1/24         |          |                   |
 *   | default via .1    |          | eth1 10.78.0.1/24 ========|==========| eth0 10.78.0.2/24 |
 *   +-------------------+          | ip_forward on             |          | 10.8.0.0/24 via   |
 *                                  +---------------------------+          |   10.78.0.1 only  |
 *                                                                         +-------------------+
 *
 * "net" routes only the tunnel network back, so the client reaches it only
 * through the tunnel. The client runs as a Deno script inside "cli"
 * (src/client/testing_launch.ts); the test process stays in the root
 * namespace and checks with ip -j, ping and the files the client writes.
 */

import assert from "node:assert/strict";
import { e2eIgnore, E2eLab, type LoggedProcess, ROOT } from "./support/lab.ts";
import { createE2ePki, type E2ePki } from "./support/pki.ts";
import { OPENVPN } from "../interop/openvpn_harness.ts";

const LAUNCH = `${ROOT}src/client/testing_launch.ts`;
const ignore = e2eIgnore();

interface Net {
  e: E2eLab;
  srv: string;
  cli: string;
  net: string | null;
}

async function topology(e: E2eLab, internet: boolean): Promise<Net> {
  const lab = e.lab;
  const srv = await lab.addNamespace("srv");
  const cli = await lab.addNamespace("cli");
  // No duplicate address detection: a link-local address leaving "tentative" would change the snapshots.
  for (const k of ["all", "default"]) {
    await e.exec(cli, ["sysctl", "-q", "-w", `net.ipv6.conf.${k}.accept_dad=0`]);
  }
  await lab.veth({ ns: srv, name: "eth0", address: "10.77.0.1/24" }, {
    ns: cli,
    name: "eth0",
    address: "10.77.0.2/24",
  });
  await e.exec(cli, ["ip", "route", "add", "default", "via", "10.77.0.1"]);
  let net: string | null = null;
  if (internet) {
    net = await lab.addNamespace("net");
    await lab.veth({ ns: srv, name: "eth1", address: "10.78.0.1/24" }, {
      ns: net,
      name: "eth0",
      address: "10.78.0.2/24",
    });
    await e.exec(net, ["ip", "route", "add", "10.8.0.0/24", "via", "10.78.0.1"]);
    await e.exec(srv, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
  }
  return { e, srv, cli, net };
}

function startOpenvpn(
  n: Net,
  pki: E2ePki,
  name: string,
  extra: string[],
): LoggedProcess {
  return n.e.spawnLogged(n.srv, name, [
    OPENVPN!,
    "--dev",
    "tun",
    "--ca",
    pki.ca,
    "--cert",
    pki.cert,
    "--key",
    pki.key,
    "--dh",
    "none",
    "--tls-crypt",
    pki.tlsCrypt,
    "--verb",
    "3",
    ...extra,
  ]);
}

async function openvpnUp(n: Net, pki: E2ePki, name: string, extra: string[]): Promise<LoggedProcess> {
  const p = startOpenvpn(n, pki, name, extra);
  await p.waitFor(/Initialization Sequence Completed/, 15_000);
  return p;
}

function clientYaml(pki: E2ePki, body: string[]): string {
  return [
    "mode: client",
    "pki:",
    `  ca: ${pki.ca}`,
    `  cert: ${pki.caDir}/alice.crt`,
    `  key: ${pki.caDir}/alice.key`,
    `  tls_crypt: ${pki.tlsCrypt}`,
    "server_name: server",
    "dev: { type: tun, name: tsvpn0 }",
    "reconnect: { initial_delay: 1, max_delay: 2 }",
    ...body,
    "",
  ].join("\n");
}

async function startClient(
  n: Net,
  name: string,
  yaml: string,
  options: Record<string, unknown> = {},
): Promise<LoggedProcess> {
  const path = `${n.e.dir}/${name}.yaml`;
  await Deno.writeTextFile(path, yaml);
  return n.e.spawnLogged(n.cli, name, [
    Deno.execPath(),
    "run",
    "-A",
    "--unstable-net",
    LAUNCH,
    path,
    JSON.stringify({ firstResponseTimeoutMs: 3000, handshakeTimeoutMs: 10_000, ...options }),
  ]);
}

/** What must be identical before the client starts and after it exits. */
async function snapshot(n: Net): Promise<string> {
  const r4 = await n.e.exec(n.cli, ["ip", "-j", "route", "show", "table", "all"]);
  const r6 = await n.e.exec(n.cli, ["ip", "-j", "-6", "route", "show", "table", "main"]);
  const a = await n.e.exec(n.cli, ["ip", "-j", "addr"]);
  return JSON.stringify(
    { r4: JSON.parse(r4.stdout), r6: JSON.parse(r6.stdout), a: JSON.parse(a.stdout) },
    null,
    1,
  );
}

interface JRoute {
  dst: string;
  gateway?: string;
  dev: string;
}

async function routes(n: Net, v6 = false): Promise<JRoute[]> {
  const r = await n.e.exec(n.cli, ["ip", "-j", ...(v6 ? ["-6"] : []), "route", "show"]);
  return JSON.parse(r.stdout) as JRoute[];
}

function hasRoute(rs: JRoute[], dst: string, dev: string, gateway?: string): boolean {
  return rs.some((r) => r.dst === dst && r.dev === dev && (gateway === undefined || r.gateway === gateway));
}

async function withLab(internet: boolean, fn: (n: Net, pki: E2ePki) => Promise<void>): Promise<void> {
  const pki = await createE2ePki(["alice"]);
  const e = new E2eLab(pki.dir);
  try {
    const n = await topology(e, internet);
    await fn(n, pki);
  } finally {
    await e.close();
    await Deno.remove(`/etc/netns/${e.lab.id}`, { recursive: true }).catch(() => {});
    for (const ns of e.lab.namespaces) {
      await Deno.remove(`/etc/netns/${ns}`, { recursive: true }).catch(() => {});
    }
    await pki.cleanup();
  }
}

const ENV_DUMP =
  '#!/bin/sh\nenv | grep -E "^(script_type|dev|ifconfig_|route_|trusted_|topology|dns_|redirect_)" | sort > "$0.$script_type.env"\n';

Deno.test({
  name:
    "runClient() applies openvpn's subnet push with redirect-gateway def1, IPv6, DNS and scripts, survives a server kill -9, and leaves the host as it found it",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withLab(true, async (n, pki) => {
      const { e, cli, srv } = n;
      // Before the tunnel the "internet" host cannot answer (it has no route back to 10.77.0.0/24).
      assert.equal(await e.pingFails(cli, "10.78.0.2", 1), true);
      const nsDir = `/etc/netns/${cli}`;
      await Deno.mkdir(nsDir, { recursive: true });
      await Deno.writeTextFile(`${nsDir}/resolv.conf`, "nameserver 192.0.2.53\noptions edns0\n");
      const script = `${e.dir}/updown.sh`;
      await Deno.writeTextFile(script, ENV_DUMP, { mode: 0o755 });
      const before = await snapshot(n);
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
        { resolvConfPath: `${nsDir}/resolv.conf` },
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
      assert.equal(await snapshot(n), before);
      assert.equal(await Deno.readTextFile(`${nsDir}/resolv.conf`), "nameserver 192.0.2.53\noptions edns0\n");
      const downEnv = await Deno.readTextFile(`${script}.down.env`);
      assert.ok(downEnv.includes("script_type=down") && downEnv.includes("dev=tsvpn0"), downEnv);
      void srv;
    });
  },
});
