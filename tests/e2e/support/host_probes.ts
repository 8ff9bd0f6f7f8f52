/**
 * Measurements for e2e fault tests, read from the root namespace's /proc (the
 * lab's processes are in the root PID namespace) or inside a lab namespace:
 * a process's RSS and CPU time, the host's busy cores, the kernel's UDP
 * counters of a namespace, and a TCP iperf3 run through a tunnel.
 */

import assert from "node:assert/strict";
import type { E2eLab } from "./lab.ts";

/** Resident set size of a process, in bytes. */
export function rss(pid: number): number {
  const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/^VmRSS:\s+(\d+) kB/m);
  assert.ok(m, `VmRSS of ${pid}`);
  return Number(m[1]) * 1024;
}

/** CPU seconds a process has used (utime + stime). */
export function cpuSeconds(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).replace(/^.*\) /, "").split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
}

/** The host's busy and total jiffies over all cores. */
function hostJiffies(): { busy: number; total: number } {
  const f = Deno.readTextFileSync("/proc/stat").split("\n")[0].split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4], total };
}

export interface CpuWindow {
  /** Cores `pid` used on average. */
  processCores: number;
  /** Cores the whole host used (every tenant). */
  hostCores: number;
  seconds: number;
}

/** Runs `fn` and reports the CPU `pid` and the host used meanwhile. */
export async function measureCpu<T>(pid: number, fn: () => Promise<T>): Promise<[T, CpuWindow]> {
  const [cpu0, host0, t0] = [cpuSeconds(pid), hostJiffies(), performance.now()];
  const value = await fn();
  const [cpu1, host1] = [cpuSeconds(pid), hostJiffies()];
  const seconds = (performance.now() - t0) / 1000;
  const hostShare = (host1.busy - host0.busy) / Math.max(1, host1.total - host0.total);
  return [value, {
    processCores: +((cpu1 - cpu0) / seconds).toFixed(2),
    hostCores: +(hostShare * navigator.hardwareConcurrency).toFixed(2),
    seconds: +seconds.toFixed(1),
  }];
}

/** The kernel's UDP counters in `ns` (/proc/net/snmp is per namespace). */
export async function udpCounters(lab: E2eLab, ns: string): Promise<Record<string, number>> {
  const text = (await lab.exec(ns, ["cat", "/proc/net/snmp"])).stdout;
  const [names, values] = text.split("\n").filter((l) => l.startsWith("Udp:")).map((l) =>
    l.split(/\s+/).slice(1)
  );
  return Object.fromEntries(names.map((n, i) => [n, Number(values[i])]));
}

export interface IperfEnd {
  end: { sum_sent: { bytes: number; seconds: number }; sum_received: { bytes: number; seconds: number } };
}

/** iperf3 from `cli` to `server` (an address in `srv`); the parsed JSON (throws with iperf3's words on failure). */
export async function iperf(
  lab: E2eLab,
  srv: string,
  cli: string,
  server: string,
  args: string[],
  timeoutMs: number,
): Promise<IperfEnd> {
  const listener = lab.spawnLogged(srv, `iperf3-server-${Date.now()}`, [
    "iperf3",
    "-s",
    "-1",
    "--forceflush",
    "-B",
    server,
  ]);
  try {
    await listener.waitFor(/Server listening/, 5000);
    const argv = ["iperf3", "-c", server, "-J", ...args];
    const res = await lab.lab.exec(cli, argv, { check: false, timeoutMs }).catch((e) => {
      throw new Error(`${e.message}\niperf3 server:\n${listener.log().slice(-3000)}`);
    });
    assert.equal(res.code, 0, `${argv.join(" ")}: ${res.stdout.slice(-800)}${res.stderr}`);
    return JSON.parse(res.stdout) as IperfEnd;
  } finally {
    await listener.stop(2000);
  }
}

/** Mbit/s the receiver saw in an iperf3 result. */
export function receivedMbitPerS(res: IperfEnd): number {
  return +(res.end.sum_received.bytes * 8 / res.end.sum_received.seconds / 1e6).toFixed(1);
}
