/**
 * Live fuzz: a real ControlListener behind serveUdp and serveTcp on
 * 127.0.0.1, plain control channel (no tls-auth/tls-crypt, so mutations reach
 * the reliability layer, TLS and key-method 2), hit with random, truncated,
 * oversized and bit-flipped datagrams and frames, including mutations of
 * packets captured from a genuine handshake and "smart" sessions that answer
 * the server's reset correctly and then feed it mutated TLS records.
 *
 * Afterwards: no uncaught error or unhandled rejection fired, drops were
 * counted by reason, every fuzz session timed out or failed (the count is back
 * to the genuine clients), the genuine sessions still renegotiate and new
 * genuine clients still connect over UDP and TCP.
 *
 * A second test throws garbage at a tsvpn client ControlSession before,
 * during and after its handshake with the same kind of server.
 *
 * Bounded: fixed counts, a time budget per phase, seeded randomness.
 */

import assert from "node:assert/strict";
import { connectClientTransport } from "../testing/control/client_transport.ts";
import { ControlPacket, decodeControlPacket, encodeControlPacket } from "./control_packet.ts";
import { type ControlWrapConfig, createControlWrap } from "./control_wrap.ts";
import { DROP_REASON_NAMES, DropCounters, VERDICT_OK } from "./drop_counters.ts";
import { ControlListener } from "./listener.ts";
import {
  headerByte,
  P_ACK_V1,
  P_CONTROL_HARD_RESET_CLIENT_V2,
  P_CONTROL_HARD_RESET_SERVER_V2,
  P_CONTROL_V1,
  P_DATA_V2,
} from "./opcode.ts";
import { ControlSession } from "./session.ts";
import { frame, FrameReassembler } from "./tcp_framing.ts";
import { serveTcp } from "../testing/control/tcp_transport.ts";
import { sharedTestPki } from "../testing/control/pki.ts";
import { serveUdp } from "../testing/control/udp_transport.ts";
import { pkiVerifier } from "./verifier.ts";
import { holds, pause, until, within } from "../testing/wait.ts";
import { libcryptoStatus } from "../../ffi/libcrypto.ts";
import { tlsEngine } from "./tls_channel.ts";
import { fractions, xorshift32 } from "../testing/seeded_random.ts";

// The wraps run on OpenSSL when it loads (wrap_openssl.ts): load it before the tests, so that no
// test's resource check sees the library appear.
libcryptoStatus();
tlsEngine(); // loads libssl and its callbacks now, not inside a test with the resource sanitizer on

const SEED = 0x5eed2024;
const UDP_DATAGRAMS = 6000;
const OVERSIZED_DATAGRAMS = 40;
const SMART_UDP_SESSIONS = 120;
const TCP_CONNECTIONS = 40;
const SMART_TCP_SESSIONS = 30;
const BATCH_SESSIONS = 200;
const CLIENT_GARBAGE = 3000;
const PHASE_BUDGET_MS = 15_000;
const HANDSHAKE_WINDOW_MS = 1500;

const pki = await sharedTestPki();

/** Fractions in [0, 1) from a seed, so a failing run reproduces. */
const rng = (seed: number) => fractions(xorshift32(seed));

const r = rng(SEED);
const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)];

function randomBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

/** One mutation of a genuine packet: bit flips, truncation, extension, splices, field swaps. */
function mutate(src: Uint8Array): Uint8Array {
  const kind = Math.floor(r() * 7);
  let b = src.slice();
  switch (kind) {
    case 0: // a few bit flips
      for (let i = 0, n = 1 + Math.floor(r() * 4); i < n && b.length > 0; i++) {
        b[Math.floor(r() * b.length)] ^= 1 << Math.floor(r() * 8);
      }
      break;
    case 1: // truncated
      b = b.subarray(0, Math.floor(r() * b.length));
      break;
    case 2: { // junk tail
      const out = new Uint8Array(b.length + 1 + Math.floor(r() * 2000));
      out.set(b);
      out.set(randomBytes(out.length - b.length), b.length);
      b = out;
      break;
    }
    case 3: // opcode / key-id byte replaced
      if (b.length > 0) b[0] = Math.floor(r() * 256);
      break;
    case 4: // ack count / ack ids / message id region scrambled
      for (let i = 9; i < Math.min(b.length, 30); i++) if (r() < 0.3) b[i] = Math.floor(r() * 256);
      break;
    case 5: // random byte overwrite run
      if (b.length > 0) {
        const at = Math.floor(r() * b.length);
        b.set(randomBytes(Math.min(b.length - at, 1 + Math.floor(r() * 64))), at);
      }
      break;
    default: // exact replay
      break;
  }
  return b;
}

/** Records uncaught errors and unhandled rejections while installed (and keeps the process alive). */
function trapGlobalErrors() {
  const seen: string[] = [];
  const onRejection = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    seen.push(`unhandledrejection: ${(e.reason as Error)?.stack ?? e.reason}`);
  };
  const onError = (e: ErrorEvent) => {
    e.preventDefault();
    seen.push(`error: ${e.error?.stack ?? e.message}`);
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  globalThis.addEventListener("error", onError);
  return {
    seen,
    remove() {
      globalThis.removeEventListener("unhandledrejection", onRejection);
      globalThis.removeEventListener("error", onError);
    },
  };
}

interface Genuine {
  session: ControlSession;
  close(): void;
  /** Wire packets as sent (client → server) and received (server → client). */
  out: Uint8Array[];
  in: Uint8Array[];
  /** Sends raw bytes on the client's own transport (its source address and port). */
  sendRaw(b: Uint8Array): void;
}

async function genuineClient(kind: "udp" | "tcp", port: number): Promise<Genuine> {
  const g = { out: [], in: [] } as unknown as Genuine;
  // deno-lint-ignore prefer-const
  let session: ControlSession;
  const t = await connectClientTransport(kind, { hostname: "127.0.0.1", port }, (b, o, l) => {
    const p = b.slice(o, o + l);
    g.in.push(p);
    session.receive(p);
  });
  session = new ControlSession({
    role: "client",
    proto: kind,
    credentials: pki.client,
    verifyPeer: pkiVerifier({ ca: pki.caPem, usage: "serverAuth" }),
    send: (p) => {
      g.out.push(p);
      t.send(p);
    },
  });
  g.session = session;
  g.sendRaw = (b) => t.send(b);
  g.close = () => {
    session.close("test done", false);
    t.close();
  };
  const key = session.once("key");
  session.start();
  await within(key, 10000, `${kind} genuine handshake`);
  return g;
}

/** Overwrites every occurrence of `needle` in `b` with random bytes. */
function scrub(b: Uint8Array, needle: Uint8Array): void {
  for (let i = 0; i + needle.length <= b.length; i++) {
    let hit = true;
    for (let j = 0; j < needle.length && hit; j++) hit = b[i + j] === needle[j];
    if (hit) b.set(randomBytes(needle.length), i);
  }
}

function decode(b: Uint8Array): ControlPacket | null {
  const p = new ControlPacket();
  return decodeControlPacket(b, 0, b.length, p) === VERDICT_OK ? p : null;
}

function encode(
  op: number,
  kid: number,
  sid: Uint8Array,
  acks: number[],
  remote: Uint8Array,
  id: number,
  pl?: Uint8Array,
) {
  const out = new Uint8Array(70000);
  const n = encodeControlPacket(out, 0, op, kid, sid, acks, acks.length, remote, id, pl ?? null);
  return out.slice(0, n);
}

/** TLS payloads the genuine client sent in P_CONTROL_V1 packets (ClientHello, Finished, km2 records...). */
function tlsPayloads(packets: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const b of packets) {
    const p = decode(b);
    if (p && p.opcode === P_CONTROL_V1 && p.payloadLength > 0) out.push(p.payload().slice());
  }
  return out;
}

/**
 * A sender that does the reset exchange properly (so the server accepts its TLS input) and then feeds
 * mutated genuine TLS records: reaches TLS record parsing, certificate handling and key-method 2 decoding.
 */
async function smartSession(
  send: (p: Uint8Array) => void | Promise<void>,
  nextFromServer: () => Promise<Uint8Array | null>,
  payloads: Uint8Array[],
): Promise<void> {
  const sid = randomBytes(8);
  sid[0] |= 1;
  await send(encode(P_CONTROL_HARD_RESET_CLIENT_V2, 0, sid, [], new Uint8Array(8), 0));
  let serverSid: Uint8Array | null = null;
  for (let i = 0; i < 4 && !serverSid; i++) {
    const b = await nextFromServer();
    if (!b) break;
    const p = decode(b);
    if (p && p.opcode === P_CONTROL_HARD_RESET_SERVER_V2) serverSid = p.sessionId.slice();
  }
  if (!serverSid) return;
  const n = 1 + Math.floor(r() * 5);
  for (let id = 1; id <= n; id++) {
    const pl = r() < 0.8 ? mutate(pick(payloads)) : randomBytes(Math.floor(r() * 1200));
    const op = r() < 0.9 ? P_CONTROL_V1 : pick([P_ACK_V1, P_CONTROL_HARD_RESET_CLIENT_V2, 3, 8]);
    const acks = r() < 0.9 ? [0] : [Math.floor(r() * 2 ** 32)];
    const msgId = r() < 0.85 ? id : Math.floor(r() * 2 ** 32);
    if (op === P_ACK_V1) await send(encode(op, 0, sid, acks, serverSid, -1));
    else await send(encode(op, 0, sid, acks, serverSid, msgId, pl));
  }
}

Deno.test({
  // Sanitizers on: after shutdown no timer, op or resource may be left behind.
  sanitizeOps: true,
  sanitizeResources: true,
  name:
    "ControlListener behind serveUdp and serveTcp survives thousands of random, oversized and mutated packets and still serves genuine clients",
  fn: async () => {
    const trap = trapGlobalErrors();
    const listener = new ControlListener({
      credentials: pki.server,
      verifyPeer: pkiVerifier({ ca: pki.caPem, crl: pki.crlPem, usage: "clientAuth" }),
      wrap: { mode: "none" },
      // Let fuzz resets through the rate limit so they reach deep; the table stays bounded by maxSessions.
      handshakeRate: 1e6,
      handshakeBurst: 1e6,
      maxSessions: 512,
      session: { handshakeWindowMs: HANDSHAKE_WINDOW_MS, tlsTimeoutMs: 500 },
      pushOptions: (_p, ctx) => ({
        ifconfig: { local: `10.9.0.${(ctx.peerId % 250) + 2}`, remoteOrNetmask: "255.255.255.0" },
      }),
    });
    let peak = 0;
    const peakTimer = setInterval(() => peak = Math.max(peak, listener.sessionCount), 20);
    const udp = serveUdp(listener);
    const tcp = serveTcp(listener, { idleMs: 2000 });
    const genuine: Genuine[] = [];
    const sockets: Deno.DatagramConn[] = [];
    const conns: Deno.Conn[] = [];
    const stats = {
      datagrams: 0,
      datagramBytes: 0,
      smartUdp: 0,
      tcpConns: 0,
      tcpBytes: 0,
      tcpFrames: 0,
      smartTcp: 0,
      batched: 0,
      batchedAnswered: 0,
    };
    const heapBefore = Deno.memoryUsage().heapUsed;
    const t0 = performance.now();
    try {
      genuine.push(await genuineClient("udp", udp.port));
      genuine.push(await genuineClient("tcp", tcp.port));
      const baseline = listener.sessionCount;
      assert.equal(baseline, 2);
      const captured = [...genuine[0].out, ...genuine[1].out, ...genuine[0].in, ...genuine[1].in];
      const payloads = tlsPayloads([...genuine[0].out, ...genuine[1].out]);
      assert.ok(captured.length > 10 && payloads.length >= 3, `${captured.length} packets captured`);

      // --- UDP: random, mutated, oversized datagrams from several source ports.
      for (let i = 0; i < 8; i++) {
        sockets.push(Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 }));
      }
      const to: Deno.NetAddr = { transport: "udp", hostname: "127.0.0.1", port: udp.port };
      const phaseEnd = performance.now() + PHASE_BUDGET_MS;
      for (let i = 0; i < UDP_DATAGRAMS && performance.now() < phaseEnd; i++) {
        let b: Uint8Array;
        const k = r();
        if (k < 0.25) b = randomBytes(Math.floor(r() * 1500));
        else if (k < 0.9) b = mutate(pick(captured));
        else if (k < 0.95) b = Uint8Array.of(headerByte(P_DATA_V2, Math.floor(r() * 8)), ...randomBytes(40));
        else b = encode(P_CONTROL_HARD_RESET_CLIENT_V2, 0, randomBytes(8), [], new Uint8Array(8), 0);
        if (b.length === 0) continue; // an empty datagram is legal but says nothing
        await pick(sockets).send(b, to).catch(() => {});
        stats.datagrams++;
        stats.datagramBytes += b.length;
        if (i % 64 === 0) await pause(1); // pacing: let the receive loop drain rather than overflow the socket buffer
      }
      for (let i = 0; i < OVERSIZED_DATAGRAMS; i++) {
        const b = i % 2 ? randomBytes(60000) : (() => {
          const x = new Uint8Array(60000);
          x.set(pick(captured));
          return x;
        })();
        await pick(sockets).send(b, to).catch(() => {});
        stats.datagrams++;
        stats.datagramBytes += b.length;
      }
      // A genuine client's own session id with an ack naming another server session: whatever the time
      // budgets let through above, these reach a live session and are refused as session_mismatch.
      for (let i = 0; i < 4; i++) {
        const g = genuine[i % 2];
        g.sendRaw(encode(P_ACK_V1, 0, g.session.localSessionId, [0], randomBytes(8), -1));
        stats.datagrams++;
      }
      // --- UDP smart sessions: proper reset exchange, then mutated TLS.
      const smartSock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
      sockets.push(smartSock);
      const smartEnd = performance.now() + PHASE_BUDGET_MS;
      for (let i = 0; i < SMART_UDP_SESSIONS && performance.now() < smartEnd; i++) {
        await smartSession(
          (p) => void smartSock.send(p, to).catch(() => {}),
          async () => {
            try {
              const [d] = await within(smartSock.receive(), 300, "server reply");
              return d;
            } catch {
              return null;
            }
          },
          payloads,
        );
        stats.smartUdp++;
      }

      // --- TCP: random streams, bad lengths, oversized frames, mutated frames, smart sessions.
      const tcpEnd = performance.now() + PHASE_BUDGET_MS;
      for (let c = 0; c < TCP_CONNECTIONS && performance.now() < tcpEnd; c++) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: tcp.port });
        conns.push(conn);
        stats.tcpConns++;
        const write = async (b: Uint8Array) => {
          try {
            let off = 0;
            while (off < b.length) off += await conn.write(b.subarray(off));
            stats.tcpBytes += b.length;
          } catch {
            // the server may close a connection it gave up on
          }
        };
        const mode = c % 4;
        for (let i = 0; i < 60; i++) {
          if (mode === 0) await write(randomBytes(1 + Math.floor(r() * 3000)));
          else if (mode === 1) {
            await write(frame(mutate(pick(captured)).subarray(0, 0xffff)));
            stats.tcpFrames++;
          } else if (mode === 2) {
            // zero-length, maximum-length and partial frames
            const len = pick([0, 1, 0xffff, 0xfffe, Math.floor(r() * 0x10000)]);
            const body = randomBytes(Math.min(len, Math.floor(r() * 70000)));
            const f = new Uint8Array(2 + body.length);
            f[0] = len >>> 8;
            f[1] = len & 0xff;
            f.set(body, 2);
            await write(f);
            stats.tcpFrames++;
          } else {
            const b = mutate(pick(captured));
            if (b.length > 0) await write(frame(b));
            stats.tcpFrames++;
          }
        }
        if (c % 3 === 0) {
          try {
            conn.close(); // abrupt close mid-stream
          } catch {
            // already closed
          }
        }
      }
      for (let i = 0; i < SMART_TCP_SESSIONS && performance.now() < tcpEnd; i++) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: tcp.port });
        conns.push(conn);
        const reasm = new FrameReassembler();
        const inbox: Uint8Array[] = [];
        const buf = new Uint8Array(65536);
        const reader = (async () => {
          try {
            for (;;) {
              const n = await conn.read(buf);
              if (n === null) return;
              reasm.feed(buf.subarray(0, n), (b, o, l) => inbox.push(b.slice(o, o + l)));
            }
          } catch {
            // closed
          }
        })();
        await smartSession(
          async (p) => {
            try {
              await conn.write(frame(p));
              stats.tcpFrames++;
            } catch {
              // closed by the server
            }
          },
          async () => {
            // A fuzzed server may well not answer: no reply in time is an outcome, not a failure.
            await until(() => inbox.length > 0, { what: "a server reply", timeoutMs: 300 }).catch(() => {});
            return inbox.shift() ?? null;
          },
          payloads,
        );
        stats.smartTcp++;
        try {
          conn.close();
        } catch {
          // closed
        }
        await reader;
      }
      // --- Batched delivery, as the server's datapath does it: several packets handled in one synchronous
      // run, so a reset and TLS input for it reach the session within the same tick.
      const batchEnd = performance.now() + PHASE_BUDGET_MS;
      for (let i = 0; i < BATCH_SESSIONS && performance.now() < batchEnd; i++) {
        const link = `192.0.2.${i % 250}:${20000 + i}`;
        const replies: Uint8Array[] = [];
        const reply = (p: Uint8Array) => void replies.push(p);
        const sid = randomBytes(8);
        sid[0] |= 1;
        const zero = new Uint8Array(8);
        listener.handlePacket(
          "udp",
          link,
          link,
          reply,
          encode(P_CONTROL_HARD_RESET_CLIENT_V2, 0, sid, [], zero, 0),
        );
        for (let m = 1; m <= 3; m++) {
          const pl = mutate(pick(payloads));
          listener.handlePacket("udp", link, link, reply, encode(P_CONTROL_V1, 0, sid, [], zero, m, pl));
        }
        // The server answers on its next flush; a full session table (maxSessions) answers nothing.
        const resetReply = () =>
          replies.map(decode).find((p) => p?.opcode === P_CONTROL_HARD_RESET_SERVER_V2);
        const serverReset = await until(resetReply, { what: "the server's reset", timeoutMs: 200 }).catch(
          () => null,
        );
        if (serverReset) {
          stats.batchedAnswered++;
          const ssid = serverReset.sessionId.slice();
          // The whole client flight at once, mutated: the server's TLS starts and is fed in one tick.
          for (let m = 1; m <= 4; m++) {
            const pl = r() < 0.5 ? mutate(pick(payloads)) : randomBytes(1 + Math.floor(r() * 1100));
            listener.handlePacket("udp", link, link, reply, encode(P_CONTROL_V1, 0, sid, [0], ssid, m, pl));
          }
        }
        stats.batched++;
        if (i % 8 === 0) await pause(1); // pacing: let the listener's timers and sockets run
      }
      const fuzzMs = performance.now() - t0;

      // --- Every fuzz session fails or times out (handshake window), the TCP ones too while connected.
      await until(() => listener.sessionCount === baseline, {
        what: `every fuzz session ended (${baseline} genuine left)`,
        timeoutMs: HANDSHAKE_WINDOW_MS + 10_000,
        detail: () => `${listener.sessionCount} sessions`,
      });
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // closed
        }
      }
      const drops = listener.drops.snapshot();
      console.log(
        `live fuzz (seed ${SEED.toString(16)}): ${JSON.stringify(stats)} in ${Math.round(fuzzMs)} ms; ` +
          `peak sessions ${peak}; drops ${JSON.stringify(drops)}; heap ${
            ((Deno.memoryUsage().heapUsed - heapBefore) / 1e6).toFixed(1)
          } MB growth`,
      );
      assert.deepEqual(trap.seen, [], "no uncaught error or unhandled rejection");
      assert.ok(peak <= 512, `session table bounded (${peak})`);
      assert.equal(listener.sessionCount, baseline, "every fuzz session ended");
      for (
        const reason of [
          "malformed",
          "bad_opcode",
          "unknown_session",
          "session_mismatch",
          "unsupported",
          "unexpected",
        ]
      ) {
        assert.ok((drops[reason] ?? 0) > 0, `drops counted as ${reason}: ${JSON.stringify(drops)}`);
      }
      assert.ok(listener.drops.total > stats.datagrams / 3, `${listener.drops.total} drops in total`);
      assert.ok(DROP_REASON_NAMES.length >= 14);

      // --- Genuine sessions are untouched and new genuine clients still connect.
      for (const g of genuine) {
        assert.equal(g.session.closed, false);
        const next = g.session.once("key");
        assert.equal(g.session.renegotiate(), true);
        assert.equal((await within(next, 10000, "renegotiation after fuzz")).keyId, 1);
      }
      genuine.push(await genuineClient("udp", udp.port));
      genuine.push(await genuineClient("tcp", tcp.port));
      assert.equal(listener.sessionCount, 4);
      assert.deepEqual(trap.seen, []);
    } finally {
      clearInterval(peakTimer);
      // Server first: its sessions tell the clients (RESTART) and end once that is acknowledged (≤ 2 s).
      listener.close();
      // Cleanup: a session that does not end shows up as a leak in the sanitizers, not as a second error here.
      await until(() => listener.sessionCount === 0, { what: "sessions ended", timeoutMs: 3000 }).catch(
        () => {},
      );
      for (const g of genuine) g.close();
      for (const s of sockets) {
        try {
          s.close();
        } catch {
          // closed
        }
      }
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // closed
        }
      }
      udp.close();
      tcp.close();
      await udp.done;
      await tcp.done;
      trap.remove();
    }
  },
});

for (const mode of ["none", "tls-crypt"] as const) {
  Deno.test({
    sanitizeOps: true,
    sanitizeResources: true,
    name:
      `ControlSession client (${mode}) shrugs off garbage before, during and after its handshake with a live server`,
    fn: async () => {
      const trap = trapGlobalErrors();
      const key = randomBytes(256);
      const wrap: ControlWrapConfig = mode === "none" ? { mode } : { mode, key };
      const listener = new ControlListener({
        credentials: pki.server,
        verifyPeer: pkiVerifier({ ca: pki.caPem, crl: pki.crlPem, usage: "clientAuth" }),
        wrap,
      });
      const udp = serveUdp(listener);
      let injected = 0;
      const clientDrops = new DropCounters();
      // deno-lint-ignore prefer-const
      let client: ControlSession;
      const seen: Uint8Array[] = [];
      /** Garbage a spoofer could send: it knows neither session id (plain) or not the key (tls-crypt). */
      const garbage = (real: Uint8Array | null): Uint8Array => {
        const k = r();
        if (k < 0.3 || !real) return randomBytes(Math.floor(r() * 1400));
        if (k < 0.45) {
          const ack = r() < 0.5 ? [0] : [];
          return encode(P_CONTROL_HARD_RESET_SERVER_V2, 0, randomBytes(8), ack, randomBytes(8), 0);
        }
        const b = mutate(r() < 0.5 ? real : pick(seen));
        // In plain mode a blind spoofer knows neither session id: scramble the sender's and any echo of ours.
        if (mode === "none") {
          if (b.length > 9) b.set(randomBytes(8), 1);
          scrub(b, client.localSessionId);
        }
        return b;
      };
      const inject = (real: Uint8Array | null, n: number) => {
        for (let i = 0; i < n; i++) {
          const g = garbage(real);
          if (g.length === 0) continue;
          client.receive(g);
          injected++;
        }
      };
      const t = await connectClientTransport("udp", { hostname: "127.0.0.1", port: udp.port }, (b, o, l) => {
        const real = b.slice(o, o + l);
        seen.push(real);
        if (injected < CLIENT_GARBAGE) inject(real, 4);
        client.receive(real);
        if (injected < CLIENT_GARBAGE) inject(real, 4);
      });
      client = new ControlSession({
        role: "client",
        credentials: pki.client,
        verifyPeer: pkiVerifier({ ca: pki.caPem, usage: "serverAuth" }),
        wrap: createControlWrap(wrap, "client"),
        drops: clientDrops,
        send: (p) => t.send(p),
      });
      const reasons: string[] = [];
      client.on("error", (e) => reasons.push(e.reason));
      try {
        inject(null, 200); // before start(): nothing is expected yet
        const k0 = client.once("key");
        client.start();
        inject(null, 200); // before the server answers
        await within(k0, 15000, "client handshake under garbage").catch((e) => {
          throw new Error(`${e.message}: ${reasons.join("; ")} ${JSON.stringify(clientDrops.snapshot())}`);
        });
        while (injected < CLIENT_GARBAGE) inject(pick(seen), 100), await pause(1); // pacing: real traffic interleaves
        const k1 = client.once("key");
        assert.equal(client.renegotiate(), true);
        assert.equal((await within(k1, 15000, "renegotiation under garbage")).keyId, 1);
        // Proving an absence: garbage handled asynchronously would surface (error, close) within this time.
        await holds(
          () => trap.seen.length === 0 && !client.closed,
          100,
          "no late error and the client stays up",
        );
        console.log(
          `client fuzz (${mode}): ${injected} injected, drops ${JSON.stringify(clientDrops.snapshot())}`,
        );
        assert.deepEqual(trap.seen, []);
        assert.equal(client.closed, false);
        assert.ok(clientDrops.total >= injected * 0.9, `${clientDrops.total} of ${injected} dropped`);
        assert.equal(listener.sessionCount, 1);
      } finally {
        listener.close();
        // Cleanup: a session that does not end shows up as a leak in the sanitizers, not as a second error here.
        await until(() => listener.sessionCount === 0, { what: "sessions ended", timeoutMs: 3000 }).catch(
          () => {},
        );
        client.close("done", false);
        t.close();
        udp.close();
        await udp.done;
        trap.remove();
      }
    },
  });
}
