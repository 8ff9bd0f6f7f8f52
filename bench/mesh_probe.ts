/**
 * Mesh direct vs relayed (docs/mesh.md): the e2e mesh topology (the tsvpn
 * server on a switch, two tsvpn clients each behind its own nftables
 * masquerade NAT router) built twice in fresh namespaces, once with
 * `server.mesh.enabled: true` (measured once the pair is `direct`) and once
 * with it false (every packet relayed by the server). For each mode, between
 * the two clients (alice 10.8.0.2 → bob 10.8.0.3):
 *
 *   - ping RTT: --count pings at --interval, median and p90;
 *   - iperf3 TCP goodput for --seconds, alice→bob then bob→alice (-R);
 *   - the server process's CPU seconds (utime+stime from /proc/PID/stat)
 *     during each iperf3 run, and the server's relay counter over it.
 *
 * A measurement tool, not a test; needs root. Missing programs are installed
 * from Debian as `deno task bench:tunnel` does.
 *
 *   deno task bench:mesh [--only direct,relayed] [--count 50] [--interval 0.05] [--seconds 10] [--one-way]
 */

import { parseArgs } from "node:util";
import { E2eLab, type LoggedProcess, serverYaml } from "../tests/e2e/support/lab.ts";
import { statusJson } from "../tests/e2e/support/management.ts";
import { behindNat } from "../tests/e2e/support/nat_router.ts";
import { createE2ePki, type E2ePki } from "../tests/e2e/support/pki.ts";
import { startTsvpnClient, tsvpnClientConfig } from "../tests/e2e/support/tsvpn_client.ts";
import type { LabProcess } from "../tests/harness/netns.ts";
import { until } from "../src/testing/wait.ts";
import { parseIperfTcp } from "./tunnel/iperf_json.ts";
import { BASE_PROGRAMS, ensurePrograms, findProgram } from "./tunnel/packages.ts";
import { parsePing } from "./tunnel/ping_parse.ts";
import { readComm, readCpuSeconds } from "./tunnel/proc_stats.ts";
import { median } from "./tunnel/stats.ts";

const MANAGEMENT = "127.0.0.1:7505";
const SERVER_ADDRESS = "172.31.0.1";
const BOB = "10.8.0.3";
const MODES = ["direct", "relayed"] as const;
type Mode = typeof MODES[number];

function usage(message: string): never {
  console.error(`mesh_probe: ${message}`);
  Deno.exit(2);
}

function parseOptions() {
  try {
    const { values } = parseArgs({
      options: {
        only: { type: "string", default: MODES.join(",") },
        count: { type: "string", default: "50" },
        interval: { type: "string", default: "0.05" },
        seconds: { type: "string", default: "10" },
        "one-way": { type: "boolean", default: false },
      },
    });
    const whole = (v: string, what: string, max: number) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > max) usage(`${what} must be a whole number from 1 to ${max}`);
      return n;
    };
    const interval = Number(values.interval);
    if (!(interval >= 0.01 && interval <= 10)) usage("--interval must be 0.01 to 10 seconds");
    const modes = values.only!.split(",").map((m) => {
      const mode = MODES.find((x) => x === m.trim());
      if (mode === undefined) usage(`unknown mode "${m}"; known: ${MODES.join(", ")}`);
      return mode;
    });
    return {
      modes,
      count: whole(values.count!, "--count", 1000),
      interval: values.interval!,
      seconds: whole(values.seconds!, "--seconds", 120),
      oneWay: values["one-way"]!,
    };
  } catch (e) {
    usage((e as Error).message);
  }
}

const options = parseOptions();

/** What to undo if the probe stops now (Ctrl-C, SIGTERM or an error). */
const live: { procs: (LoggedProcess | LabProcess)[]; lab: E2eLab | null; pki: E2ePki | null } = {
  procs: [],
  lab: null,
  pki: null,
};
async function undoLive(): Promise<void> {
  for (const p of live.procs.splice(0)) await p.stop().catch(() => {});
  await live.lab?.close().catch(() => {});
  live.lab = null;
  await live.pki?.cleanup().catch(() => {});
  live.pki = null;
}
/** The cleanup under way, if any: a signal arriving during one joins it rather than exiting mid-way. */
let cleaning: Promise<void> | null = null;
function cleanUp(): Promise<void> {
  cleaning ??= undoLive().finally(() => cleaning = null);
  return cleaning;
}
let stopping = false;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, () => {
    stopping = true;
    void cleanUp().finally(() => Deno.exit(130));
  });
}

interface Net {
  e: E2eLab;
  srv: string;
  cA: string;
  cB: string;
  server: LoggedProcess;
  clients: LoggedProcess[];
}

/** The server (mesh on or off) and alice and bob behind cone NATs, both tunnels up. */
async function buildNet(mode: Mode): Promise<Net> {
  const pki = live.pki = await createE2ePki(["alice", "bob"]);
  const e = live.lab = new E2eLab(pki.dir);
  await e.init();
  const srv = await e.host("srv", `${SERVER_ADDRESS}/24`);
  const { host: cA } = await behindNat(e, "a", "172.31.0.21", 101, false);
  const { host: cB } = await behindNat(e, "b", "172.31.0.22", 102, false);
  const mesh = mode === "direct" ? "{ enabled: true, punch_timeout: 3 }" : "{ enabled: false }";
  const server = await e.startServer(
    srv,
    "server",
    serverYaml({
      pki: { ca: pki.ca, cert: pki.cert, key: pki.key, crl: pki.crl },
      server: `  network: 10.8.0.0/24\n  client_to_client: true\n  mesh: ${mesh}\n`,
      extra: [`management: { listen: ${MANAGEMENT} }`],
    }),
  );
  live.procs.unshift(server);
  const clients: LoggedProcess[] = [];
  for (const [name, ns] of [["alice", cA], ["bob", cB]]) {
    const config = await tsvpnClientConfig(pki, name, `${SERVER_ADDRESS}:1194`);
    const client = startTsvpnClient(e, ns, name, config);
    live.procs.unshift(client);
    clients.push(client);
    await client.waitFor(/tunnel up/, 20_000);
  }
  if (!await e.pingUntil(cA, BOB, 10_000)) throw new Error("alice never reached bob");
  return { e, srv, cA, cB, server, clients };
}

/** Waits until the server reports alice's pair with bob as `direct` (mode direct) and returns the path seen. */
async function settledPath(net: Net, mode: Mode): Promise<string> {
  const path = async () =>
    (await statusJson(net.e, net.srv, MANAGEMENT)).clients.find((c) => c.name === "alice")?.meshPairs?.[0]
      ?.path ?? "relayed (no pair)";
  if (mode === "direct") {
    await until(async () => (await path()) === "direct", { what: "the direct path", timeoutMs: 20_000 });
  }
  return await path();
}

/** The value below which `fraction` of the sorted samples lie (nearest rank). */
function percentile(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] ?? NaN;
}

interface PingFigures {
  medianMs: number;
  p90Ms: number;
  received: number;
  sent: number;
}

async function pingRtt(net: Net): Promise<PingFigures> {
  const argv = ["ping", "-n", "-c", String(options.count), "-i", options.interval, "-W", "1", BOB];
  const timeoutMs = options.count * Number(options.interval) * 1000 + 10_000;
  const r = await net.e.lab.exec(net.cA, argv, { check: false, timeoutMs });
  const rtts = [...r.stdout.matchAll(/icmp_seq=\d+ ttl=\d+ time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  const summary = parsePing(r.stdout);
  if (summary === null) throw new Error(`no ping replies from bob:\n${r.stdout}${r.stderr}`);
  return {
    medianMs: median(rtts) ?? NaN,
    p90Ms: percentile(rtts, 0.9),
    received: summary.received,
    sent: summary.transmitted,
  };
}

interface Transfer {
  direction: string;
  mbitPerSecond: number;
  retransmits: number | null;
  serverCpuSeconds: number;
  /** alice's plus bob's tsvpn processes. */
  clientsCpuSeconds: number;
  relayedPackets: number | null;
}

async function relayedPackets(net: Net): Promise<number | null> {
  return (await statusJson(net.e, net.srv, MANAGEMENT)).mesh?.relayedPackets ?? null;
}

/** CPU seconds used so far by alice's and bob's tsvpn processes together. */
function clientsCpu(net: Net): number {
  return net.clients.reduce((sum, c) => sum + (readCpuSeconds(c.proc.pid) ?? NaN), 0);
}

/** One iperf3 TCP run from alice to bob's iperf3 server (`reverse`: bob sends), with the server's CPU. */
async function transfer(net: Net, reverse: boolean): Promise<Transfer> {
  const pid = net.server.proc.pid;
  const relayedBefore = await relayedPackets(net);
  const cpuBefore = readCpuSeconds(pid);
  const clientsBefore = clientsCpu(net);
  const argv = ["iperf3", "-c", BOB, "-t", String(options.seconds), "-J", ...(reverse ? ["-R"] : [])];
  const r = await net.e.lab.exec(net.cA, argv, { check: false, timeoutMs: options.seconds * 1000 + 30_000 });
  const cpuAfter = readCpuSeconds(pid);
  const clientsAfter = clientsCpu(net);
  const relayedAfter = await relayedPackets(net);
  if (cpuBefore === null || cpuAfter === null) throw new Error("the tsvpn server exited during iperf3");
  const tcp = parseIperfTcp(r.stdout);
  return {
    direction: reverse ? "bob→alice" : "alice→bob",
    mbitPerSecond: tcp.bitsPerSecond / 1e6,
    retransmits: tcp.retransmits,
    serverCpuSeconds: cpuAfter - cpuBefore,
    clientsCpuSeconds: clientsAfter - clientsBefore,
    relayedPackets: relayedBefore === null || relayedAfter === null ? null : relayedAfter - relayedBefore,
  };
}

/** Waits until bob's iperf3 server listens on TCP 5201. */
async function iperfServer(net: Net): Promise<void> {
  const iperf = net.e.lab.spawn(net.cB, ["iperf3", "-s"]);
  live.procs.unshift(iperf);
  const listening = async () => /:5201\b/.test((await net.e.exec(net.cB, ["ss", "-tlnH"])).stdout);
  await until(listening, { what: "bob's iperf3 server", timeoutMs: 10_000, intervalMs: 100 });
}

const fixed = (x: number | null, digits: number, width: number) =>
  (x === null || Number.isNaN(x) ? "–" : x.toFixed(digits)).padStart(width);

function printRows(mode: Mode, ping: PingFigures, transfers: Transfer[]): void {
  for (const t of transfers) {
    console.log(
      `${mode.padEnd(8)} ${fixed(ping.medianMs, 3, 9)} ${fixed(ping.p90Ms, 3, 9)} ${
        `${ping.received}/${ping.sent}`.padStart(7)
      }  ${t.direction.padEnd(10)} ${fixed(t.mbitPerSecond, 1, 7)} ${fixed(t.retransmits, 0, 7)} ${
        fixed(t.serverCpuSeconds, 2, 8)
      } ${fixed((100 * t.serverCpuSeconds) / options.seconds, 0, 6)} ${fixed(t.clientsCpuSeconds, 2, 9)} ${
        fixed(t.relayedPackets, 0, 10)
      }`,
    );
  }
}

function summaryLine(mode: Mode, path: string, ping: PingFigures, transfers: Transfer[]): string {
  const tput = transfers.map((t) => `${t.direction} ${t.mbitPerSecond.toFixed(1)} Mbit/s`).join(", ");
  const cpu = transfers.map((t) => `${t.serverCpuSeconds.toFixed(2)} s`).join(" / ");
  return `${mode}: pair ${path}; ping median ${ping.medianMs.toFixed(3)} ms (p90 ${
    ping.p90Ms.toFixed(3)
  }); ${tput}; server CPU ${cpu} per ${options.seconds} s run`;
}

async function measureMode(mode: Mode): Promise<string> {
  if (stopping) throw new Error("interrupted");
  try {
    const net = await buildNet(mode);
    if (readComm(net.server.proc.pid) !== "deno") {
      throw new Error(`pid ${net.server.proc.pid} is ${readComm(net.server.proc.pid)}, not the tsvpn server`);
    }
    const path = await settledPath(net, mode);
    const ping = await pingRtt(net);
    await iperfServer(net);
    const transfers = [await transfer(net, false)];
    if (!options.oneWay) transfers.push(await transfer(net, true));
    printRows(mode, ping, transfers);
    return summaryLine(mode, path, ping, transfers);
  } finally {
    await cleanUp();
  }
}

try {
  await ensurePrograms(BASE_PROGRAMS, true, (l) => console.error(l));
  if (findProgram("nft") === null) {
    throw new Error("nft (Debian package nftables) is needed for the NAT routers");
  }
} catch (e) {
  usage((e as Error).message);
}

console.log(
  `host: ${Deno.readTextFileSync("/proc/loadavg").trim()} (loadavg), ${navigator.hardwareConcurrency} CPUs`,
);
console.log(
  "mode     rtt-med ms  p90 ms  replies  iperf3     Mbit/s  retrans  srv-cpu s  cpu %  cli-cpu s  relayed pkts",
);
const summaries: string[] = [];
try {
  for (const mode of options.modes) summaries.push(await measureMode(mode));
} finally {
  await cleanUp();
}
for (const s of summaries) console.log(s);
console.log(`host after: ${Deno.readTextFileSync("/proc/loadavg").trim()} (loadavg)`);
