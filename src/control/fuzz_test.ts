/**
 * Fuzz: random and bit-flipped inputs into every decoder and into a live
 * listener. No exception may escape and, with tls-crypt, nothing may change
 * state: no session is created, the live session keeps working.
 */

import assert from "node:assert/strict";
import { ControlPacket, decodeControlPacket } from "./control_packet.ts";
import { ControlMessageReader } from "./control_message.ts";
import { createControlWrap, NoWrap, TlsAuthWrap, TlsCryptWrap, WrapResult } from "./control_wrap.ts";
import { decodeKeyMethod2 } from "./key_method2.ts";
import { VERDICT_OK } from "./drop_counters.ts";
import { ControlListener } from "./listener.ts";
import { isDataOpcode, opcodeOf } from "./opcode.ts";
import { parsePeerInfo } from "./peer_info.ts";
import { parsePushOptions, PushReplyAssembler, pushReplyOptions } from "./push_options.ts";
import { ControlSession } from "./session.ts";
import { FrameReassembler } from "./tcp_framing.ts";
import { sharedTestPki } from "../testing/control/pki.ts";
import { until, within } from "../testing/wait.ts";
import { fractions, xorshift32 } from "../testing/seeded_random.ts";
import { pkiVerifier } from "./verifier.ts";

/** Fractions in [0, 1) from a seed, so a failing run reproduces. */
const rng = (seed: number) => fractions(xorshift32(seed));

function randomBytes(r: () => number, max: number): Uint8Array {
  const b = new Uint8Array(Math.floor(r() * max));
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(r() * 256);
  return b;
}

function flip(r: () => number, src: Uint8Array): Uint8Array {
  const b = src.slice();
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n && b.length > 0; i++) b[Math.floor(r() * b.length)] ^= 1 << Math.floor(r() * 8);
  if (r() < 0.1) return b.subarray(0, Math.floor(r() * b.length));
  return b;
}

const key = Uint8Array.from({ length: 256 }, (_, i) => (i * 31 + 7) & 0xff);

Deno.test("Decoders return verdicts for 20000 random and mutated inputs without throwing", () => {
  const r = rng(12345);
  const pkt = new ControlPacket();
  const res = new WrapResult();
  const scratch = new Uint8Array(70000);
  const wraps = [new NoWrap(), new TlsAuthWrap(key, "SHA256", 0), new TlsCryptWrap(key, "server")];
  const reasm = new FrameReassembler(2000);
  const reader = new ControlMessageReader(4096);
  const asm = new PushReplyAssembler();
  const seedPkt = Uint8Array.of(
    0x20,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    1,
    0,
    0,
    0,
    3,
    9,
    9,
    9,
    9,
    9,
    9,
    9,
    9,
    0,
    0,
    0,
    4,
    65,
  );
  for (let i = 0; i < 20000; i++) {
    const b = i % 2 === 0 ? randomBytes(r, 300) : flip(r, seedPkt);
    decodeControlPacket(b, 0, b.length, pkt);
    decodeControlPacket(b, Math.floor(r() * 10), Math.floor(r() * 400) - 50, pkt);
    for (const w of wraps) w.unwrap(b, 0, b.length, scratch, res);
    decodeKeyMethod2(b, r() < 0.5);
    reasm.feed(b, () => {});
    if (reader.push(b) === null) reader.push(new Uint8Array(0));
    const text = new TextDecoder().decode(b);
    parsePeerInfo(text);
    parsePushOptions(pushReplyOptions("PUSH_REPLY," + text));
    asm.add("PUSH_REPLY," + text);
  }
});

Deno.test({
  name: "ControlListener with tls-crypt shrugs off 5000 random and bit-flipped datagrams and TCP frames",
  fn: async () => {
    const pki = await sharedTestPki();
    const listener = new ControlListener({
      credentials: pki.server,
      verifyPeer: pkiVerifier({ ca: pki.caPem, crl: pki.crlPem, usage: "clientAuth" }),
      wrap: { mode: "tls-crypt", key },
    });
    const captured: Uint8Array[] = [];
    let delivered = 0;
    // deno-lint-ignore prefer-const
    let client: ControlSession;
    const endpoint = "203.0.113.9:1194";
    const reply = (p: Uint8Array) => setTimeout(() => client.receive(p), 0);
    client = new ControlSession({
      role: "client",
      credentials: pki.client,
      verifyPeer: pkiVerifier({ ca: pki.caPem, usage: "serverAuth" }),
      wrap: createControlWrap({ mode: "tls-crypt", key }, "client"),
      send: (p) => {
        captured.push(p);
        setTimeout(() => (listener.handlePacket("udp", endpoint, endpoint, reply, p), delivered++), 0);
      },
    });
    try {
      const k = client.once("key");
      client.start();
      await within(k, 10_000, "client key");
      // Two flips can cancel out: an exact copy of a packet still in flight would be genuine, not fuzz.
      await until(() => delivered === captured.length, { what: "every client packet delivered" });
      const server = listener.sessions()[0];
      const before = listener.drops.total;
      const r = rng(777);
      let ok = 0;
      for (let i = 0; i < 5000; i++) {
        const src = captured[Math.floor(r() * captured.length)];
        const b = i % 3 === 0 ? randomBytes(r, 1500) : flip(r, src);
        const from = i % 2 === 0 ? endpoint : `198.51.100.${i % 250}:${1000 + i}`;
        const v = listener.handlePacket(i % 5 === 0 ? "tcp" : "udp", from, from, () => {}, b);
        // Data packets are only dispatched (the data layer authenticates them); control ones must all fail.
        if (v === VERDICT_OK && b.length > 0 && !isDataOpcode(opcodeOf(b[0]))) ok++;
      }
      const tcp = new FrameReassembler();
      for (let i = 0; i < 500; i++) {
        tcp.feed(
          randomBytes(r, 3000),
          (b, o, l) => listener.handlePacket("tcp", "tcp#9", "t", () => {}, b, o, l),
        );
      }
      // Flipped copies of real packets can only pass if a flip hit nothing authenticated: none may.
      assert.equal(ok, 0);
      assert.ok(listener.drops.total - before >= 4000, `${listener.drops.total - before} drops`);
      assert.equal(listener.sessionCount, 1, "no state created");
      assert.equal(listener.sessions()[0], server);
      // The live session is unaffected: a renegotiation still completes.
      const next = client.once("key");
      assert.equal(client.renegotiate(), true);
      assert.equal((await within(next, 10_000, "renegotiated key")).keyId, 1);
    } finally {
      client.close("done", false);
      listener.close();
    }
  },
});
