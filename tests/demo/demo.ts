/**
 * The end-to-end demonstration (`deno task demo`): tsvpn's main job shown with
 * real processes in throwaway network namespaces. Run as root on Linux with
 * iproute2, iputils-ping and nftables installed:
 *
 *     deno run -A --unstable-net tests/demo/demo.ts
 *
 *   +--------------- srv ----------------+            +---------- sw ----------+
 *   | eth0 172.30.0.1/24 (ip_forward 0)  |============| br0                    |
 *   | tsvpn server  udp/1194 tsvpn0      |            |                        |==== alice eth0 172.30.0.11
 *   |   10.8.0.0/24 client_to_client     |            |                        |==== bob   eth0 172.30.0.12
 *   |   management 127.0.0.1:7505        |            |                        |==== carol eth0 172.30.0.13
 *   | tsvpn server  udp/1195 tsvpn1      |            |                        |==== home  eth0 172.30.0.254
 *   |   10.9.0.0/24 push def1            |            +------------------------+     | NAT (nftables)
 *   | eth1 10.78.0.1/24 NAT (nftables) ==|=== inet eth0 10.78.0.2/24 ("internet")      | eth1 192.168.1.1
 *   +------------------------------------+                                       dave eth0 192.168.1.2
 *                                                                                  default via 192.168.1.1
 *
 * Part 1 (the server): alice (a .ovpn profile), bob and carol (YAML configs,
 * all from `tsvpn pki bundle`) connect to the first server; each gets an
 * address, pings the server and the next client. The server namespace has
 * ip_forward off, so client-to-client traffic can only cross tsvpn's own
 * router; `tsvpn status` run in the server namespace lists all three.
 * Part 2 (the client): dave, behind a NAT home router, uses
 * `pull.redirect_gateway: true` with the second server, which pushes
 * `redirect_gateway: [def1]`: 0.0.0.0/1 and 128.0.0.0/1 go through the
 * tunnel, a host route keeps the server reachable through the old gateway,
 * the "internet" namespace (reachable only through the server) answers, and
 * once dave's client stops its route table equals the snapshot from before.
 *
 * Everything (processes, namespaces, the temp directory on success) is torn
 * down on every exit path, SIGINT and SIGTERM included. Exit code: 0 every
 * check passed, 1 a check failed, 2 cannot run here, 130 interrupted.
 */

import { type LabProcess, NetnsLab, requireRoot } from "../harness/netns.ts";
import { CheckList, formatRows } from "./check_list.ts";
import { settledWithin, until } from "../../src/testing/wait.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const MAIN = `${ROOT}main.ts`;
const DENO = Deno.execPath();
const PREFIX = "tsvdemo-";
/** The whole run is aborted (and torn down) after this long. */
const WATCHDOG_MS = 90_000;

const SERVER_IP = "172.30.0.1";
const MGMT = "127.0.0.1:7505";
const CLIENTS = [
  { name: "alice", ip: "172.30.0.11", format: "ovpn" },
  { name: "bob", ip: "172.30.0.12", format: "yaml" },
  { name: "carol", ip: "172.30.0.13", format: "yaml" },
] as const;
const INTERNET = "10.78.0.2";

const decoder = new TextDecoder();
const started = Date.now();
const checks = new CheckList();

function elapsed(): string {
  return `${((Date.now() - started) / 1000).toFixed(1)}s`;
}

function step(text: string): void {
  console.log(`[${elapsed().padStart(5)}] ${text}`);
}

/** A tsvpn process whose stdout and stderr go to a log file. */
class Logged {
  readonly proc: LabProcess;
  readonly path: string;

  constructor(proc: LabProcess, path: string) {
    this.proc = proc;
    this.path = path;
  }

  log(): string {
    try {
      return Deno.readTextFileSync(this.path);
    } catch {
      return "";
    }
  }

  /** Polls the log for `re`; null after `timeoutMs` or when the process exits. */
  waitFor(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray | null> {
    const probe = () => {
      const m = this.log().match(re);
      if (!m && !this.proc.running) throw new Error(`${this.path}: the process exited`);
      return m;
    };
    return until(probe, { what: `${this.path} to match ${re}`, timeoutMs, intervalMs: 50 }).catch(() => null);
  }

  tail(lines = 4): string {
    return this.log().trim().split("\n").slice(-lines).join(" | ");
  }
}

class Demo {
  readonly lab = new NetnsLab({ prefix: PREFIX });
  dir = "";
  ns: Record<string, string> = {};
  #teardown: Promise<string[]> | null = null;

  exec(ns: string, argv: string[], options: { check?: boolean; stdin?: string; timeoutMs?: number } = {}) {
    return this.lab.exec(ns, argv, {
      check: options.check ?? true,
      timeoutMs: options.timeoutMs ?? 15_000,
      stdin: options.stdin,
    });
  }

  spawnLogged(ns: string, name: string, args: string[]): Logged {
    const path = `${this.dir}/${name}.log`;
    const argv = [DENO, "run", "-A", "--unstable-net", MAIN, ...args];
    const quoted = argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
    return new Logged(this.lab.spawn(ns, ["sh", "-c", `exec ${quoted} >'${path}' 2>&1`]), path);
  }

  /** Runs `tsvpn ARGS` (main.ts) in the test process's namespace; only for file work (the PKI). */
  async tsvpn(args: string[]): Promise<string> {
    const out = await new Deno.Command(DENO, {
      args: ["run", "-A", MAIN, ...args],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    if (out.code !== 0) {
      throw new Error(`tsvpn ${args.slice(0, 2).join(" ")} failed: ${decoder.decode(out.stderr).trim()}`);
    }
    return decoder.decode(out.stdout);
  }

  /** Stops every process and deletes every namespace (once); returns what is left over. */
  teardown(): Promise<string[]> {
    return this.#teardown ??= (async () => {
      await this.lab.close();
      // A namespace whose `ip netns add` was in flight when a signal came is not in the lab's list yet.
      const mine = `${PREFIX}${this.lab.id}-`;
      const leftover = async () =>
        decoder.decode(
          (await new Deno.Command("ip", { args: ["netns", "list"], stdout: "piped" }).output()).stdout,
        )
          .split("\n").map((l) => l.split(" ")[0]).filter((n) => n.startsWith(mine));
      for (const ns of await leftover()) {
        await new Deno.Command("ip", { args: ["netns", "del", ns], stderr: "null" }).output();
      }
      return await leftover();
    })();
  }
}

// -- Network -----------------------------------------------------------------

async function buildNetwork(d: Demo): Promise<void> {
  const { lab } = d;
  const sw = await lab.addNamespace("sw");
  await d.exec(sw, ["ip", "link", "add", "br0", "type", "bridge"]);
  await d.exec(sw, ["ip", "link", "set", "br0", "up"]);
  let port = 0;
  const onSwitch = async (label: string, address: string) => {
    const ns = await lab.addNamespace(label);
    const p = `p${++port}`;
    await lab.veth({ ns, name: "eth0", address }, { ns: sw, name: p });
    await d.exec(sw, ["ip", "link", "set", p, "master", "br0"]);
    d.ns[label] = ns;
    return ns;
  };
  const srv = await onSwitch("srv", `${SERVER_IP}/24`);
  await d.exec(srv, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=0"]);
  for (const c of CLIENTS) await onSwitch(c.name, `${c.ip}/24`);

  // The "internet": one host behind the server, with no route anywhere else.
  const inet = await lab.addNamespace("inet");
  d.ns.inet = inet;
  await lab.veth({ ns: srv, name: "eth1", address: "10.78.0.1/24" }, {
    ns: inet,
    name: "eth0",
    address: `${INTERNET}/24`,
  });
  // Only traffic from the gateway server's tunnel may cross the server towards the internet, NATed.
  await d.exec(srv, ["nft", "-f", "-"], {
    stdin: `table ip tsvpn_demo {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "tsvpn1" oifname "eth1" accept
  }
  chain postrouting {
    type nat hook postrouting priority srcnat;
    ip saddr 10.9.0.0/24 oifname "eth1" counter masquerade
  }
}
`,
  });

  // dave sits behind a NAT home router; IPv6 off so the route snapshot is about what tsvpn changes.
  const home = await onSwitch("home", "172.30.0.254/24");
  const dave = await lab.addNamespace("dave");
  d.ns.dave = dave;
  for (const k of ["all", "default"]) {
    await d.exec(dave, ["sysctl", "-q", "-w", `net.ipv6.conf.${k}.disable_ipv6=1`]);
  }
  await lab.veth({ ns: home, name: "eth1", address: "192.168.1.1/24" }, {
    ns: dave,
    name: "eth0",
    address: "192.168.1.2/24",
  });
  await d.exec(dave, ["ip", "route", "add", "default", "via", "192.168.1.1"]);
  await d.exec(home, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
  await d.exec(home, ["nft", "-f", "-"], {
    stdin: `table ip home_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat;
    ip saddr 192.168.1.0/24 oifname "eth0" masquerade
  }
}
`,
  });
}

// -- PKI and configs -----------------------------------------------------------

async function makePki(d: Demo): Promise<Record<string, string>> {
  const ca = `${d.dir}/pki`;
  await d.tsvpn(["pki", "init", "--dir", ca, "--cn", "tsvpn demo CA"]);
  await d.tsvpn(["pki", "tls-crypt-key", `${ca}/tc.key`]);
  // One at a time: issuing rewrites the CA's index.
  await d.tsvpn(["pki", "issue", "--dir", ca, "--server", "server", "--san", SERVER_IP]);
  for (const name of [...CLIENTS.map((c) => c.name), "dave"]) {
    await d.tsvpn(["pki", "issue", "--dir", ca, "--client", name]);
  }
  const configs: Record<string, string> = {};
  await Promise.all([
    ...CLIENTS.map(async (c) => {
      const path = `${d.dir}/${c.name}.${c.format}`;
      await d.tsvpn([
        "pki",
        "bundle",
        "--dir",
        ca,
        c.name,
        "--remote",
        `${SERVER_IP}:1194`,
        "--format",
        c.format,
        "--out",
        path,
      ]);
      configs[c.name] = path;
    }),
    (async () => {
      const path = `${d.dir}/dave.yaml`;
      const text = await d.tsvpn(["pki", "bundle", "--dir", ca, "dave", "--remote", `${SERVER_IP}:1195`]);
      await Deno.writeTextFile(path, text + "pull: { redirect_gateway: true }\n", { mode: 0o600 });
      configs.dave = path;
    })(),
  ]);

  const pki = (lines: string[]) => [
    "pki:",
    `  ca: ${ca}/ca.crt`,
    `  cert: ${ca}/server.crt`,
    `  key: ${ca}/server.key`,
    `  crl: ${ca}/crl.pem`,
    `  tls_crypt: ${ca}/tc.key`,
    ...lines,
  ];
  configs.server = `${d.dir}/server.yaml`;
  await Deno.writeTextFile(
    configs.server,
    [
      "mode: server",
      "listen: { host: 0.0.0.0, port: 1194, proto: udp }",
      "dev: { type: tun, name: tsvpn0 }",
      ...pki([]),
      "keepalive: { interval: 2, timeout: 10 }",
      `management: { listen: "${MGMT}" }`,
      "server:",
      "  network: 10.8.0.0/24",
      "  topology: subnet",
      "  client_to_client: true",
      "",
    ].join("\n"),
  );
  configs.gateway = `${d.dir}/gateway.yaml`;
  await Deno.writeTextFile(
    configs.gateway,
    [
      "mode: server",
      "listen: { host: 0.0.0.0, port: 1195, proto: udp }",
      "dev: { type: tun, name: tsvpn1 }",
      ...pki([]),
      "keepalive: { interval: 2, timeout: 10 }",
      "server:",
      "  network: 10.9.0.0/24",
      "  topology: subnet",
      "  push:",
      "    redirect_gateway: [def1]",
      "",
    ].join("\n"),
  );
  return configs;
}

// -- Probes ----------------------------------------------------------------------

interface PingResult {
  ok: boolean;
  detail: string;
}

/** Pings until one reply (each try waits 1 s), for at most `timeoutMs`. */
function pingUntil(d: Demo, ns: string, target: string, timeoutMs = 8000): Promise<PingResult> {
  let tries = 0;
  const reply = async () => {
    tries++;
    const r = await d.exec(ns, ["ping", "-n", "-c", "1", "-W", "1", target], { check: false });
    return r.code === 0 &&
      { ok: true, detail: `reply in ${r.stdout.match(/time=([\d.]+) ms/)?.[1] ?? "?"} ms` };
  };
  return until(reply, { what: `a reply from ${target}`, timeoutMs, intervalMs: 200 })
    .catch(() => ({ ok: false, detail: `no reply in ${tries} tries (${timeoutMs / 1000} s)` }));
}

/** True when two pings (1 s wait each) get no reply. */
async function pingFails(d: Demo, ns: string, target: string): Promise<boolean> {
  const r = await d.exec(ns, ["ping", "-n", "-c", "2", "-i", "0.3", "-W", "1", target], { check: false });
  return r.code !== 0;
}

async function tunnelAddress(d: Demo, ns: string, dev: string): Promise<string | null> {
  const r = await d.exec(ns, ["ip", "-j", "addr", "show", "dev", dev], { check: false });
  if (r.code !== 0) return null;
  const links = JSON.parse(r.stdout) as {
    addr_info: { family: string; local: string; prefixlen: number }[];
  }[];
  const a = links.flatMap((l) => l.addr_info).find((i) => i.family === "inet");
  return a ? `${a.local}/${a.prefixlen}` : null;
}

interface Route {
  dst: string;
  gateway?: string;
  dev?: string;
}

async function routes(d: Demo, ns: string): Promise<Route[]> {
  return JSON.parse((await d.exec(ns, ["ip", "-j", "route"])).stdout) as Route[];
}

async function routeSnapshot(d: Demo, ns: string): Promise<string> {
  const v4 = await d.exec(ns, ["ip", "-j", "-4", "route", "show", "table", "all"]);
  const v6 = await d.exec(ns, ["ip", "-j", "-6", "route", "show", "table", "all"]);
  return v4.stdout + v6.stdout;
}

function describeRoute(r: Route): string {
  return `${r.dst}${r.gateway ? ` via ${r.gateway}` : ""}${r.dev ? ` dev ${r.dev}` : ""}`;
}

function indent(text: string): string {
  return text.trimEnd().split("\n").map((l) => l === "" ? "" : `    ${l}`).join("\n");
}

// -- The two parts -----------------------------------------------------------------

async function partServer(d: Demo, clients: Record<string, Logged>, configs: Record<string, string>) {
  console.log("\nPart 1: three tsvpn clients, one tsvpn server (client_to_client: true, ip_forward=0)\n");
  console.log(`  ${configs.server}:`);
  console.log(indent(await Deno.readTextFile(configs.server)) + "\n");
  const forward = (await d.exec(d.ns.srv, ["cat", "/proc/sys/net/ipv4/ip_forward"])).stdout.trim();
  checks.add("server namespace has ip_forward off", forward === "0", `net.ipv4.ip_forward=${forward}`);

  const addrs: Record<string, string | null> = {};
  await Promise.all(CLIENTS.map(async (c) => {
    const up = await clients[c.name].waitFor(/tunnel up/, 20_000);
    addrs[c.name] = up ? await tunnelAddress(d, d.ns[c.name], "tsvpn0") : null;
  }));
  for (const c of CLIENTS) {
    const a = addrs[c.name];
    checks.add(
      `${c.name} tunnel up with an address`,
      a !== null && a.startsWith("10.8.0."),
      a ?? `no address (log: ${clients[c.name].tail()})`,
    );
  }
  const toServer = await Promise.all(CLIENTS.map((c) => pingUntil(d, d.ns[c.name], "10.8.0.1")));
  const toPeer = await Promise.all(CLIENTS.map((c, i) => {
    const peer = CLIENTS[(i + 1) % CLIENTS.length].name;
    const a = addrs[peer];
    return a
      ? pingUntil(d, d.ns[c.name], a.split("/")[0])
      : Promise.resolve({ ok: false, detail: "no address" });
  }));
  const rows = [["CLIENT", "CONFIG", "TUNNEL ADDRESS", "PING SERVER 10.8.0.1", "PING NEXT CLIENT"]];
  CLIENTS.forEach((c, i) => {
    const peer = CLIENTS[(i + 1) % CLIENTS.length].name;
    rows.push([
      c.name,
      configs[c.name].split("/").pop()!,
      addrs[c.name] ?? "-",
      toServer[i].ok ? `ok, ${toServer[i].detail}` : "FAILED",
      `${peer} ${addrs[peer]?.split("/")[0] ?? "?"}: ${toPeer[i].ok ? `ok, ${toPeer[i].detail}` : "FAILED"}`,
    ]);
    checks.add(`${c.name} pings the server 10.8.0.1`, toServer[i].ok, toServer[i].detail);
    checks.add(`${c.name} pings ${peer} through tsvpn's router`, toPeer[i].ok, toPeer[i].detail);
  });
  console.log(formatRows(rows).join("\n"));

  const status = await d.exec(d.ns.srv, [DENO, "run", "-A", MAIN, "status", "--management", MGMT], {
    check: false,
  });
  console.log(
    `\n  tsvpn status --management ${MGMT}   (run inside the server namespace, exit ${status.code})`,
  );
  console.log(indent(status.code === 0 ? status.stdout : status.stderr));
  const listed = CLIENTS.filter((c) => {
    const a = addrs[c.name]?.split("/")[0];
    return a !== undefined && new RegExp(`^${c.name}\\s+${c.ip}:\\d+\\s+${a.replaceAll(".", "\\.")}\\s`, "m")
      .test(status.stdout);
  });
  checks.add(
    "tsvpn status lists the three clients with real and virtual addresses",
    status.code === 0 && listed.length === CLIENTS.length,
    `${listed.length} of ${CLIENTS.length} listed`,
  );
}

async function partClient(d: Demo, dave: Logged, before: string, offline: boolean) {
  console.log("\nPart 2: a tsvpn client with redirect-gateway def1, behind a NAT home router\n");
  checks.add("before the tunnel dave cannot reach the internet 10.78.0.2", offline, "pings fail");
  const up = await dave.waitFor(/tunnel up/, 20_000);
  const addr = up ? await tunnelAddress(d, d.ns.dave, "tsvpn0") : null;
  checks.add(
    "dave tunnel up with an address",
    addr !== null && addr.startsWith("10.9.0."),
    addr ?? `no address (log: ${dave.tail()})`,
  );
  const table = await routes(d, d.ns.dave);
  console.log("  dave's routes with the tunnel up (ip -j route):");
  console.log(table.map((r) => `    ${describeRoute(r)}`).join("\n"));
  const has = (want: Route) =>
    table.some((r) => r.dst === want.dst && r.gateway === want.gateway && r.dev === want.dev);
  for (const half of ["0.0.0.0/1", "128.0.0.0/1"]) {
    checks.add(
      `dave routes ${half} through the tunnel`,
      has({ dst: half, gateway: "10.9.0.1", dev: "tsvpn0" }),
      `${half} via 10.9.0.1 dev tsvpn0`,
    );
  }
  checks.add(
    "dave keeps a host route to the server via the old gateway",
    has({ dst: SERVER_IP, gateway: "192.168.1.1", dev: "eth0" }),
    `${SERVER_IP} via 192.168.1.1 dev eth0`,
  );
  checks.add(
    "dave's old default route is left in place",
    has({ dst: "default", gateway: "192.168.1.1", dev: "eth0" }),
    "default via 192.168.1.1 dev eth0",
  );

  // The gateway server routes for its clients: this is the part of the demo that needs forwarding.
  await d.exec(d.ns.srv, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
  const net = await pingUntil(d, d.ns.dave, INTERNET);
  checks.add("dave reaches the internet 10.78.0.2 through the tunnel", net.ok, net.detail);
  const nft = await d.exec(d.ns.srv, ["nft", "list", "chain", "ip", "tsvpn_demo", "postrouting"], {
    check: false,
  });
  const nat = Number(nft.stdout.match(/counter packets (\d+)/)?.[1] ?? 0);
  checks.add("the server NATs dave's traffic to the internet", nat > 0, `masquerade counter ${nat} packets`);

  dave.proc.kill("SIGTERM");
  const exit = await settledWithin(dave.proc.status.then((s) => s.code), 10_000, null);
  checks.add(
    "dave's client exits 0 on SIGTERM",
    exit === 0,
    exit === null ? "still running after 10 s" : `exit ${exit}`,
  );
  const after = await routeSnapshot(d, d.ns.dave);
  const restored = after === before;
  console.log(`\n  routes restored: ${restored ? "yes" : "NO"}`);
  checks.add(
    "dave's route table equals the snapshot from before the tunnel",
    restored,
    restored ? "yes" : after,
  );
  checks.add(
    "after the tunnel dave cannot reach the internet",
    await pingFails(d, d.ns.dave, INTERNET),
    "pings fail",
  );
}

// -- Main ----------------------------------------------------------------------------

async function preflight(): Promise<string | null> {
  const root = requireRoot();
  if (root.ignore) return root.reason;
  for (const [tool, pkg] of [["ip", "iproute2"], ["ping", "iputils-ping"], ["nft", "nftables"]]) {
    const found = await new Deno.Command("sh", { args: ["-c", `command -v ${tool}`], stdout: "null" })
      .output();
    if (found.code !== 0) return `"${tool}" is not installed (apt-get install ${pkg})`;
  }
  return null;
}

async function run(d: Demo): Promise<void> {
  step("building namespaces (switch, server, 3 clients, home router, dave, internet) and the PKI");
  d.dir = await Deno.makeTempDir({ prefix: "tsvpn-demo-" });
  const [, configs] = await Promise.all([buildNetwork(d), makePki(d)]);
  step(
    `PKI by tsvpn pki in ${d.dir}/pki; configs: server.yaml gateway.yaml alice.ovpn bob.yaml carol.yaml dave.yaml`,
  );

  step("starting two tsvpn servers in the server namespace");
  const servers = {
    main: d.spawnLogged(d.ns.srv, "server", ["--server", "--config", configs.server]),
    gateway: d.spawnLogged(d.ns.srv, "gateway", ["--server", "--config", configs.gateway]),
  };
  const before = await routeSnapshot(d, d.ns.dave);
  const offline = pingFails(d, d.ns.dave, INTERNET).catch(() => false);
  const ready = await Promise.all(Object.values(servers).map((s) => s.waitFor(/server started/, 20_000)));
  for (const [i, [name, s]] of Object.entries(servers).entries()) {
    if (!checks.add(`${name} server started`, ready[i] !== null, ready[i] ? "" : s.tail())) return;
  }
  step("starting the tsvpn clients alice, bob, carol and dave");
  const clients: Record<string, Logged> = {};
  for (const name of [...CLIENTS.map((c) => c.name), "dave"]) {
    clients[name] = d.spawnLogged(d.ns[name], name, ["--client", "--config", configs[name]]);
  }
  await partServer(d, clients, configs);
  await partClient(d, clients.dave, before, await offline);
}

/**
 * Tears down and exits, once, whichever path gets here first. An interrupted
 * run removes its temp directory; a failed one keeps its logs.
 */
let finishing: Promise<never> | null = null;
function finish(d: Demo, interrupted: string | null, code?: number): Promise<never> {
  return finishing ??= (async () => {
    if (interrupted) console.log(`\n${interrupted}: tearing down`);
    else step("tearing down");
    const left = await d.teardown();
    checks.add("teardown removed every namespace", left.length === 0, left.join(" ") || "none left");
    if (interrupted && code !== 1) {
      if (d.dir) await Deno.remove(d.dir, { recursive: true }).catch(() => {});
      console.log(
        left.length === 0 ? "interrupted; everything removed" : `FAIL: left behind: ${left.join(" ")}`,
      );
      Deno.exit(code ?? 130);
    }
    console.log(`\nChecks (${elapsed()}):`);
    console.log(checks.table().join("\n"));
    console.log("");
    for (const line of checks.failLines()) console.log(line);
    if (d.dir) {
      if (checks.passed) await Deno.remove(d.dir, { recursive: true }).catch(() => {});
      else console.log(`logs and configs kept in ${d.dir}`);
    }
    console.log(checks.verdict());
    Deno.exit(checks.passed ? 0 : 1);
  })();
}

async function main(): Promise<never> {
  const why = await preflight();
  if (why) {
    console.error(`demo: cannot run: ${why}`);
    Deno.exit(2);
  }
  const d = new Demo();
  Deno.addSignalListener("SIGINT", () => finish(d, "SIGINT", 130));
  Deno.addSignalListener("SIGTERM", () => finish(d, "SIGTERM", 143));
  // Whatever escapes still ends in the teardown.
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    checks.add("no unexpected error", false, String((e.reason as Error)?.message ?? e.reason).split("\n")[0]);
    finish(d, null);
  });
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    checks.add("no unexpected error", false, String(e.message).split("\n")[0]);
    finish(d, null);
  });
  setTimeout(() => {
    checks.add("demo finished in time", false, `still running after ${WATCHDOG_MS / 1000} s`);
    finish(d, "watchdog", 1);
  }, WATCHDOG_MS);
  try {
    console.log("tsvpn end-to-end demonstration\n");
    await run(d);
  } catch (e) {
    checks.add("demo ran to the end", false, (e as Error).message.split("\n").slice(0, 3).join(" "));
  }
  return await finish(d, null);
}

if (import.meta.main) await main();
