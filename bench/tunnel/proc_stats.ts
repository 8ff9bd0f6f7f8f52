/**
 * Per-process CPU time and peak memory from /proc. Times are in clock ticks
 * (sysconf(_SC_CLK_TCK), 100 on every Linux build we target) and cover all
 * threads of the process.
 */

/** utime + stime in clock ticks from the text of /proc/PID/stat. */
export function parseStatTicks(text: string): number {
  // comm (field 2) may contain spaces and parentheses: fields restart after the last ')'.
  const close = text.lastIndexOf(")");
  if (close < 0) throw new Error("Malformed /proc/PID/stat: no ')' after comm");
  const rest = text.slice(close + 2).trim().split(/\s+/);
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error("Malformed /proc/PID/stat: bad utime/stime");
  }
  return utime + stime;
}

/** VmHWM (peak resident set) in KiB from the text of /proc/PID/status; null when absent. */
export function parseVmHwmKib(text: string): number | null {
  const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(text);
  return m === null ? null : Number(m[1]);
}

export const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) used so far by PID; null once it has gone. */
export function readCpuSeconds(pid: number): number | null {
  try {
    return parseStatTicks(Deno.readTextFileSync(`/proc/${pid}/stat`)) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** Peak RSS of PID in MiB; null once it has gone. */
export function readPeakRssMib(pid: number): number | null {
  try {
    const kib = parseVmHwmKib(Deno.readTextFileSync(`/proc/${pid}/status`));
    return kib === null ? null : kib / 1024;
  } catch {
    return null;
  }
}

/** Short name of PID (/proc/PID/comm), to check we measure the program we meant to. */
export function readComm(pid: number): string | null {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/comm`).trim();
  } catch {
    return null;
  }
}

/** Host CPU counters (clock ticks summed over CPUs) from the first line of /proc/stat. */
export interface CpuTimes {
  idle: number;
  total: number;
}

/** Parses the aggregate "cpu" line of /proc/stat; idle counts idle + iowait, total excludes guest time. */
export function parseProcStatCpu(text: string): CpuTimes {
  const line = text.split("\n").find((l) => l.startsWith("cpu "));
  if (line === undefined) throw new Error("Malformed /proc/stat: no aggregate cpu line");
  // user nice system idle iowait irq softirq steal [guest guest_nice] — guests are already in user/nice.
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (f.length < 4 || f.some((v) => !Number.isFinite(v))) {
    throw new Error("Malformed /proc/stat: bad cpu line");
  }
  const idle = f[3] + (f[4] ?? 0);
  return { idle, total: f.reduce((a, b) => a + b, 0) };
}

/** Fraction of CPU time that was idle between two readings (1 when no time passed). */
export function idleFraction(a: CpuTimes, b: CpuTimes): number {
  const total = b.total - a.total;
  return total <= 0 ? 1 : (b.idle - a.idle) / total;
}

export function readCpuTimes(): CpuTimes {
  return parseProcStatCpu(Deno.readTextFileSync("/proc/stat"));
}
