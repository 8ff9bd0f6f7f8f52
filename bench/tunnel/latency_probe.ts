/**
 * Where a sparse packet's time goes: for each contender, N pings at a fixed
 * interval through the tunnel, with tcpdump on the server namespace's veth
 * and tun device, split per ping into
 *
 *   srv-in   encrypted datagram on veth-s → plaintext request on its tun device
 *   srv-out  plaintext reply on the tun device → encrypted datagram on veth-s
 *   cli-out  request on the client's tun device → encrypted datagram on veth-c
 *   cli-in   encrypted datagram on veth-c → plaintext reply on the client's tun
 *   rest     the ping's RTT minus the four hops (the wire, ping, the kernel)
 *
 * The split needs --hops (four tcpdumps, which slow every hop); without it
 * only the RTT is measured. --reverse pings from the server's namespace to
 * the client's tunnel address instead (the roles of the hops swap).
 *
 * and printed as medians, contenders alternating round by round, like
 * `deno task bench:tunnel` but for latency only. A measurement tool, not a
 * test; needs root. Missing programs (the contenders', and tcpdump for
 * --hops) are installed from Debian as `deno task bench:tunnel` does.
 *
 *   deno run -A --unstable-net bench/tunnel/latency_probe.ts \
 *     [--only openvpn-aes256gcm,tsvpn-udp-aes256gcm] [--rounds 3] [--count 100] [--interval 0.05] [--hops]
 */

import { parseArgs } from "node:util";
import { NetnsLab } from "../../tests/harness/netns.ts";
import {
  type BenchHost,
  CLIENT_UNDERLAY,
  CLIENT_VETH,
  type Contender,
  type RunningTunnel,
  SERVER_UNDERLAY,
  SERVER_VETH,
  UNDERLAY_PREFIX,
} from "./contender.ts";
import { CONTENDERS } from "./contenders/registry.ts";
import { BASE_PROGRAMS, ensurePrograms } from "./packages.ts";
import { type BenchPki, makeBenchPki } from "./pki.ts";
import { median } from "./stats.ts";

function usage(message: string): never {
  console.error(`latency_probe: ${message}`);
  Deno.exit(2);
}

function parseOptions() {
  try {
    const { values } = parseArgs({
      options: {
        only: { type: "string", default: "openvpn-aes256gcm,tsvpn-udp-aes256gcm" },
        rounds: { type: "string", default: "3" },
        count: { type: "string", default: "100" },
        interval: { type: "string", default: "0.05" },
        hops: { type: "boolean", default: false },
        reverse: { type: "boolean", default: false },
      },
    });
    const whole = (v: string, what: string, max: number) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > max) usage(`${what} must be a whole number from 1 to ${max}`);
      return n;
    };
    const interval = Number(values.interval);
    if (!(interval >= 0.01 && interval <= 10)) usage("--interval must be 0.01 to 10 seconds");
    const contenders = values.only!.split(",").map((n) => {
      const c = CONTENDERS.find((x) => x.name === n.trim());
      if (c === undefined) {
        usage(`unknown contender "${n}"; known: ${CONTENDERS.map((x) => x.name).join(", ")}`);
      }
      return c;
    });
    return {
      contenders,
      rounds: whole(values.rounds!, "--rounds", 100),
      count: whole(values.count!, "--count", 1000),
      interval: values.interval!,
      hops: values.hops!,
      reverse: values.reverse!,
    };
  } catch (e) {
    usage((e as Error).message);
  }
}

const values = parseOptions();

interface Hops {
  inHop: number[];
  outHop: number[];
}

/** tcpdump -tt lines → [seconds, rest of line]. */
function stamps(text: string): [number, string][] {
  return text.split("\n").filter((l) => /^\d+\.\d+ /.test(l)).map((l) => {
    const i = l.indexOf(" ");
    return [Number(l.slice(0, i)), l.slice(i + 1)];
  });
}

/**
 * Pairs each echo request/reply seen on a tun device with the datagrams
 * around it on the veth of `self`. `inner` is the ICMP message that arrives
 * through the tunnel there ("request" at the server, "reply" at the client).
 */
function hops(veth: string, tun: string, self: string, inner: "request" | "reply"): Hops {
  const wire = stamps(veth);
  const plain = stamps(tun);
  const incoming = wire.filter(([, l]) => l.includes(`> ${self}.`)).map(([t]) => t);
  const outgoing = wire.filter(([, l]) => l.startsWith(`IP ${self}.`)).map(([t]) => t);
  const requests = new Map<string, number>();
  const replies = new Map<string, number>();
  for (const [t, l] of plain) {
    const m = / ICMP echo (request|reply), id \d+, seq (\d+)/.exec(l);
    if (m === null) continue;
    (m[1] === inner ? requests : replies).set(m[2], t);
  }
  const inHop: number[] = [];
  const outHop: number[] = [];
  for (const [seq, tReq] of requests) {
    const tIn = incoming.filter((t) => t <= tReq).at(-1);
    const tRep = replies.get(seq);
    const tOut = tRep === undefined ? undefined : outgoing.find((t) => t >= tRep);
    if (tIn !== undefined && tReq - tIn < 0.01) inHop.push((tReq - tIn) * 1e6);
    if (tRep !== undefined && tOut !== undefined && tOut - tRep < 0.01) outHop.push((tOut - tRep) * 1e6);
  }
  return { inHop, outHop };
}

function rtts(pingOut: string): number[] {
  return [...pingOut.matchAll(/icmp_seq=\d+ ttl=\d+ time=([\d.]+) ms/g)].map((m) => Number(m[1]) * 1000);
}

async function tunName(lab: NetnsLab, ns: string): Promise<string> {
  const r = await lab.exec(ns, ["ip", "-o", "link"]);
  const m = /^\d+: ((?:tun|tsvpn)\d+)[:@]/m.exec(r.stdout);
  if (m === null) throw new Error(`no tun device in ${ns}`);
  return m[1];
}

interface Probe {
  rtt: number[];
  server: Hops;
  client: Hops;
}

function capture(lab: NetnsLab, ns: string, dev: string, filter: string) {
  return lab.spawn(ns, ["tcpdump", "-tt", "-n", "-l", "-i", dev, filter]);
}

async function tunAddress(lab: NetnsLab, ns: string): Promise<string> {
  const r = await lab.exec(ns, ["ip", "-o", "-4", "addr", "show", "dev", await tunName(lab, ns)]);
  const m = /inet (\d+\.\d+\.\d+\.\d+)/.exec(r.stdout);
  if (m === null) throw new Error(`no IPv4 address on the tun device in ${ns}`);
  return m[1];
}

async function probe(host: BenchHost, tunnel: RunningTunnel): Promise<Probe> {
  const { lab, server, client } = host;
  const caps = !values.hops ? [] : [
    capture(lab, server, SERVER_VETH, "udp"),
    capture(lab, server, await tunName(lab, server), "icmp"),
    capture(lab, client, CLIENT_VETH, "udp"),
    capture(lab, client, await tunName(lab, client), "icmp"),
  ];
  if (values.hops) await new Promise((r) => setTimeout(r, 1500));
  const target = values.reverse ? await tunAddress(lab, client) : tunnel.serverAddress;
  const ping = await lab.exec(values.reverse ? server : client, [
    "ping",
    "-n",
    "-c",
    String(values.count),
    "-i",
    values.interval,
    "-W",
    "1",
    target,
  ], { check: false, timeoutMs: 60_000 });
  await new Promise((r) => setTimeout(r, 500));
  const out: string[] = [];
  for (const c of caps) {
    await c.stop(2000);
    out.push((await c.output()).stdout);
  }
  const none = { inHop: [], outHop: [] };
  return {
    rtt: rtts(ping.stdout),
    server: values.hops ? hops(out[0], out[1], SERVER_UNDERLAY, values.reverse ? "reply" : "request") : none,
    client: values.hops ? hops(out[2], out[3], CLIENT_UNDERLAY, values.reverse ? "request" : "reply") : none,
  };
}

const med = (xs: number[]) => median(xs) ?? NaN;
const col = (x: number, w: number) => x.toFixed(0).padStart(w);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** What to undo if the probe stops now (Ctrl-C, SIGTERM or an error). */
const live: { lab: NetnsLab | null; tunnel: RunningTunnel | null; dirs: string[] } = {
  lab: null,
  tunnel: null,
  dirs: [],
};
async function cleanUp(): Promise<void> {
  await live.tunnel?.stop().catch(() => {});
  await live.lab?.close().catch(() => {});
  for (const d of live.dirs) await Deno.remove(d, { recursive: true }).catch(() => {});
}
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(sig, () => void cleanUp().finally(() => Deno.exit(130)));
}

async function measureOnce(c: Contender, round: number, pki: BenchPki): Promise<void> {
  const lab = live.lab = new NetnsLab({ prefix: "tsvl-" });
  const workDir = await Deno.makeTempDir({ prefix: "tsvpn-latency-" });
  live.dirs.push(workDir);
  try {
    const server = await lab.addNamespace("srv");
    const client = await lab.addNamespace("cli");
    await lab.veth(
      { ns: server, name: SERVER_VETH, address: `${SERVER_UNDERLAY}/${UNDERLAY_PREFIX}` },
      { ns: client, name: CLIENT_VETH, address: `${CLIENT_UNDERLAY}/${UNDERLAY_PREFIX}` },
    );
    const host: BenchHost = { lab, server, client, workDir, pki, id: lab.id };
    const tunnel = live.tunnel = await c.setup(host);
    await new Promise((r) => setTimeout(r, 2000));
    const s = await probe(host, tunnel);
    const h = [med(s.server.inHop), med(s.server.outHop), med(s.client.outHop), med(s.client.inHop)];
    const rest = med(s.rtt) - h.reduce((a, b) => a + b, 0);
    console.log(
      `${c.name.padEnd(30)} ${col(round, 5)}  ${col(med(s.rtt), 10)}  ${col(mean(s.rtt), 11)}  ${
        col(h[0], 6)
      }  ${col(h[1], 7)}  ${col(h[2], 7)}  ${col(h[3], 6)}  ${col(rest, 4)}`,
    );
  } finally {
    await live.tunnel?.stop().catch(() => {});
    live.tunnel = null;
    await lab.close().catch(() => {});
    live.lab = null;
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
}

try {
  const programs = [...BASE_PROGRAMS, ...values.contenders.flatMap((c) => c.programs)];
  await ensurePrograms(values.hops ? [...programs, "tcpdump"] : programs, true, (l) => console.error(l));
} catch (e) {
  usage((e as Error).message);
}

const pkiDir = await Deno.makeTempDir({ prefix: "tsvpn-latency-pki-" });
live.dirs.push(pkiDir);
try {
  const pki = await makeBenchPki(pkiDir, SERVER_UNDERLAY);
  console.log(
    "contender                      round  rtt-med µs  rtt-mean µs  srv-in  srv-out  cli-out  cli-in  rest",
  );
  for (let round = 1; round <= values.rounds; round++) {
    for (const c of values.contenders) await measureOnce(c, round, pki);
  }
} finally {
  await cleanUp();
}
