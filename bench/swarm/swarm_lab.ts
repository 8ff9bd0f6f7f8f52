/**
 * The swarm's network and one swarm run against one server. Two namespaces
 * joined by a veth pair; the generator's end carries one address per
 * `clientsPerAddress` clients.
 *
 *   +--- srv --------------------+        +--- gen ----------------------------+
 *   | veth-s 172.30.0.1/15       |========| veth-g 172.31.1.1 … 172.31.x.y/15  |
 *   | tsvpn0 / tun0 10.80.0.1/16 |        | generator.ts (N clients, 1 process) |
 *   +----------------------------+        +------------------------------------+
 *
 * The generator runs under `prlimit --nofile` (one socket per client; Deno
 * cannot raise its own limit) with its output in a file that this side
 * polls, sampling the server's RSS and CPU time from /proc as it goes.
 */

import { NetnsLab } from "../../tests/harness/netns.ts";
import { readCpuSeconds } from "../tunnel/proc_stats.ts";
import { addressCount, type GeneratorPlan, type GeneratorResult, sourceAddress } from "./plan.ts";
import { GENERATOR_PREFIX, SERVER_UNDERLAY, type SwarmServer } from "./servers.ts";
import { until } from "../../src/testing/wait.ts";

const GENERATOR = new URL("./generator.ts", import.meta.url).pathname;
const DENO_JSON = new URL("../../deno.json", import.meta.url).pathname;
const SAMPLE_MS = 250;

export interface ServerFigures {
  /** RSS before the swarm, when every attempt had settled, and the highest sampled (MiB). */
  rssIdleMib: number;
  rssConnectedMib: number;
  rssPeakMib: number;
  /** (rssConnected − rssIdle) / connected, KiB. */
  rssPerClientKib: number;
  /** CPU seconds the server used from the first client to the end of the pings. */
  cpuSeconds: number;
  /** False when the server process had exited by the end of the run. */
  survived: boolean;
}

export interface SwarmRun {
  result: GeneratorResult;
  server: ServerFigures;
}

export function readRssMib(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m === null ? null : Number(m[1]) / 1024;
  } catch {
    return null;
  }
}

/**
 * The server's RSS once start-up is over: tsvpn gives back pages only start-up touched a moment after it
 * listens, so the idle figure is taken when two readings a second apart differ by less than 1 MiB (at most 15 s).
 */
async function settledRssMib(pid: number): Promise<number> {
  let last = readRssMib(pid) ?? 0;
  for (let i = 0; i < 15; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = readRssMib(pid) ?? 0;
    if (Math.abs(now - last) < 1) return now;
    last = now;
  }
  return last;
}

function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

function lastLine(text: string, kind: string): string | null {
  const lines = text.split("\n").filter((l) => l.startsWith(`${kind} `));
  return lines.length === 0 ? null : lines[lines.length - 1].slice(kind.length + 1);
}

export class SwarmLab implements AsyncDisposable {
  readonly lab = new NetnsLab();
  readonly dir: string;
  server = "";
  generator = "";

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Namespaces, the veth pair, and `addresses` source addresses on the generator's end. */
  async init(addresses: number): Promise<void> {
    this.server = await this.lab.addNamespace("srv");
    this.generator = await this.lab.addNamespace("gen");
    await this.lab.veth(
      { ns: this.server, name: "veth-s", address: `${SERVER_UNDERLAY}/15` },
      { ns: this.generator, name: "veth-g" },
    );
    const batch = Array.from(
      { length: addresses },
      (_, n) => `addr add ${sourceAddress(GENERATOR_PREFIX, n)}/15 dev veth-g`,
    ).join("\n");
    await this.lab.exec(this.generator, ["ip", "-batch", "-"], { stdin: batch + "\n", timeoutMs: 120_000 });
  }

  /** Runs the generator with `plan` against `server`; `progress` sees each progress line. */
  async run(
    server: SwarmServer,
    plan: GeneratorPlan,
    progress: (line: string) => void = () => {},
  ): Promise<SwarmRun> {
    // The server keeps a neighbour entry per source address; the kernel's table (gc_thresh3, only settable
    // in the root namespace) holds 1024 by default.
    if (addressCount(plan) > 1000) throw new Error("more than 1000 source addresses: raise --per-address");
    const planPath = `${this.dir}/plan-${server.kind}.json`;
    const logPath = `${this.dir}/generator-${server.kind}.log`;
    await Deno.writeTextFile(planPath, JSON.stringify(plan));
    const rssIdleMib = await settledRssMib(server.pid);
    const cpu0 = readCpuSeconds(server.pid) ?? 0;
    const files = plan.clients + 4096;
    // The generator's clients stay on node:tls, whatever engine the server runs (TSVPN_TLS_ENGINE reaches the
    // server from this process's environment): each client has its own certificate and its context is built
    // before the clock starts (shard.ts), so the load is the same as in every earlier run.
    const argv = ["env", "TSVPN_TLS_ENGINE=node", "prlimit", `--nofile=${files}:${files}`, Deno.execPath()];
    argv.push("run", "-A", "--unstable-net");
    argv.push("--config", DENO_JSON, GENERATOR, planPath);
    const quoted = argv.map((a) => `'${a}'`).join(" ");
    const proc = this.lab.spawn(this.generator, ["sh", "-c", `exec ${quoted} >'${logPath}' 2>&1`]);
    let rssPeakMib = rssIdleMib;
    let rssConnectedMib = 0;
    let shown = 0;
    // Bounded: every handshake may take the full timeout at the in-flight cap, plus hold and pings.
    const timeoutMs = plan.handshakeTimeoutMs * (1 + plan.clients / plan.inflight) + 120_000;
    const resultText = await until(() => {
      rssPeakMib = Math.max(rssPeakMib, readRssMib(server.pid) ?? 0);
      const text = readText(logPath);
      const lines = text.split("\n").filter((l) => l.startsWith("swarm-progress "));
      for (; shown < lines.length; shown++) progress(lines[shown].slice("swarm-progress ".length));
      if (rssConnectedMib === 0 && lastLine(text, "swarm-connected") !== null) {
        rssConnectedMib = readRssMib(server.pid) ?? 0;
      }
      const result = lastLine(text, "swarm-result");
      if (result !== null) return result;
      if (!proc.running) throw new Error(`the generator exited without a result:\n${text.slice(-3000)}`);
      return null;
    }, { what: "the swarm's result", timeoutMs, intervalMs: SAMPLE_MS, detail: () => readText(logPath) });
    const cpu1 = readCpuSeconds(server.pid);
    await proc.stop(5000);
    const result = JSON.parse(resultText) as GeneratorResult;
    return {
      result,
      server: {
        rssIdleMib,
        rssConnectedMib,
        rssPeakMib,
        rssPerClientKib: result.connected > 0
          ? ((rssConnectedMib - rssIdleMib) * 1024) / result.connected
          : 0,
        cpuSeconds: cpu1 === null ? 0 : cpu1 - cpu0,
        survived: server.running(),
      },
    };
  }

  close(): Promise<void> {
    return this.lab.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
