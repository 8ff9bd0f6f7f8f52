/**
 * A hostile stranger, run inside an e2e namespace; prints one JSON line.
 *
 *   stranger_flood.ts udp-resets HOST PORT COUNT SOURCE[,SOURCE...]
 *     COUNT plain P_CONTROL_HARD_RESET_CLIENT_V2 (random session ids), spread
 *     over the local SOURCE addresses, never answering what comes back; counts
 *     what comes back for 1 s after the last one:
 *     {"sent":N,"sentBytes":N,"answers":N,"answerBytes":N}
 *
 *   stranger_flood.ts tcp-hold HOST PORT COUNT HOLD_MS
 *     opens COUNT TCP connections that send nothing, and notes when the
 *     server closes each (ms after opening), holding the rest HOLD_MS:
 *     {"opened":N,"closedAfterMs":[...],"open":N}
 *
 *   stranger_flood.ts udp-junk HOST PORT COUNT RATE
 *     COUNT random datagrams (1-256 random bytes each, from a pool of 4096)
 *     paced at up to RATE per second, one sendmmsg per 10 ms; prints
 *     "flooding" as it starts, then what it managed:
 *     {"sent":N,"ms":N,"rate":N,"cpuMs":N} (cpuMs: the generator's own CPU time)
 */

import process from "node:process";
import { openUdp } from "../../../ffi/udp.ts";
import { parseIpv4 } from "../../../src/addr/ip.ts";
import { EndpointSlots } from "../../../src/device/datagram_socket.ts";

const RESET_BYTES = 14;

function plainReset(): Uint8Array {
  const p = new Uint8Array(RESET_BYTES);
  p[0] = 7 << 3; // P_CONTROL_HARD_RESET_CLIENT_V2, key-id 0
  crypto.getRandomValues(p.subarray(1, 9));
  p[1] |= 1; // never the undefined (all-zero) session id
  return p; // no acks, message id 0
}

async function udpResets(host: string, port: number, count: number, sources: string[]): Promise<void> {
  const socks = sources.map((s) => Deno.listenDatagram({ transport: "udp", hostname: s, port: 0 }));
  let answers = 0;
  let answerBytes = 0;
  const readers = socks.map(async (s) => {
    try {
      for await (const [data] of s) {
        answers++;
        answerBytes += data.length;
      }
    } catch {
      // closed
    }
  });
  for (let i = 0; i < count; i++) {
    await socks[i % socks.length].send(plainReset(), { transport: "udp", hostname: host, port });
  }
  await new Promise((r) => setTimeout(r, 1000));
  for (const s of socks) s.close();
  await Promise.all(readers);
  console.log(JSON.stringify({ sent: count, sentBytes: count * RESET_BYTES, answers, answerBytes }));
}

async function tcpHold(host: string, port: number, count: number, holdMs: number): Promise<void> {
  const closedAfterMs: number[] = [];
  const watchers: Promise<void>[] = [];
  const conns: Deno.Conn[] = [];
  let ending = false;
  for (let i = 0; i < count; i++) {
    const opened = Date.now();
    const c = await Deno.connect({ hostname: host, port });
    conns.push(c);
    watchers.push((async () => {
      const buf = new Uint8Array(64);
      try {
        while ((await c.read(buf)) !== null) { /* nothing is expected */ }
      } catch {
        // reset by the server
      }
      if (!ending) closedAfterMs.push(Date.now() - opened);
    })());
  }
  const held = new Promise<void>((r) => setTimeout(r, holdMs));
  await Promise.race([held, Promise.all(watchers)]);
  ending = true;
  const open = count - closedAfterMs.length;
  for (const c of conns) {
    try {
      c.close();
    } catch {
      // already closed
    }
  }
  await Promise.all(watchers);
  console.log(JSON.stringify({ opened: count, closedAfterMs, open }));
  Deno.exit(0);
}

/** JUNK_POOL random datagrams of 1-256 bytes, each in its own JUNK_SLOT-byte slot of one buffer. */
const JUNK_POOL = 4096;
const JUNK_SLOT = 256;
/** The pacing step: one sendmmsg of RATE/100 datagrams every 10 ms. */
const JUNK_STEP_MS = 10;

/**
 * Junk through one sendmmsg per step (ffi/udp.ts), so that mallory's own CPU
 * (a Deno `send` promise per datagram cost ≈ 10 µs each) takes as little of
 * the host the server shares as the kernel's send path allows.
 */
async function udpJunk(host: string, port: number, count: number, rate: number): Promise<void> {
  const sock = openUdp({ host: "0.0.0.0", port: 0, sendBufferBytes: 4 << 20 });
  const arena = new Uint8Array(JUNK_POOL * JUNK_SLOT);
  for (let o = 0; o < arena.length; o += 65536) crypto.getRandomValues(arena.subarray(o, o + 65536));
  const perStep = Math.max(1, Math.round(rate * JUNK_STEP_MS / 1000));
  const bufs = Array.from({ length: perStep }, () => arena);
  const offsets = new Int32Array(perStep);
  const sizes = new Int32Array(perStep);
  const rows = new Int32Array(perStep);
  const to = new EndpointSlots(1);
  to.setIpv4(0, parseIpv4(host), port);
  console.log("flooding");
  const start = performance.now();
  let sent = 0;
  let next = 0;
  for (let step = 0; sent < count; step++) {
    const n = Math.min(perStep, count - sent);
    for (let i = 0; i < n; i++) {
      const slot = (next + i) % JUNK_POOL;
      offsets[i] = slot * JUNK_SLOT;
      sizes[i] = 1 + (arena[offsets[i]] ^ slot) % JUNK_SLOT;
    }
    // Datagrams a full send buffer refused are sent again in the next step: `sent` counts what left.
    const k = sock.sendBatch(bufs, offsets, sizes, n, to, rows);
    sent += k;
    next += k;
    const ahead = start + (step + 1) * JUNK_STEP_MS - performance.now();
    if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
  }
  const ms = performance.now() - start;
  sock.close();
  const { user, system } = process.cpuUsage();
  const cpuMs = Math.round((user + system) / 1000);
  console.log(JSON.stringify({ sent, ms: Math.round(ms), rate: Math.round(sent / ms * 1000), cpuMs }));
}

const [mode, host, port, count, extra] = Deno.args;
if (mode === "udp-resets") await udpResets(host, Number(port), Number(count), extra.split(","));
else if (mode === "udp-junk") await udpJunk(host, Number(port), Number(count), Number(extra));
else if (mode === "tcp-hold") await tcpHold(host, Number(port), Number(count), Number(extra));
else throw new Error(`Unknown mode ${mode}`);
