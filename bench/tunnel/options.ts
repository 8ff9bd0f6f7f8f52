/** Command-line options of `deno task bench:tunnel`. */

import { parseArgs } from "node:util";

export interface BenchOptions {
  /** Contender names, in run order. */
  only: string[];
  rounds: number;
  /** Seconds per iperf3 test (TCP each way, UDP). */
  duration: number;
  /** JSON results path; null = the default results-<timestamp>.json beside run.ts. */
  out: string | null;
  /** Seconds to wait, before each measurement, for the host to go quiet (0 = do not wait). */
  settle: number;
  /** Install missing Debian packages with apt-get. */
  install: boolean;
  help: boolean;
}

export class UsageError extends Error {
  override name = "UsageError";
}

export const DEFAULT_ROUNDS = 3;
export const DEFAULT_DURATION = 10;
export const DEFAULT_SETTLE = 30;
/** Host CPU idle fraction that counts as quiet. */
export const QUIET_IDLE = 0.85;
const QUICK_ROUNDS = 1;
const QUICK_DURATION = 3;

export const BENCH_USAGE = `Usage: deno task bench:tunnel [options]   (as root)

Side-by-side tunnel benchmark: plain veth, OpenVPN 2.6, wireguard-go and tsvpn
between two network namespaces. Prints a table of medians and writes JSON.

Options:
  --only a,b       run only these contenders (default: all), in this order
  --rounds N       rounds of alternation, A B C A B C ... (default ${DEFAULT_ROUNDS})
  --duration S     seconds per iperf3 test (default ${DEFAULT_DURATION})
  --quick          --rounds ${QUICK_ROUNDS} --duration ${QUICK_DURATION} (explicit options win), for development
  --settle S       before each measurement wait up to S s for the host to be ${
  QUIET_IDLE * 100
}% idle (default ${DEFAULT_SETTLE}; 0 = never wait)
  --out FILE       JSON results file (default bench/tunnel/results-<timestamp>.json)
  --no-install     do not apt-get install missing packages; fail instead
  -h, --help       this text`;

function positiveInt(text: string, flag: string, max: number): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`${flag} expects a whole number, got "${text}"`);
  const n = Number(text);
  if (n < 1 || n > max) throw new UsageError(`${flag} must be between 1 and ${max}, got ${n}`);
  return n;
}

/** Parses argv against the known contender names; throws UsageError with one line. */
export function parseBenchArgs(argv: string[], known: readonly string[]): BenchOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        only: { type: "string" },
        rounds: { type: "string" },
        duration: { type: "string" },
        settle: { type: "string" },
        quick: { type: "boolean", default: false },
        out: { type: "string" },
        "no-install": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      allowPositionals: false,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split("\n")[0]);
  }
  const v = parsed.values;
  let only = [...known];
  if (v.only !== undefined) {
    only = v.only.split(",").map((s) => s.trim()).filter((s) => s !== "");
    if (only.length === 0) throw new UsageError("--only needs at least one contender name");
    const unknown = only.filter((n) => !known.includes(n));
    if (unknown.length > 0) {
      throw new UsageError(`Unknown contender "${unknown[0]}"; known: ${known.join(", ")}`);
    }
    only = [...new Set(only)];
  }
  return {
    only,
    rounds: v.rounds !== undefined
      ? positiveInt(v.rounds, "--rounds", 100)
      : (v.quick ? QUICK_ROUNDS : DEFAULT_ROUNDS),
    duration: v.duration !== undefined
      ? positiveInt(v.duration, "--duration", 600)
      : (v.quick ? QUICK_DURATION : DEFAULT_DURATION),
    settle: v.settle === undefined
      ? DEFAULT_SETTLE
      : (v.settle === "0" ? 0 : positiveInt(v.settle, "--settle", 3600)),
    out: v.out ?? null,
    install: !v["no-install"],
    help: v.help,
  };
}
