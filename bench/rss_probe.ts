/**
 * Resident memory of the tsvpn server with one real client, as the tunnel
 * bench sees it: server and client in two fresh namespaces (bench/tunnel
 * contenders), ping + iperf3 TCP up, TCP down and UDP through the tunnel
 * (bench/tunnel/measure.ts), then VmHWM (the bench's "peak RSS") and VmRSS
 * from /proc/PID/status of the server process.
 *
 *   deno run -A --unstable-net bench/rss_probe.ts [--client tsvpn|openvpn] [--proto udp|tcp]
 *       [--duration SECONDS] [--runs N] [--v8-flags=--a,--b] [--deno-flags=--a,--b] [--server-entry FILE]
 *       [--launcher=env,VAR=value]
 *
 * `--v8-flags` replaces the flags of both tsvpn processes (default: the
 * shipped ones, TSVPN_V8_FLAGS); `--v8-flags=` runs without any.
 * `--deno-flags` adds `deno run` flags (e.g. --no-code-cache) to both.
 * `--launcher` puts words before the deno executable (env VAR=value).
 * `--server-entry FILE` runs the server from another entry script (one that
 * wraps main.ts to log memory, say). Prints one JSON line per run and a
 * summary line. Needs root.
 */

import { parseArgs } from "node:util";
import { NetnsLab, requireRoot } from "../tests/harness/netns.ts";
import {
  type BenchHost,
  CLIENT_UNDERLAY,
  CLIENT_VETH,
  SERVER_UNDERLAY,
  SERVER_VETH,
  UNDERLAY_PREFIX,
} from "./tunnel/contender.ts";
import { TSVPN_V8_FLAGS, tsvpnContender } from "./tunnel/contenders/tsvpn.ts";
import { measure } from "./tunnel/measure.ts";
import { makeBenchPki } from "./tunnel/pki.ts";

interface ProbeResult {
  run: number;
  /** VmRSS of the server once the tunnel answers a ping, before any load. */
  serverRssIdleMib: number | null;
  /** VmHWM after the load: the figure the tunnel bench reports. */
  serverPeakMib: number | null;
  serverRssAfterMib: number | null;
  clientPeakMib: number | null;
  tcpUpMbps: number | null;
  tcpDownMbps: number | null;
  udpKpps: number | null;
  errors: string[];
}

function statusKib(pid: number, field: "VmHWM" | "VmRSS"): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, "m").exec(
      Deno.readTextFileSync(`/proc/${pid}/status`),
    );
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

function mib(kib: number | null): number | null {
  return kib === null ? null : Math.round(kib / 102.4) / 10;
}

async function probeOnce(
  run: number,
  workRoot: string,
  o: {
    client: "tsvpn" | "openvpn";
    proto: "udp" | "tcp";
    duration: number;
    v8Flags: readonly string[];
    denoFlags: readonly string[];
    serverEntry?: string;
    launcher: readonly string[];
  },
): Promise<ProbeResult> {
  const pki = await makeBenchPki(`${workRoot}/pki-${run}`, SERVER_UNDERLAY);
  await using lab = new NetnsLab({ prefix: "tsvr-" });
  const server = await lab.addNamespace("srv");
  const client = await lab.addNamespace("cli");
  await lab.veth(
    { ns: server, name: SERVER_VETH, address: `${SERVER_UNDERLAY}/${UNDERLAY_PREFIX}` },
    { ns: client, name: CLIENT_VETH, address: `${CLIENT_UNDERLAY}/${UNDERLAY_PREFIX}` },
  );
  const workDir = `${workRoot}/run-${run}`;
  await Deno.mkdir(workDir, { recursive: true });
  const host: BenchHost = { lab, server, client, workDir, pki, id: lab.id };
  const contender = tsvpnContender(
    "rss-probe",
    {
      proto: o.proto,
      cipher: "AES-256-GCM",
      v8Flags: o.v8Flags,
      denoFlags: o.denoFlags,
      serverEntry: o.serverEntry,
      launcher: o.launcher,
    },
    o.client,
  );
  const tunnel = await contender.setup(host);
  try {
    const serverPid = tunnel.processes.find((p) => p.role === "server")!.pid;
    const clientPid = tunnel.processes.find((p) => p.role === "client")!.pid;
    const serverRssIdleMib = mib(statusKib(serverPid, "VmRSS"));
    const sample = await measure(host, tunnel, run, o.duration);
    return {
      run,
      serverRssIdleMib,
      serverPeakMib: mib(statusKib(serverPid, "VmHWM")),
      serverRssAfterMib: mib(statusKib(serverPid, "VmRSS")),
      clientPeakMib: mib(statusKib(clientPid, "VmHWM")),
      tcpUpMbps: sample.tcpUpMbps === null ? null : Math.round(sample.tcpUpMbps),
      tcpDownMbps: sample.tcpDownMbps === null ? null : Math.round(sample.tcpDownMbps),
      udpKpps: sample.udpKpps === null ? null : Math.round(sample.udpKpps),
      errors: sample.errors,
    };
  } finally {
    await tunnel.stop();
  }
}

async function main(): Promise<void> {
  const root = requireRoot();
  if (root.ignore) throw new Error(`rss_probe ${root.reason}`);
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      client: { type: "string", default: "tsvpn" },
      proto: { type: "string", default: "udp" },
      duration: { type: "string", default: "3" },
      runs: { type: "string", default: "1" },
      "v8-flags": { type: "string" },
      "server-entry": { type: "string" },
      "deno-flags": { type: "string" },
      launcher: { type: "string" },
    },
  });
  const clientKind = values.client === "openvpn" ? "openvpn" : "tsvpn";
  const proto = values.proto === "tcp" ? "tcp" : "udp";
  const duration = Math.max(1, Math.min(60, Number(values.duration) || 3));
  const runs = Math.max(1, Math.min(20, Number(values.runs) || 1));
  const v8Flags = values["v8-flags"] === undefined
    ? TSVPN_V8_FLAGS
    : values["v8-flags"].split(",").filter((f) => f !== "");
  const workRoot = await Deno.makeTempDir({ prefix: "tsvpn-rss-" });
  const results: ProbeResult[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      const r = await probeOnce(run, workRoot, {
        client: clientKind,
        proto,
        duration,
        v8Flags,
        denoFlags: (values["deno-flags"] ?? "").split(",").filter((f) => f !== ""),
        serverEntry: values["server-entry"],
        launcher: (values.launcher ?? "").split(",").filter((f) => f !== ""),
      });
      console.log(JSON.stringify(r));
      results.push(r);
    }
  } finally {
    await Deno.remove(workRoot, { recursive: true }).catch(() => {});
  }
  const peaks = results.map((r) => r.serverPeakMib).filter((v): v is number => v !== null);
  console.log(JSON.stringify({
    client: clientKind,
    proto,
    duration,
    v8Flags,
    denoFlags: values["deno-flags"] ?? "",
    launcher: values.launcher ?? "",
    serverPeakMib: { min: Math.min(...peaks), max: Math.max(...peaks) },
  }));
}

if (import.meta.main) await main();
