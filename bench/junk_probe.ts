/**
 * What a junk datagram costs the real server process (root; network
 * namespaces on the e2e switch, tests/e2e/support/lab.ts):
 *
 *   deno run -A --unstable-net bench/junk_probe.ts [--count N] [--rate R] [--runs K]
 *       [--perf FILE] [--cpu-prof DIR]
 *
 * A tsvpn server (tls-crypt, as in tests/e2e/faults_test.ts) in "srv" at
 * 172.31.0.1:1194; "mallory" sends N random datagrams at up to R per second
 * (tests/e2e/support/stranger_flood.ts udp-junk), K times. Per run, one JSON
 * line: the server's CPU time over the flood (/proc/PID/stat) divided by the
 * datagrams that reached its socket (sent minus the kernel's RcvbufErrors),
 * the generator's rate and CPU, and the server's drop counters.
 * --perf FILE: `perf record -g` of the server over the last run, with V8's
 * perf map (--perf-basic-prof) so JS frames have names; read it with
 * `perf report -i FILE --no-children --sort symbol`.
 * --perf-stat EVENTS: `perf stat -e EVENTS` of the server over each run
 * (e.g. task-clock,context-switches,syscalls:sys_enter_recvmmsg,syscalls:sys_enter_poll).
 * --cpu-prof DIR: the server runs with Deno's --cpu-prof (written at exit).
 */

import { parseArgs } from "node:util";
import { cpuSeconds, udpCounters } from "../tests/e2e/support/host_probes.ts";
import { MAIN, ROOT, serverYaml } from "../tests/e2e/support/lab.ts";
import { statusJson } from "../tests/e2e/support/management.ts";
import { withPair } from "../tests/e2e/support/pair.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    count: { type: "string", default: "500000" },
    rate: { type: "string", default: "100000" },
    runs: { type: "string", default: "3" },
    perf: { type: "string" },
    "perf-stat": { type: "string" },
    "cpu-prof": { type: "string" },
  },
});
const COUNT = Number(args.values.count);
const RATE = Number(args.values.rate);
const RUNS = Number(args.values.runs);
const MGMT = "127.0.0.1:7505";
const FLOOD = `${ROOT}tests/e2e/support/stranger_flood.ts`;

await withPair(async (r) => {
  const yaml = serverYaml({
    pki: { ca: r.pki.ca, cert: r.pki.cert, key: r.pki.key, tlsCrypt: r.pki.tlsCrypt },
    server: "  network: 10.8.0.0/24",
    extra: [`management: { listen: "${MGMT}" }`],
  });
  const config = `${r.lab.dir}/server.yaml`;
  await Deno.writeTextFile(config, yaml);
  const flags = ["-A", "--unstable-net"];
  if (args.values.perf) {
    flags.push("--v8-flags=--perf-basic-prof,--no-logfile-per-isolate,--logfile=/dev/null");
  }
  if (args.values["cpu-prof"]) flags.push("--cpu-prof", `--cpu-prof-dir=${args.values["cpu-prof"]}`);
  const server = r.lab.spawnLogged(r.srv, "server", [
    Deno.execPath(),
    "run",
    ...flags,
    MAIN,
    "--server",
    "--config",
    config,
  ]);
  await server.waitFor(/server started/, 20_000);
  const mallory = await r.lab.host("mallory", "172.31.0.50/24");
  const pid = server.proc.pid;
  for (let run = 1; run <= RUNS; run++) {
    const perf = run === RUNS && args.values.perf
      ? new Deno.Command("perf", {
        args: [
          "record",
          ...(Deno.env.get("JUNK_PERF_CALLGRAPH")
            ? ["--call-graph", Deno.env.get("JUNK_PERF_CALLGRAPH")!]
            : ["-g"]),
          "-F",
          "1999",
          "-p",
          `${pid}`,
          "-o",
          args.values.perf,
        ],
        stdout: "null",
        stderr: "null",
      }).spawn()
      : null;
    const stat = args.values["perf-stat"]
      ? new Deno.Command("perf", {
        args: ["stat", "-x", ",", "-e", args.values["perf-stat"], "-p", `${pid}`],
        stdout: "null",
        stderr: "piped",
      }).spawn()
      : null;
    const udpBefore = await udpCounters(r.lab, r.srv);
    const cpu0 = cpuSeconds(pid);
    const flood = await r.lab.lab.runDeno(mallory, FLOOD, [
      "udp-junk",
      "172.31.0.1",
      "1194",
      `${COUNT}`,
      `${RATE}`,
    ], {
      timeoutMs: 120_000,
    });
    // The last datagrams may still sit in the socket's queue: let the server drain them.
    await new Promise((res) => setTimeout(res, 300));
    const cpu = cpuSeconds(pid) - cpu0;
    const udpAfter = await udpCounters(r.lab, r.srv);
    if (perf) {
      perf.kill("SIGINT");
      await perf.status;
    }
    let perfStat: Record<string, number> | undefined;
    if (stat) {
      stat.kill("SIGINT");
      const lines = new TextDecoder().decode((await stat.output()).stderr).trim().split("\n");
      perfStat = Object.fromEntries(lines.map((l) => l.split(",")).map((f) => [f[2], Number(f[0])]));
    }
    const junk = JSON.parse(flood.stdout.trim().split("\n").pop()!);
    const lost = udpAfter.RcvbufErrors - udpBefore.RcvbufErrors;
    const snapshot = await statusJson(r.lab, r.srv, MGMT);
    console.log(JSON.stringify({
      run,
      junk,
      serverCpuS: +cpu.toFixed(2),
      kernelRcvbufErrors: lost,
      usPerDatagram: +(cpu * 1e6 / (junk.sent - lost)).toFixed(2),
      perfStat,
      drops: snapshot.drops,
    }));
  }
  await server.stop();
});
