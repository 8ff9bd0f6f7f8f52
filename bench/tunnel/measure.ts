/**
 * One measurement of one running tunnel: idle ping RTT (tunnel and underlay),
 * iperf3 TCP one stream each way, iperf3 UDP with 64-byte payloads, and the
 * VPN processes' CPU seconds and peak RSS. All traffic goes from the client
 * namespace to the server namespace's tunnel address.
 */

import type { LabProcess } from "../../tests/harness/netns.ts";
import { type BenchHost, CLIENT_VETH, type RunningTunnel, SERVER_UNDERLAY } from "./contender.ts";
import { parseIperfTcp, parseIperfUdp } from "./iperf_json.ts";
import { parsePing } from "./ping_parse.ts";
import { idleFraction, readComm, readCpuSeconds, readCpuTimes, readPeakRssMib } from "./proc_stats.ts";

export const IPERF_PORT = 5201;
export const PING_COUNT = 20;
export const PING_INTERVAL = "0.05";
export const UDP_PAYLOAD = 64;

/** One round's figures for one contender; null where that part failed (see errors). */
export interface Sample {
  round: number;
  tcpUpMbps: number | null;
  tcpDownMbps: number | null;
  tcpUpRetransmits: number | null;
  tcpDownRetransmits: number | null;
  /** Gigabytes (1e9) received in both TCP tests: the divisor of CPU per GB. */
  tcpGigabytes: number | null;
  /**
   * Bytes that crossed the veth pair (both directions) during the TCP tests,
   * divided by the TCP payload received: the tunnel's wire overhead (acks,
   * headers, keepalives included). Below 1 means traffic bypassed the underlay.
   */
  underlayPerPayload: number | null;
  udpKpps: number | null;
  udpLostPercent: number | null;
  rttMs: number | null;
  underlayRttMs: number | null;
  addedRttMs: number | null;
  /** CPU seconds (user + system, all measured processes) during the two TCP tests. */
  cpuTcpSeconds: number | null;
  /** CPU seconds during the UDP test. */
  cpuUdpSeconds: number | null;
  rssServerMib: number | null;
  rssClientMib: number | null;
  /** 1-minute load average when the measurement started: other work on the host skews everything. */
  loadAvg1: number | null;
  /** Host CPU idle fraction over the second before the measurement (null when not checked). */
  idleBefore: number | null;
  errors: string[];
}

/**
 * Waits (at most `maxSeconds`) until the host was at least `minIdle` idle over
 * one second, so a measurement does not start while other work holds the
 * CPUs. Returns the last idle fraction seen.
 */
export async function waitForQuiet(maxSeconds: number, minIdle: number): Promise<number | null> {
  if (maxSeconds <= 0) return null;
  const deadline = Date.now() + maxSeconds * 1000;
  let idle = 0;
  for (let i = 0; i < maxSeconds + 1; i++) {
    const a = readCpuTimes();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    idle = idleFraction(a, readCpuTimes());
    if (idle >= minIdle || Date.now() >= deadline) break;
  }
  return idle;
}

/** The 1-minute load average, or null when /proc/loadavg is unreadable. */
export function readLoadAvg1(): number | null {
  try {
    const v = Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

/** A round in which the tunnel did not come up: no figures, one error. */
export function failedSample(round: number, error: string): Sample {
  return {
    round,
    tcpUpMbps: null,
    tcpDownMbps: null,
    tcpUpRetransmits: null,
    tcpDownRetransmits: null,
    tcpGigabytes: null,
    underlayPerPayload: null,
    udpKpps: null,
    udpLostPercent: null,
    rttMs: null,
    underlayRttMs: null,
    addedRttMs: null,
    cpuTcpSeconds: null,
    cpuUdpSeconds: null,
    rssServerMib: null,
    rssClientMib: null,
    loadAvg1: null,
    idleBefore: null,
    errors: [error],
  };
}

function cpuTotal(t: RunningTunnel): number | null {
  if (t.processes.length === 0) return null;
  let sum = 0;
  for (const p of t.processes) {
    const s = readCpuSeconds(p.pid);
    if (s === null) return null;
    sum += s;
  }
  return sum;
}

function rss(t: RunningTunnel, role: "server" | "client"): number | null {
  let max: number | null = null;
  for (const p of t.processes) {
    if (p.role !== role) continue;
    const v = readPeakRssMib(p.pid);
    if (v !== null) max = max === null ? v : Math.max(max, v);
  }
  return max;
}

/** rx + tx bytes of a link, from `ip -j -s link show`; null when unreadable. */
export function parseLinkBytes(json: string): number | null {
  try {
    const links = JSON.parse(json) as { stats64?: { rx?: { bytes?: number }; tx?: { bytes?: number } } }[];
    const st = links[0]?.stats64;
    const rx = st?.rx?.bytes, tx = st?.tx?.bytes;
    return typeof rx === "number" && typeof tx === "number" ? rx + tx : null;
  } catch {
    return null;
  }
}

async function underlayBytes(host: BenchHost): Promise<number | null> {
  const r = await host.lab.exec(host.client, ["ip", "-j", "-s", "link", "show", "dev", CLIENT_VETH], {
    check: false,
  });
  return r.code === 0 ? parseLinkBytes(r.stdout) : null;
}

async function ping(host: BenchHost, target: string): Promise<number | null> {
  const r = await host.lab.exec(
    host.client,
    ["ping", "-n", "-q", "-c", String(PING_COUNT), "-i", PING_INTERVAL, "-W", "1", target],
    { check: false, timeoutMs: 15_000 },
  );
  return parsePing(r.stdout)?.avgMs ?? null;
}

/** Runs `iperf3 -c` with JSON output, retrying briefly while the server is still starting. */
async function iperf(host: BenchHost, target: string, args: string[], duration: number): Promise<string> {
  let last = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = await host.lab.exec(
      host.client,
      [
        "iperf3",
        "-c",
        target,
        "-p",
        String(IPERF_PORT),
        "-J",
        "--connect-timeout",
        "3000",
        "-t",
        String(duration),
        ...args,
      ],
      { check: false, timeoutMs: (duration + 30) * 1000 },
    );
    if (r.code === 0) return r.stdout;
    last = r.stdout.trim() || r.stderr.trim();
    // Only a refused connection (server not listening yet) is worth another try.
    if (!/unable to connect|Connection refused/i.test(last)) break;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return last;
}

function safe<T>(errors: string[], what: string, f: () => T): T | null {
  try {
    return f();
  } catch (err) {
    errors.push(`${what}: ${(err as Error).message.split("\n")[0].slice(0, 200)}`);
    return null;
  }
}

/** Measures a running tunnel once. Never throws for a failed part: it is null with an error line. */
export async function measure(
  host: BenchHost,
  tunnel: RunningTunnel,
  round: number,
  duration: number,
  idleBefore: number | null = null,
): Promise<Sample> {
  const errors: string[] = [];
  const loadAvg1 = readLoadAvg1();
  for (const p of tunnel.processes) {
    const comm = readComm(p.pid);
    if (comm !== p.program) errors.push(`pid ${p.pid} is "${comm}", expected ${p.program}`);
  }
  let iperfServer: LabProcess | undefined;
  try {
    iperfServer = host.lab.spawn(host.server, ["iperf3", "-s", "-p", String(IPERF_PORT)]);
    const underlayRttMs = await ping(host, SERVER_UNDERLAY);
    const rttMs = await ping(host, tunnel.serverAddress);
    if (rttMs === null) errors.push(`ping ${tunnel.serverAddress}: no reply`);

    const wire0 = await underlayBytes(host);
    const cpu0 = cpuTotal(tunnel);
    const upText = await iperf(host, tunnel.serverAddress, [], duration);
    const tcpUp = safe(errors, "iperf3 TCP up", () => parseIperfTcp(upText));
    const downText = await iperf(host, tunnel.serverAddress, ["-R"], duration);
    const tcpDown = safe(errors, "iperf3 TCP down", () => parseIperfTcp(downText));
    for (const [what, r] of [["TCP up", tcpUp], ["TCP down", tcpDown]] as const) {
      // A working tunnel moves megabytes per second; less than 1 MB in the whole test is a stall.
      if (r !== null && r.bytes < 1e6) {
        errors.push(`${what}: stalled, ${r.bytes} bytes received in ${r.seconds.toFixed(0)} s`);
      }
    }
    const cpu1 = cpuTotal(tunnel);
    const wire1 = await underlayBytes(host);
    const payload = tcpUp && tcpDown ? tcpUp.bytes + tcpDown.bytes : null;
    const underlayPerPayload = wire0 !== null && wire1 !== null && payload !== null && payload > 0
      ? (wire1 - wire0) / payload
      : null;
    if (underlayPerPayload !== null && underlayPerPayload < 0.99) {
      errors.push(`only ${(underlayPerPayload * 100).toFixed(0)}% of the TCP payload crossed the veth pair`);
    }
    const udpText = await iperf(
      host,
      tunnel.serverAddress,
      ["-u", "-l", String(UDP_PAYLOAD), "-b", "0"],
      duration,
    );
    const udp = safe(errors, "iperf3 UDP", () => parseIperfUdp(udpText));
    const cpu2 = cpuTotal(tunnel);
    return {
      round,
      tcpUpMbps: tcpUp ? tcpUp.bitsPerSecond / 1e6 : null,
      tcpDownMbps: tcpDown ? tcpDown.bitsPerSecond / 1e6 : null,
      tcpUpRetransmits: tcpUp?.retransmits ?? null,
      tcpDownRetransmits: tcpDown?.retransmits ?? null,
      tcpGigabytes: payload === null ? null : payload / 1e9,
      underlayPerPayload,
      udpKpps: udp ? udp.packetsPerSecond / 1e3 : null,
      udpLostPercent: udp?.lostPercent ?? null,
      rttMs,
      underlayRttMs,
      addedRttMs: rttMs !== null && underlayRttMs !== null ? rttMs - underlayRttMs : null,
      cpuTcpSeconds: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null,
      cpuUdpSeconds: cpu1 !== null && cpu2 !== null ? cpu2 - cpu1 : null,
      rssServerMib: rss(tunnel, "server"),
      rssClientMib: rss(tunnel, "client"),
      loadAvg1,
      idleBefore,
      errors,
    };
  } finally {
    await iperfServer?.stop(2000);
  }
}
