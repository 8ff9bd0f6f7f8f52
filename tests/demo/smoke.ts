/**
 * Smoke demo of tsvpn's OS layer (run as root on Linux with iproute2 and
 * iputils-ping installed):
 *
 *     deno run -A --unstable-net tests/demo/smoke.ts
 *
 * It creates a throwaway network namespace, and inside it a tun device
 * configured only through tsvpn's rtnetlink code (link up, MTU, address, a
 * route). It then pings an address on the device's subnet and one behind
 * the route; this script reads each echo request from the device and writes
 * the echo reply back. It prints what it proved and removes everything, also
 * on failure. Nothing outside the namespace is touched.
 * Exit code: 0 when every ping was answered, 1 otherwise, 2 when it cannot run.
 */

import { openNetlink } from "../../ffi/netlink.ts";
import { openTun } from "../../ffi/tun.ts";
import { echoReplyInPlace } from "../harness/echo.ts";
import { NetnsLab, parseLastJson, requireRoot } from "../harness/netns.ts";

const DEVICE = "tsvsmoke0";
const ADDRESS = "10.77.0.1";
const PREFIX = 24;
const ROUTE = "10.78.0.0/24";
const TARGETS = ["10.77.0.2", "10.78.0.5"];
const MTU = 1420;
const COUNT = 3;

interface PingResult {
  target: string;
  code: number;
  transmitted: number;
  received: number;
  rttAvgMs: number | null;
}

interface Report {
  device: string;
  kind: string;
  index: number;
  mtu: number;
  up: boolean;
  addresses: string[];
  route: string;
  pings: PingResult[];
  read: number;
  written: number;
  goneAfterClose: boolean;
}

/** Inside the namespace: configure the device, answer pings, report as JSON. */
async function inside(): Promise<Report> {
  using nl = openNetlink();
  const dev = openTun({ kind: "tun", name: DEVICE });
  let read = 0;
  let written = 0;
  const pings: PingResult[] = [];
  try {
    await nl.setLinkUp(DEVICE, true);
    await nl.setMtu(DEVICE, MTU);
    await nl.addAddress({ dev: DEVICE, address: ADDRESS, prefixLen: PREFIX });
    await nl.addRoute({ dst: ROUTE, dev: DEVICE, metric: 10 });
    const link = await nl.linkByName(DEVICE);
    const addresses = (await nl.listAddresses(DEVICE)).filter((a) => a.address.includes("."))
      .map((a) => `${a.address}/${a.prefixLen}`);
    const route = (await nl.listRoutes(4)).find((r) => r.dst === ROUTE);

    let pinging = true;
    const pingAll = (async () => {
      try {
        for (const target of TARGETS) pings.push(await ping(target));
      } finally {
        pinging = false;
      }
    })();
    const OFF = 0;
    const bufs = Array.from({ length: 16 }, () => new Uint8Array(2048));
    const sizes = new Int32Array(bufs.length);
    const deadline = Date.now() + 20_000;
    while (pinging && Date.now() < deadline) {
      const n = await Promise.race([dev.readBatch(bufs, sizes, OFF), pingAll.then(() => 0)]);
      read += n;
      for (let i = 0; i < n; i++) {
        if (echoReplyInPlace(bufs[i], OFF, sizes[i]) && dev.write(bufs[i], OFF, sizes[i])) written++;
      }
    }
    await pingAll;
    dev.close();
    const gone = await new Deno.Command("ip", {
      args: ["link", "show", DEVICE],
      stderr: "null",
      stdout: "null",
    })
      .output();
    return {
      device: dev.name,
      kind: dev.kind,
      index: link.index,
      mtu: link.mtu,
      up: link.up,
      addresses,
      route: route ? `${route.dst} dev ${route.dev} metric ${route.metric}` : "(missing)",
      pings,
      read,
      written,
      goneAfterClose: gone.code !== 0,
    };
  } finally {
    dev.close();
  }
}

async function ping(target: string): Promise<PingResult> {
  const out = await new Deno.Command("ping", {
    args: ["-4", "-n", "-c", String(COUNT), "-i", "0.2", "-W", "2", target],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const counts = text.match(/(\d+) packets transmitted, (\d+) received/);
  const rtt = text.match(/= [\d.]+\/([\d.]+)\//);
  return {
    target,
    code: out.code,
    transmitted: counts ? Number(counts[1]) : 0,
    received: counts ? Number(counts[2]) : 0,
    rttAvgMs: rtt ? Number(rtt[1]) : null,
  };
}

function table(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join("\n");
}

async function main(): Promise<number> {
  if (Deno.args[0] === "--inside") {
    console.log(JSON.stringify(await inside()));
    return 0;
  }
  const root = requireRoot();
  if (root.ignore) {
    console.error(`smoke: cannot run: ${root.reason}`);
    return 2;
  }
  for (const tool of ["ip", "ping"]) {
    const found = await new Deno.Command("sh", { args: ["-c", `command -v ${tool}`], stdout: "null" })
      .output();
    if (found.code !== 0) {
      console.error(`smoke: cannot run: "${tool}" is not installed (apt-get install iproute2 iputils-ping)`);
      return 2;
    }
  }
  let ns = "";
  let report: Report;
  {
    await using lab = new NetnsLab();
    ns = await lab.addNamespace("smoke");
    const script = new URL(import.meta.url).pathname;
    const out = await lab.runDeno(ns, script, ["--inside"], { check: false, timeoutMs: 60_000 });
    if (out.code !== 0) {
      console.error(`smoke: the namespace side failed (exit ${out.code}):\n${out.stderr.trim()}`);
      return 1;
    }
    report = parseLastJson<Report>(out.stdout);
  }
  const left = await new Deno.Command("ip", { args: ["netns", "list"], stdout: "piped" }).output();
  const removed = !new TextDecoder().decode(left.stdout).includes(ns);
  const ok = report.pings.every((p) => p.code === 0 && p.received === p.transmitted && p.transmitted > 0) &&
    report.written >= TARGETS.length * COUNT && report.goneAfterClose && removed;
  const rows: [string, string][] = [
    ["namespace", `${ns} (${removed ? "removed" : "STILL PRESENT"})`],
    [
      "device",
      `${report.device} (${report.kind}, ifindex ${report.index}, mtu ${report.mtu}, ${
        report.up ? "up" : "down"
      })`,
    ],
    ["address", `${report.addresses.join(", ")} (set through rtnetlink)`],
    ["route", `${report.route} (set through rtnetlink)`],
    ...report.pings.map((p): [string, string] => [
      `ping ${p.target}`,
      `${p.received}/${p.transmitted} replies${p.rttAvgMs === null ? "" : `, avg rtt ${p.rttAvgMs} ms`}`,
    ]),
    ["packets", `${report.read} read from the device, ${report.written} echo replies written to it`],
    ["after close", report.goneAfterClose ? "device removed" : "DEVICE STILL PRESENT"],
    ["result", ok ? "OK" : "FAILED"],
  ];
  console.log(`tsvpn OS-layer smoke test\n${table(rows)}`);
  return ok ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
