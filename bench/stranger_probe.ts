/**
 * Figures for the reset cookie and the per-source buckets, measured on a
 * ControlListener in memory (no sockets, injected clock; no root):
 *
 *   deno run -A --unstable-net --v8-flags=--expose-gc bench/stranger_probe.ts [--sources N] [--tcp N]
 *
 * 1. Per wrap mode, what one never-answering hard reset costs: bytes received,
 *    bytes and packets sent back, sessions and timers left — with the
 *    stateless answer (default) and with `resetCookies: false` (the old
 *    stateful path: a session that retransmits its reset for a handshake window).
 * 2. Heap for N resets from N distinct (spoofed) sources, both ways (the
 *    stateful path holds at most maxSessions, 4096, evicting unanswered ones).
 * 3. With --tcp N: resident memory and heap of a TcpServerSocket holding N
 *    silent connections from 127.0.0.1 (loopback only; the per-source cap
 *    raised to N for the measurement).
 * Prints one JSON line per measurement.
 */

import { parseArgs } from "node:util";
import { encodeControlPacket } from "../src/control/control_packet.ts";
import { type ControlWrapConfig, createControlWrap } from "../src/control/control_wrap.ts";
import { ControlListener } from "../src/control/listener.ts";
import { P_CONTROL_HARD_RESET_CLIENT_V2 } from "../src/control/opcode.ts";
import { ManualClock } from "../src/testing/control/clock.ts";
import { createTestPki } from "../src/testing/control/pki.ts";
import { pkiVerifier } from "../src/control/verifier.ts";
import { TcpServerSocket } from "../src/server/tcp_socket.ts";

const args = parseArgs({
  args: Deno.args,
  options: { sources: { type: "string", default: "100000" }, tcp: { type: "string", default: "0" } },
});
const sources = Number(args.values.sources);
const key = Uint8Array.from({ length: 256 }, (_, i) => (i * 13 + 1) & 0xff);
const WRAPS: Record<string, ControlWrapConfig> = {
  none: { mode: "none" },
  "tls-auth SHA1": { mode: "tls-auth", key, digest: "SHA1", direction: 0 },
  "tls-crypt": { mode: "tls-crypt", key },
};
const pki = await createTestPki();
const gc = (globalThis as { gc?: () => void }).gc;

function listener(clock: ManualClock, wrap: ControlWrapConfig, cookies: boolean): ControlListener {
  return new ControlListener({
    credentials: pki.server,
    verifyPeer: pkiVerifier({ ca: pki.caPem, usage: "clientAuth" }),
    wrap,
    clock,
    resetCookies: cookies,
    // Let every reset through: the buckets are not what is measured here.
    handshakeRate: 1e9,
    handshakeBurst: 1e9,
    resetReplyRate: 1e9,
    resetReplyBurst: 1e9,
  });
}

function reset(wrap: ControlWrapConfig, n: number): Uint8Array {
  const plain = new Uint8Array(64);
  const sid = Uint8Array.of(1, n >>> 24, n >>> 16, n >>> 8, n, 6, 7, 8);
  const len = encodeControlPacket(plain, 0, P_CONTROL_HARD_RESET_CLIENT_V2, 0, sid, [], 0, sid, 0, null);
  const cw = createControlWrap(wrap.mode === "tls-auth" ? { ...wrap, direction: 1 } : wrap, "client");
  const out = new Uint8Array(256);
  return out.slice(0, cw.wrap(plain, len, 1, 1, out));
}

function heapMiB(): number {
  gc?.();
  return Deno.memoryUsage().heapUsed / 2 ** 20;
}

for (const [mode, wrap] of Object.entries(WRAPS)) {
  for (const cookies of [true, false]) {
    const clock = new ManualClock();
    const l = listener(clock, wrap, cookies);
    const packet = reset(wrap, 1);
    let sent = 0, sentBytes = 0;
    l.handlePacket("udp", "198.51.100.1:1", "198.51.100.1:1", (p) => {
      sent++;
      sentBytes += p.length;
    }, packet);
    await clock.advance(0);
    const after = { sessions: l.sessionCount, timers: clock.pending };
    await clock.advance(60_000);
    console.log(JSON.stringify({
      measure: "one never-answering reset, 60 s",
      wrap: mode,
      path: cookies ? "stateless answer" : "stateful (resetCookies: false)",
      receivedBytes: packet.length,
      sentPackets: sent,
      sentBytes,
      amplification: +(sentBytes / packet.length).toFixed(2),
      sessionsAfter: after.sessions,
      timersAfter: after.timers,
    }));
    l.close();
  }
}

for (const cookies of [true, false]) {
  const clock = new ManualClock();
  const l = listener(clock, WRAPS.none, cookies);
  const packets = Array.from({ length: 256 }, (_, i) => reset(WRAPS.none, i));
  const before = heapMiB();
  const t0 = performance.now();
  for (let i = 0; i < sources; i++) {
    const from = `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}:${1024 + (i % 50000)}`;
    l.handlePacket("udp", from, from, () => {}, packets[i & 255]);
  }
  const ms = performance.now() - t0;
  await clock.advance(0);
  const after = heapMiB();
  console.log(JSON.stringify({
    measure: `${sources} resets from distinct spoofed sources`,
    path: cookies ? "stateless answer" : "stateful (resetCookies: false)",
    heapDeltaMiB: +(after - before).toFixed(1),
    sessions: l.sessionCount,
    trackedSources: l.trackedSources,
    timers: clock.pending,
    usPerReset: +(ms * 1000 / sources).toFixed(1),
    gc: gc !== undefined,
  }));
  l.close();
}
async function silentTcp(n: number): Promise<void> {
  const sock = new TcpServerSocket({
    hostname: "127.0.0.1",
    port: 0,
    maxConnectionsPerSource: n,
    helloMs: Infinity,
  });
  const rss = () => Deno.memoryUsage().rss / 2 ** 20;
  const before = { heap: heapMiB(), rss: rss() };
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < n; i++) conns.push(await Deno.connect({ hostname: "127.0.0.1", port: sock.localPort }));
  for (let i = 0; i < 400 && sock.connections < n; i++) await new Promise((r) => setTimeout(r, 5));
  const after = { heap: heapMiB(), rss: rss() };
  console.log(JSON.stringify({
    measure: `${sock.connections} silent TCP connections held by TcpServerSocket`,
    heapDeltaMiB: +(after.heap - before.heap).toFixed(1),
    rssDeltaMiB: +(after.rss - before.rss).toFixed(1),
    kibPerConnection: +((after.rss - before.rss) * 1024 / n).toFixed(1),
  }));
  for (const c of conns) c.close();
  sock.close();
}

if (Number(args.values.tcp) > 0) await silentTcp(Number(args.values.tcp));
await pki.cleanup();
