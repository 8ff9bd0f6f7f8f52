/**
 * What every contender provides: bring a tunnel up between the bench's two
 * namespaces, name the processes whose CPU and memory are the tunnel's cost,
 * and take it down again.
 *
 *     +------------- <lab>-srv -------------+       +------------- <lab>-cli -------------+
 *     | veth-s 10.201.0.1/24  ==============|=======|============== veth-c 10.201.0.2/24 |
 *     | VPN server, iperf3 -s               |       | VPN client, iperf3 -c, ping         |
 *     | tunnel: <serverAddress>  <----------|-------|---------- tunnel: pool address     |
 *     +-------------------------------------+       +-------------------------------------+
 */

import type { LabProcess, NetnsLab } from "../../tests/harness/netns.ts";
import type { BenchPki } from "./pki.ts";

export const SERVER_UNDERLAY = "10.201.0.1";
export const CLIENT_UNDERLAY = "10.201.0.2";
export const UNDERLAY_PREFIX = 24;
/** The client namespace's end of the veth pair: every tunnel packet crosses it. */
export const CLIENT_VETH = "veth-c";
export const SERVER_VETH = "veth-s";

/** The two namespaces of one measurement, and where contenders may write files. */
export interface BenchHost {
  lab: NetnsLab;
  /** Server namespace name. */
  server: string;
  /** Client namespace name. */
  client: string;
  /** A directory private to this measurement (configs, logs). */
  workDir: string;
  pki: BenchPki;
  /** The lab's unique id, for names that live outside the namespaces (e.g. /run/wireguard sockets). */
  id: string;
}

export interface MeasuredProcess {
  role: "server" | "client";
  /** Program name expected in /proc/PID/comm (a sanity check). */
  program: string;
  pid: number;
}

export interface RunningTunnel {
  /** The server's address inside the tunnel: iperf3 and ping targets, from the client namespace. */
  serverAddress: string;
  /** Processes whose CPU seconds and peak RSS are the tunnel's cost; empty for the baseline. */
  processes: MeasuredProcess[];
  /** Details worth recording (negotiated cipher, versions). */
  notes: Record<string, string>;
  /** Stops what setup started; never throws. */
  stop(): Promise<void>;
}

export type ContenderKind = "baseline" | "openvpn" | "wireguard" | "tsvpn";

export interface Contender {
  name: string;
  kind: ContenderKind;
  /** One line for the docs and the JSON. */
  description: string;
  /** Executables it needs on the host (see packages.ts for their Debian packages). */
  programs: string[];
  setup(host: BenchHost): Promise<RunningTunnel>;
}

/** Setup failed for a reason worth printing in the table instead of aborting the run. */
export class ContenderUnavailable extends Error {
  override name = "ContenderUnavailable";
}

/** A VPN process under watch: its handle and where its log is. */
export interface Watched {
  role: "server" | "client";
  proc: LabProcess;
  /** A log file it writes instead of stderr (openvpn --log). */
  logPath?: string;
}

function lastLines(text: string, n: number): string {
  return text.trim().split("\n").filter((l) => l.trim() !== "").slice(-n).join(" | ");
}

function readLog(path: string | undefined): string {
  if (path === undefined) return "";
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** One line explaining why a watched process exited. */
export async function exitReason(w: Watched): Promise<string> {
  const out = await w.proc.output();
  const text = [out.stderr, out.stdout, readLog(w.logPath)].filter((t) => t.trim() !== "").join("\n");
  const tail = lastLines(text, 3);
  return `${w.role} exited with code ${out.code}${tail ? `: ${tail.slice(0, 300)}` : ""}`;
}

/**
 * Waits until a ping from the client namespace to `serverAddress` is answered,
 * failing early when a watched process exits. Bounded by `timeoutMs`.
 */
export async function waitForTunnel(
  host: BenchHost,
  serverAddress: string,
  watched: Watched[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; attempt < 1000 && Date.now() < deadline; attempt++) {
    for (const w of watched) {
      if (!w.proc.running) {
        await stopAll(watched);
        throw new ContenderUnavailable(await exitReason(w));
      }
    }
    const r = await host.lab.exec(host.client, ["ping", "-c", "1", "-W", "1", "-n", serverAddress], {
      check: false,
      timeoutMs: 5_000,
    });
    if (r.code === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  // Stop first: a process's stderr is only complete once it has exited.
  await stopAll(watched);
  const tails: string[] = [];
  for (const w of watched) {
    const out = await w.proc.output();
    tails.push(`${w.role}: ${lastLines([out.stderr, readLog(w.logPath)].join("\n"), 2) || "(no output)"}`);
  }
  throw new ContenderUnavailable(
    `tunnel not up after ${Math.round(timeoutMs / 1000)} s (no ping reply from ${serverAddress}); ${
      tails.join("; ")
    }`.slice(0, 400),
  );
}

/** Stops watched processes in reverse start order (clients first). Never throws. */
export async function stopAll(watched: Watched[]): Promise<void> {
  for (const w of [...watched].reverse()) {
    await w.proc.stop(2000).catch(() => {});
  }
}
