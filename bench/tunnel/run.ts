/**
 * `deno task bench:tunnel`: the side-by-side tunnel benchmark (root only).
 *
 * Each measurement gets two fresh namespaces joined by a veth pair (see
 * contender.ts), one contender's tunnel, iperf3/ping traffic between them,
 * then everything is torn down. Contenders alternate within each round
 * (A B C, A B C, ...) so slow drifts of the machine hit all of them alike;
 * the table shows medians over rounds. Cleanup runs on every exit path,
 * SIGINT and SIGTERM included. A benchmark, not a test: CI does not run it.
 */

import { NetnsLab } from "../../tests/harness/netns.ts";
import {
  type BenchHost,
  CLIENT_UNDERLAY,
  CLIENT_VETH,
  type Contender,
  ContenderUnavailable,
  type RunningTunnel,
  SERVER_UNDERLAY,
  SERVER_VETH,
  UNDERLAY_PREFIX,
} from "./contender.ts";
import { CONTENDERS, OPENVPN_REFERENCE, WIREGUARD_REFERENCE } from "./contenders/registry.ts";
import { failedSample, measure, PING_COUNT, PING_INTERVAL, UDP_PAYLOAD, waitForQuiet } from "./measure.ts";
import { BENCH_USAGE, type BenchOptions, parseBenchArgs, QUIET_IDLE, UsageError } from "./options.ts";
import { BASE_PROGRAMS, ensurePrograms } from "./packages.ts";
import { type BenchPki, makeBenchPki } from "./pki.ts";
import { type ContenderResult, summarize } from "./summary.ts";
import { formatResults } from "./table.ts";
import { median } from "./stats.ts";

const log = (line: string) => console.error(line);

/** What must be undone if the run stops now; the signal handler and `finally` share it. */
class Cleanup {
  lab: NetnsLab | null = null;
  tunnel: RunningTunnel | null = null;
  workDir: string | null = null;
  #running: Promise<void> | null = null;

  /** Undoes everything once; later calls return the same promise, so every caller can await the end. */
  run(): Promise<void> {
    this.#running ??= (async () => {
      await this.tunnel?.stop().catch(() => {});
      await this.lab?.close().catch(() => {});
      if (this.workDir !== null) await Deno.remove(this.workDir, { recursive: true }).catch(() => {});
    })();
    return this.#running;
  }
}

async function newHost(workRoot: string, pki: BenchPki, cleanup: Cleanup, tag: string): Promise<BenchHost> {
  const lab = new NetnsLab({ prefix: "tsvb-" });
  cleanup.lab = lab;
  const server = await lab.addNamespace("srv");
  const client = await lab.addNamespace("cli");
  await lab.veth(
    { ns: server, name: SERVER_VETH, address: `${SERVER_UNDERLAY}/${UNDERLAY_PREFIX}` },
    { ns: client, name: CLIENT_VETH, address: `${CLIENT_UNDERLAY}/${UNDERLAY_PREFIX}` },
  );
  const workDir = `${workRoot}/${tag}-${lab.id}`;
  await Deno.mkdir(workDir, { recursive: true });
  return { lab, server, client, workDir, pki, id: lab.id };
}

async function firstLine(argv: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped", stderr: "piped" })
      .output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return text.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "";
  } catch {
    return "";
  }
}

async function environment(contenders: readonly Contender[]): Promise<Record<string, string>> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const env: Record<string, string> = {
    kernel: Deno.osRelease(),
    cpu: /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown",
    cpus: String(navigator.hardwareConcurrency),
    deno: Deno.version.deno,
    iperf3: await firstLine(["iperf3", "--version"]),
  };
  const programs = new Set(contenders.flatMap((c) => c.programs));
  if (programs.has("openvpn")) env.openvpn = await firstLine(["openvpn", "--version"]);
  if (programs.has("wireguard-go")) env.wireguardGo = await firstLine(["wireguard-go", "--version"]);
  return env;
}

function defaultOutPath(now: Date): string {
  const stamp = now.toISOString().replace(/\.\d+Z$/, "Z").replace(/:/g, "-");
  return new URL(`./results-${stamp}.json`, import.meta.url).pathname;
}

async function runRounds(
  options: BenchOptions,
  contenders: readonly Contender[],
  pki: BenchPki,
  workRoot: string,
  cleanup: Cleanup,
): Promise<ContenderResult[]> {
  const results: ContenderResult[] = contenders.map((c) => ({
    name: c.name,
    kind: c.kind,
    description: c.description,
    status: "ok",
    reason: null,
    notes: {},
    samples: [],
  }));
  for (let round = 1; round <= options.rounds; round++) {
    for (let i = 0; i < contenders.length; i++) {
      const c = contenders[i];
      const result = results[i];
      if (result.status === "unavailable") continue;
      const idleBefore = await waitForQuiet(options.settle, QUIET_IDLE);
      const t0 = Date.now();
      const host = await newHost(workRoot, pki, cleanup, `${c.name}-r${round}`);
      try {
        let tunnel: RunningTunnel;
        try {
          tunnel = await c.setup(host);
        } catch (err) {
          const reason = (err as Error).message.split("\n")[0];
          const why = err instanceof ContenderUnavailable ? reason : `setup error: ${reason}`;
          if (result.samples.length === 0) {
            // Never came up: report it and stop trying (each try costs its start-up timeout).
            result.status = "unavailable";
            result.reason = why;
            log(`bench: round ${round}/${options.rounds} ${c.name}: unavailable: ${why}`);
          } else {
            result.samples.push(failedSample(round, why));
            log(`bench: round ${round}/${options.rounds} ${c.name}: setup failed: ${why}`);
          }
          continue;
        }
        cleanup.tunnel = tunnel;
        Object.assign(result.notes, tunnel.notes);
        const sample = await measure(host, tunnel, round, options.duration, idleBefore);
        result.samples.push(sample);
        await tunnel.stop();
        cleanup.tunnel = null;
        const f = (v: number | null, d: number) => v === null ? "–" : v.toFixed(d);
        log(
          `bench: round ${round}/${options.rounds} ${c.name}: TCP up ${f(sample.tcpUpMbps, 0)} down ${
            f(sample.tcpDownMbps, 0)
          } Mbit/s, UDP-64 ${f(sample.udpKpps, 1)} kpps, RTT ${f(sample.rttMs, 3)} ms, CPU ${
            f(sample.cpuTcpSeconds, 1)
          } s, load ${f(sample.loadAvg1, 1)}, idle before ${
            sample.idleBefore === null ? "–" : `${(sample.idleBefore * 100).toFixed(0)}%`
          } (${((Date.now() - t0) / 1000).toFixed(0)} s)${
            sample.errors.length ? `; errors: ${sample.errors.join("; ")}` : ""
          }`,
        );
      } finally {
        await cleanup.tunnel?.stop();
        cleanup.tunnel = null;
        await host.lab.close();
        cleanup.lab = null;
      }
    }
  }
  return results;
}

async function main(argv: string[]): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(argv, CONTENDERS.map((c) => c.name));
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`bench:tunnel: ${err.message}`);
      return 2;
    }
    throw err;
  }
  if (options.help) {
    console.log(BENCH_USAGE);
    return 0;
  }
  if (Deno.uid() !== 0) {
    console.error("bench:tunnel: needs root (network namespaces, tun devices); run it with sudo");
    return 2;
  }
  const contenders = options.only.map((n) => CONTENDERS.find((c) => c.name === n)!);
  const programs = [...new Set([...BASE_PROGRAMS, ...contenders.flatMap((c) => c.programs)])];
  await ensurePrograms(programs, options.install, log);

  const cleanup = new Cleanup();
  // Set by a signal: the run is being torn down under its feet, so its errors are expected.
  let signalExit: number | null = null;
  const onSignal = (signal: Deno.Signal, code: number) => () => {
    if (signalExit !== null) return;
    signalExit = code;
    log(`bench: ${signal}: cleaning up`);
    cleanup.run().finally(() => Deno.exit(code));
  };
  const handlers: [Deno.Signal, () => void][] = [
    ["SIGINT", onSignal("SIGINT", 130)],
    ["SIGTERM", onSignal("SIGTERM", 143)],
  ];
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);
  try {
    const started = new Date();
    const workRoot = await Deno.makeTempDir({ prefix: "tsvpn-bench-" });
    cleanup.workDir = workRoot;
    const pki = await makeBenchPki(`${workRoot}/pki`, SERVER_UNDERLAY);
    log(
      `bench: ${contenders.length} contenders x ${options.rounds} rounds, ${options.duration} s per iperf3 test` +
        ` (about ${Math.ceil(contenders.length * options.rounds * (3 * options.duration + 8) / 60)} min)`,
    );
    const env = await environment(contenders);
    const results = await runRounds(options, contenders, pki, workRoot, cleanup);
    const summaries = summarize(results, OPENVPN_REFERENCE, WIREGUARD_REFERENCE);
    const outPath = options.out ?? defaultOutPath(started);
    const report = {
      benchmark: "tsvpn tunnel side-by-side",
      command: `deno task bench:tunnel${argv.length ? " " + argv.join(" ") : ""}`,
      started: started.toISOString(),
      finished: new Date().toISOString(),
      environment: env,
      method: {
        rounds: options.rounds,
        durationSeconds: options.duration,
        settle: `before each measurement, waited up to ${options.settle} s for one second with >= ${
          QUIET_IDLE * 100
        }% host CPU idle (idleBefore in each sample)`,
        order: "alternating: every contender once per round, in the listed order",
        tcp: "iperf3 -J, one stream, client->server (up) then -R (down), receiver-side bits/s",
        udp: `iperf3 -J -u -l ${UDP_PAYLOAD} -b 0, datagrams delivered per second (receiver-side)`,
        ping: `ping -c ${PING_COUNT} -i ${PING_INTERVAL}, average RTT; added = tunnel - underlay`,
        cpu: "utime+stime of the VPN processes (/proc/PID/stat) over both TCP tests",
        underlay: "bytes on the veth pair (rx+tx, client end) during the TCP tests / TCP payload received",
        rss: "VmHWM of each VPN process (/proc/PID/status) at the end of the measurement",
        references: { openvpn: OPENVPN_REFERENCE, wireguard: WIREGUARD_REFERENCE },
      },
      contenders: results.map((r) => ({ ...r, summary: summaries.find((s) => s.name === r.name) })),
    };
    await Deno.writeTextFile(outPath, JSON.stringify(report, null, 2) + "\n");
    console.log(formatResults(summaries));
    const loads = results.flatMap((r) => r.samples.map((s) => s.loadAvg1)).filter((v) => v !== null);
    if (loads.length > 0) {
      console.log(
        `\nHost 1-min load average at measurement starts: median ${median(loads)?.toFixed(1)}, max ${
          Math.max(...loads).toFixed(1)
        } on ${env.cpus} CPUs (other work on the host lowers every row).`,
      );
    }
    const idles = results.flatMap((r) => r.samples.map((s) => s.idleBefore)).filter((v) => v !== null);
    if (idles.length > 0) {
      console.log(
        `Host CPU idle in the second before each measurement: median ${
          (100 * (median(idles) ?? 0)).toFixed(0)
        }%, min ${(100 * Math.min(...idles)).toFixed(0)}%.`,
      );
    }
    console.log(`\nJSON: ${outPath}`);
    return 0;
  } catch (err) {
    if (signalExit !== null) {
      await cleanup.run();
      Deno.exit(signalExit);
    }
    throw err;
  } finally {
    await cleanup.run();
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
