/**
 * Tunnel throughput under a junk flood, for tests/e2e/faults_test.ts and
 * bench/flood_probe.ts: a tsvpn server (tls-crypt) in "srv", alice's stock
 * openvpn client in "cli", and "mallory" (172.31.0.50) sending random
 * datagrams (stranger_flood.ts udp-junk) to the server's host.
 *
 * A round is three `iperf3` runs through alice's tunnel — no flood, the flood
 * at a closed port of the server's host (the kernel drops the junk), the flood
 * at the server's port — in an order that rotates from round to round, each
 * with what every party spent meanwhile.
 */

import assert from "node:assert/strict";
import { cpuSeconds, iperf, udpCounters } from "./host_probes.ts";
import { type LoggedProcess, ROOT, serverYaml } from "./lab.ts";
import { statusJson } from "./management.ts";
import type { PairRig } from "./pair.ts";

export const MGMT = "127.0.0.1:7505";
export const SERVER_PORT = 1194;
/** A port of the server's host where nothing listens: the kernel drops the junk, tsvpn never sees it. */
export const CLOSED_PORT = 1195;
const FLOOD = `${ROOT}tests/e2e/support/stranger_flood.ts`;

export interface FloodRig {
  server: LoggedProcess;
  client: LoggedProcess;
  mallory: string;
}

/** The server, mallory's host and alice's stock openvpn client with a working tunnel. */
export async function floodRig(r: PairRig): Promise<FloodRig> {
  const server = await r.lab.startServer(
    r.srv,
    "server",
    serverYaml({
      pki: { ca: r.pki.ca, cert: r.pki.cert, key: r.pki.key, tlsCrypt: r.pki.tlsCrypt },
      server: "  network: 10.8.0.0/24",
      extra: [`management: { listen: "${MGMT}" }`],
    }),
  );
  const mallory = await r.lab.host("mallory", "172.31.0.50/24");
  const profile = await r.pki.profile("alice", `172.31.0.1:${SERVER_PORT}`, { tlsCrypt: true });
  const client = r.lab.startClient(r.cli, "alice", profile);
  await client.waitFor(/Initialization Sequence Completed/, 20_000);
  assert.ok(await r.lab.pingUntil(r.cli, "10.8.0.1", 10_000), "the tunnel carries pings");
  return { server, client, mallory };
}

export interface JunkReport {
  sent: number;
  ms: number;
  rate: number;
  cpuMs: number;
}

/** Starts `count` random datagrams at `rate`/s from mallory to the server's host at `port`; `started` resolves when sending begins. */
export function junkFlood(
  r: PairRig,
  f: FloodRig,
  o: { port: number; count: number; rate: number },
): { started: Promise<unknown>; done: Promise<JunkReport> } {
  const flood = r.lab.spawnLogged(f.mallory, `junk-${Date.now()}`, [
    Deno.execPath(),
    "run",
    "-A",
    "--unstable-net",
    FLOOD,
    "udp-junk",
    "172.31.0.1",
    `${o.port}`,
    `${o.count}`,
    `${o.rate}`,
  ]);
  const started = flood.waitFor(/flooding/, 15_000);
  const done = started.then(() => flood.waitFor(/^\{.*\}$/m, 60_000)).then((m) => JSON.parse(m[0]));
  return { started, done };
}

/** Jiffies of the whole host: busy (all but idle and iowait), softirq, total. */
function hostJiffies(): { busy: number; softirq: number; total: number } {
  const f = Deno.readTextFileSync("/proc/stat").split("\n")[0].split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], softirq: f[6], total };
}

/** Cores the whole host kept busy over the next `ms` milliseconds (blocks the thread meanwhile). */
export function hostBusyCores(ms: number): number {
  const a = hostJiffies();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  const b = hostJiffies();
  return +((b.busy - a.busy) / Math.max(1, b.total - a.total) * navigator.hardwareConcurrency).toFixed(2);
}

/** The server socket's own drop count (last column of its /proc/net/udp row in the srv namespace). */
async function socketDrops(r: PairRig, port: number): Promise<number> {
  const text = (await r.lab.exec(r.srv, ["cat", "/proc/net/udp"])).stdout;
  const local = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const row = text.split("\n").map((l) => l.trim().split(/\s+/)).find((f) => f[1]?.endsWith(local));
  assert.ok(row, `no UDP socket on port ${port} in /proc/net/udp:\n${text}`);
  return Number(row[row.length - 1]);
}

/** Nanoseconds a thread has waited on a run queue, and its time slices (/proc/PID/schedstat: the main thread). */
function schedstat(pid: number): { waitNs: number; slices: number } {
  const [, wait, slices] = Deno.readTextFileSync(`/proc/${pid}/schedstat`).trim().split(" ").map(Number);
  return { waitNs: wait, slices };
}

interface Snapshot {
  t: number;
  server: number;
  serverSched: { waitNs: number; slices: number };
  client: number;
  clientSched: { waitNs: number; slices: number };
  host: ReturnType<typeof hostJiffies>;
  udp: Record<string, number>;
  socketDrops: number;
}

/** Cheap counters, read right around the iperf run (the server's drop counters take a CLI run: read outside it). */
async function snapshot(r: PairRig, f: FloodRig): Promise<Snapshot> {
  return {
    t: performance.now(),
    server: cpuSeconds(f.server.proc.pid),
    serverSched: schedstat(f.server.proc.pid),
    client: cpuSeconds(f.client.proc.pid),
    clientSched: schedstat(f.client.proc.pid),
    host: hostJiffies(),
    udp: await udpCounters(r.lab, r.srv),
    socketDrops: await socketDrops(r, SERVER_PORT),
  };
}

const serverDrops = async (r: PairRig) => (await statusJson(r.lab, r.srv, MGMT)).drops;

export type FloodKind = "quiet" | "closedPort" | "serverPort";

export interface FloodRun {
  kind: FloodKind;
  /** Received Mbit/s over max(receivedSeconds, the requested seconds). */
  mbit: number;
  /** The seconds iperf3's receiver measured over. */
  receivedSeconds: number;
  retransmits: number;
  /** Cores used over the iperf run. */
  serverCores: number;
  /** Of each second, the milliseconds the server's loop thread waited for a core, and its time slices. */
  serverRunQueueMsPerS: number;
  serverSlicesPerS: number;
  clientCores: number;
  clientRunQueueMsPerS: number;
  hostCores: number;
  softirqCores: number;
  /** The generator's report (absent without a flood). */
  junk?: JunkReport;
  /** Kernel UDP counters of the srv namespace that moved, and the server socket's drops. */
  rcvbufErrors: number;
  noPorts: number;
  socketDrops: number;
  /** The server's drop counters that moved, by reason. */
  drops: Record<string, number>;
}

function delta(
  a: Snapshot,
  b: Snapshot,
): Omit<FloodRun, "kind" | "mbit" | "receivedSeconds" | "retransmits" | "junk" | "drops"> {
  const s = (b.t - a.t) / 1000;
  const jiffies = Math.max(1, b.host.total - a.host.total);
  const cores = navigator.hardwareConcurrency;
  return {
    serverCores: +((b.server - a.server) / s).toFixed(2),
    serverRunQueueMsPerS: +((b.serverSched.waitNs - a.serverSched.waitNs) / 1e6 / s).toFixed(1),
    serverSlicesPerS: Math.round((b.serverSched.slices - a.serverSched.slices) / s),
    clientCores: +((b.client - a.client) / s).toFixed(2),
    clientRunQueueMsPerS: +((b.clientSched.waitNs - a.clientSched.waitNs) / 1e6 / s).toFixed(1),
    hostCores: +((b.host.busy - a.host.busy) / jiffies * cores).toFixed(2),
    softirqCores: +((b.host.softirq - a.host.softirq) / jiffies * cores).toFixed(2),
    rcvbufErrors: b.udp.RcvbufErrors - a.udp.RcvbufErrors,
    noPorts: b.udp.NoPorts - a.udp.NoPorts,
    socketDrops: b.socketDrops - a.socketDrops,
  };
}

export interface RoundOptions {
  /** iperf3 -t (after one omitted second of slow start, -O 1) */
  seconds: number;
  /** Junk datagrams per flooded run, and their rate; count/rate should outlast the iperf run (seconds + 1, by ~2 s). */
  count: number;
  rate: number;
  /** Rotates the order of the three runs. */
  round: number;
  /** Reads the server's drop counters around each run (a CLI run each: off in the timed test). @default true */
  dropCounters?: boolean;
}

const KINDS: FloodKind[] = ["quiet", "closedPort", "serverPort"];

/** One iperf3 run of `kind`, with what was spent meanwhile. */
export async function floodRun(r: PairRig, f: FloodRig, kind: FloodKind, o: RoundOptions): Promise<FloodRun> {
  const port = kind === "closedPort" ? CLOSED_PORT : SERVER_PORT;
  const counting = o.dropCounters ?? true;
  const dropsBefore = counting ? await serverDrops(r) : {};
  const flood = kind === "quiet" ? null : junkFlood(r, f, { port, count: o.count, rate: o.rate });
  await flood?.started;
  const before = await snapshot(r, f);
  const res = await iperf(
    r.lab,
    r.srv,
    r.cli,
    "10.8.0.1",
    ["-O", "1", "-t", `${o.seconds}`],
    30_000 + o.seconds * 3000,
  );
  const after = await snapshot(r, f);
  const junk = await flood?.done;
  const dropsAfter = counting ? await serverDrops(r) : {};
  const drops = Object.fromEntries(
    Object.entries(dropsAfter).map(([k, v]) => [k, v - (dropsBefore[k] ?? 0)]).filter(([, v]) => v !== 0),
  );
  const end = res.end as typeof res.end & { sum_sent: { retransmits?: number } };
  return {
    kind,
    // Over the requested time at least: a receiver that stalled reports only the seconds it saw data, so
    // bytes over its own seconds would count a short burst as a fast run.
    mbit: +(end.sum_received.bytes * 8 / Math.max(end.sum_received.seconds, o.seconds) / 1e6).toFixed(1),
    receivedSeconds: +end.sum_received.seconds.toFixed(2),
    retransmits: end.sum_sent.retransmits ?? 0,
    ...delta(before, after),
    drops,
    ...(junk ? { junk } : {}),
  };
}

/** The three runs of one round, in the round's order. */
export async function runFloodRound(r: PairRig, f: FloodRig, o: RoundOptions): Promise<FloodRun[]> {
  const runs: FloodRun[] = [];
  for (let i = 0; i < KINDS.length; i++) {
    runs.push(await floodRun(r, f, KINDS[(i + o.round) % KINDS.length], o));
  }
  return runs;
}
