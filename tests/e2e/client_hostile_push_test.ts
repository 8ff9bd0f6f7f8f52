/**
 * The tsvpn client against a hostile stock `openvpn` 2.6 server, in namespaces:
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
import { e2eIgnore, E2eLab, type LoggedProcess, ROOT } from "./support/lab.ts";
import { createE2ePki, type E2ePki } from "./support/pki.ts";
import { OPENVPN } from "../interop/openvpn_harness.ts";

const LAUNCH = `${ROOT}src/client/testing_launch.ts`;
const ORIGINAL_RESOLV = "nameserver 192.0.2.53\noptions edns0\n";

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

interface JRoute {
  dst: string;
  gateway?: string;
  dev: string;
}

async function twoHosts(e: E2eLab): Promise<{ srv: string; cli: string }> {
  const srv = await e.lab.addNamespace("srv");
  const cli = await e.lab.addNamespace("cli");
  await e.lab.veth({ ns: srv, name: "eth0", address: "10.77.0.1/24" }, {
    ns: cli,
    name: "eth0",
    address: "10.77.0.2/24",
  });
  await e.exec(cli, ["ip", "route", "add", "default", "via", "10.77.0.1"]);
  return { srv, cli };
}

function startHostileServer(e: E2eLab, ns: string, pki: E2ePki): LoggedProcess {
  return e.spawnLogged(ns, "openvpn", [
    OPENVPN!,
    ...["--dev", "tun", "--ca", pki.ca, "--cert", pki.cert, "--key", pki.key, "--dh", "none"],
    ...["--tls-crypt", pki.tlsCrypt, "--verb", "3", "--local", "10.77.0.1", "--proto", "udp"],
    ...["--server", "10.8.0.0", "255.255.255.0", "--topology", "subnet", "--keepalive", "1", "10"],
    ...HOSTILE_PUSH.flatMap((p) => ["--push", p]),
  ]);
}

function clientYaml(pki: E2ePki): string {
  return [
    "mode: client",
    "remotes: [{ host: 10.77.0.1, port: 1194 }]",
    "pki:",
    `  ca: ${pki.ca}`,
    `  cert: ${pki.caDir}/alice.crt`,
    `  key: ${pki.caDir}/alice.key`,
    `  tls_crypt: ${pki.tlsCrypt}`,
    "server_name: server",
    "dev: { type: tun, name: tsvpn0 }",
    "pull:",
    "  redirect_gateway: false",
    "  dns: resolv.conf",
    "  filter:",
    '    - ignore: "route 10.30."',
    "",
  ].join("\n");
}

async function routes(e: E2eLab, ns: string): Promise<JRoute[]> {
  return JSON.parse((await e.exec(ns, ["ip", "-j", "route", "show"])).stdout) as JRoute[];
}

async function snapshot(e: E2eLab, ns: string): Promise<string> {
  const r = await e.exec(ns, ["ip", "-j", "-4", "route", "show", "table", "all"]);
  const a = await e.exec(ns, ["ip", "-j", "-4", "addr"]);
  return JSON.stringify({ r: JSON.parse(r.stdout), a: JSON.parse(a.stdout) });
}

Deno.test({
  name:
    "runClient() against a hostile openvpn server applies none of a newline domain, a /1 pair, redirect-gateway, a net_gateway route or a filtered route, and the tunnel works",
  ignore: e2eIgnore(),
  async fn() {
    const pki = await createE2ePki(["alice"]);
    const e = new E2eLab(pki.dir);
    let nsDir: string | null = null;
    try {
      const { srv, cli } = await twoHosts(e);
      nsDir = `/etc/netns/${cli}`;
      await Deno.mkdir(nsDir, { recursive: true });
      await Deno.writeTextFile(`${nsDir}/resolv.conf`, ORIGINAL_RESOLV);
      const before = await snapshot(e, cli);
      const server = startHostileServer(e, srv, pki);
      await server.waitFor(/Initialization Sequence Completed/, 15_000);
      const yamlPath = `${e.dir}/client.yaml`;
      await Deno.writeTextFile(yamlPath, clientYaml(pki));
      const client = e.spawnLogged(cli, "client", [
        ...[Deno.execPath(), "run", "-A", "--unstable-net", LAUNCH, yamlPath],
        JSON.stringify({ resolvConfPath: `${nsDir}/resolv.conf`, level: "debug" }),
      ]);
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
        const r4 = await routes(e, cli);
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
      assert.equal(await snapshot(e, cli), before);
      assert.equal(await Deno.readTextFile(`${nsDir}/resolv.conf`), ORIGINAL_RESOLV);
    } finally {
      await e.close();
      if (nsDir) await Deno.remove(nsDir, { recursive: true }).catch(() => {});
      await pki.cleanup();
    }
  },
});
