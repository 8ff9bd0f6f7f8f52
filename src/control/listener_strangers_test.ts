/**
 * ControlListener against strangers: stateless reset answers (reset_cookie.ts),
 * per-source reset buckets, and what an unverified source costs us. Clocks are
 * injected (ManualClock); only the full-handshake test runs real TLS.
 */

import assert from "node:assert/strict";
import { ControlPacket, decodeControlPacket, encodeControlPacket } from "./control_packet.ts";
import { type ControlWrap, type ControlWrapConfig, createControlWrap, WrapResult } from "./control_wrap.ts";
import {
  DROP_BAD_COOKIE,
  DROP_RATE_LIMITED,
  DROP_SOURCE_RATE_LIMITED,
  DROP_UNKNOWN_SESSION,
  VERDICT_OK,
} from "./drop_counters.ts";
import { ControlListener, type ControlListenerOptions } from "./listener.ts";
import {
  opcodeOf,
  P_ACK_V1,
  P_CONTROL_HARD_RESET_CLIENT_V2,
  P_CONTROL_HARD_RESET_SERVER_V2,
  P_CONTROL_V1,
  SESSION_ID_SIZE,
} from "./opcode.ts";
import type { ControlSession } from "./session.ts";
import { ManualClock } from "../testing/control/clock.ts";
import { sharedTestPki } from "../testing/control/pki.ts";
import { pkiVerifier } from "./verifier.ts";
import { listenerUdpClient } from "../testing/control/listener_client.ts";
import { within } from "../testing/wait.ts";

const pki = await sharedTestPki();
const key = Uint8Array.from({ length: 256 }, (_, i) => (i * 31 + 7) & 0xff);

const WRAPS: Record<string, ControlWrapConfig> = {
  none: { mode: "none" },
  "tls-auth": { mode: "tls-auth", key, digest: "SHA256", direction: 0 },
  "tls-crypt": { mode: "tls-crypt", key },
};

function clientWrap(config: ControlWrapConfig): ControlWrap {
  return createControlWrap(config.mode === "tls-auth" ? { ...config, direction: 1 } : config, "client");
}

function makeListener(clock: ManualClock, extra: Partial<ControlListenerOptions> = {}): ControlListener {
  return new ControlListener({
    credentials: pki.server,
    verifyPeer: pkiVerifier({ ca: pki.caPem, crl: pki.crlPem, usage: "clientAuth" }),
    wrap: { mode: "none" },
    clock,
    ...extra,
  });
}

function sid(n: number): Uint8Array {
  return Uint8Array.from({ length: SESSION_ID_SIZE }, (_, i) => (n * 17 + i + 1) & 0xff);
}

/** A client packet as it leaves a client: plain form, then tls-auth/tls-crypt wrapping. */
function clientPacket(
  wrap: ControlWrap,
  p: {
    op: number;
    sid: Uint8Array;
    acks?: number[];
    remoteSid?: Uint8Array;
    messageId?: number;
    pid?: number;
  },
): Uint8Array {
  const plain = new Uint8Array(128);
  const acks = p.acks ?? [];
  const n = encodeControlPacket(
    plain,
    0,
    p.op,
    0,
    p.sid,
    acks,
    acks.length,
    p.remoteSid ?? new Uint8Array(SESSION_ID_SIZE),
    p.op === P_ACK_V1 ? -1 : p.messageId ?? 0,
    null,
  );
  const out = new Uint8Array(n + 128);
  return out.slice(0, wrap.wrap(plain, n, p.pid ?? 1, 1000, out));
}

function decodeReply(wrap: ControlWrap, wire: Uint8Array): ControlPacket {
  const res = new WrapResult();
  assert.equal(wrap.unwrap(wire, 0, wire.length, new Uint8Array(2048), res), VERDICT_OK);
  const pkt = new ControlPacket();
  assert.equal(decodeControlPacket(res.buffer, res.offset, res.length, pkt), VERDICT_OK);
  return pkt;
}

for (const [mode, config] of Object.entries(WRAPS)) {
  Deno.test({
    name:
      `ControlListener (${mode}) answers a reset from a source that never answers with one packet, no session, no timer, no retransmit`,
    fn: async () => {
      const clock = new ManualClock();
      const l = makeListener(clock, { wrap: config });
      const cw = clientWrap(config);
      const sent: Uint8Array[] = [];
      const reset = clientPacket(cw, { op: P_CONTROL_HARD_RESET_CLIENT_V2, sid: sid(1) });
      assert.equal(
        l.handlePacket("udp", "203.0.113.9:4000", "203.0.113.9:4000", (p) => sent.push(p), reset),
        VERDICT_OK,
      );
      assert.equal(sent.length, 1);
      const answer = decodeReply(cw, sent[0]);
      assert.equal(answer.opcode, P_CONTROL_HARD_RESET_SERVER_V2);
      assert.equal(answer.ackCount, 0, "the reset is acknowledged only once the source proves its address");
      assert.equal(answer.messageId, 0);
      assert.equal(l.sessionCount, 0, "no session");
      assert.equal(clock.pending, 0, "no timer");
      await clock.advance(120_000);
      assert.equal(sent.length, 1, "nothing retransmitted in two handshake windows");
      // No amplification: one packet per packet, and not one byte more than the reset (14 B plain both ways,
      // plus the same wrap).
      assert.equal(sent[0].length, reset.length, `${sent[0].length} B sent for ${reset.length} B received`);
      assert.equal(l.stats.cookieReplies, 1);
      l.close();
    },
  });
}

Deno.test({
  name:
    "ControlListener with resetCookies off (the mutation): the same unanswered reset holds a session that retransmits",
  fn: async () => {
    const clock = new ManualClock();
    const l = makeListener(clock, { resetCookies: false });
    const cw = clientWrap(WRAPS.none);
    const sent: Uint8Array[] = [];
    const reset = clientPacket(cw, { op: P_CONTROL_HARD_RESET_CLIENT_V2, sid: sid(1) });
    l.handlePacket("udp", "203.0.113.9:4000", "203.0.113.9:4000", (p) => sent.push(p), reset);
    assert.equal(l.sessionCount, 1);
    await clock.advance(59_000);
    assert.ok(sent.length >= 5, `${sent.length} packets for one 14-byte reset`);
    l.close();
  },
});

/** Sends a reset from `ep` and returns the server session id of the stateless answer. */
function cookieFor(l: ControlListener, cw: ControlWrap, ep: string, clientSid: Uint8Array): Uint8Array {
  const sent: Uint8Array[] = [];
  const reset = clientPacket(cw, { op: P_CONTROL_HARD_RESET_CLIENT_V2, sid: clientSid });
  assert.equal(l.handlePacket("udp", ep, ep, (p) => sent.push(p), reset), VERDICT_OK);
  assert.equal(sent.length, 1);
  return decodeReply(cw, sent[0]).sessionId.slice();
}

Deno.test({
  name:
    "ControlListener creates a session only for an ack of its cookie from the same endpoint and client session id, within 60-90 s",
  fn: async () => {
    const clock = new ManualClock(30_000 * 1000);
    const l = makeListener(clock, { wrap: WRAPS["tls-crypt"] });
    const cw = clientWrap(WRAPS["tls-crypt"]);
    const ep = "198.51.100.4:5000";
    const cookie = cookieFor(l, cw, ep, sid(2));
    const ack = (o: { from?: string; sid?: Uint8Array; cookie?: Uint8Array; acks?: number[] }) =>
      l.handlePacket(
        "udp",
        o.from ?? ep,
        o.from ?? ep,
        () => {},
        clientPacket(cw, {
          op: P_ACK_V1,
          sid: o.sid ?? sid(2),
          acks: o.acks ?? [0],
          remoteSid: o.cookie ?? cookie,
          pid: 2,
        }),
      );
    assert.equal(ack({ from: "198.51.100.4:5001" }), DROP_BAD_COOKIE, "another port");
    assert.equal(ack({ from: "198.51.100.5:5000" }), DROP_BAD_COOKIE, "another address");
    assert.equal(ack({ sid: sid(3) }), DROP_BAD_COOKIE, "another client session id");
    assert.equal(ack({ cookie: sid(9) }), DROP_BAD_COOKIE, "a made-up server session id");
    assert.equal(ack({ acks: [0, 5] }), DROP_BAD_COOKIE, "acks beyond the reset exchange");
    const bare = clientPacket(cw, { op: P_CONTROL_V1, sid: sid(2), messageId: 1, pid: 3 });
    assert.equal(l.handlePacket("udp", ep, ep, () => {}, bare), DROP_UNKNOWN_SESSION, "no ack at all");
    assert.equal(l.sessionCount, 0);
    await clock.advance(89_000);
    assert.equal(ack({}), VERDICT_OK, "89 s later, still valid");
    assert.equal(l.sessionCount, 1);
    const s = l.sessions()[0];
    assert.deepEqual(s.localSessionId, cookie, "the session keeps the cookie as its id");
    assert.deepEqual(s.remoteSessionId, sid(2));
    assert.equal(s.resetAcknowledged, true);
    assert.equal(l.stats.cookieSessions, 1);
    // A cookie from an older slot has expired.
    const late = cookieFor(l, cw, "198.51.100.6:7000", sid(4));
    await clock.advance(90_000);
    assert.equal(
      ack({ from: "198.51.100.6:7000", sid: sid(4), cookie: late }),
      DROP_BAD_COOKIE,
      "90 s later",
    );
    assert.equal(l.drops.counts[DROP_BAD_COOKIE], 6);
    l.close();
  },
});

Deno.test({
  name:
    "ControlListener: a repeated reset that acknowledges a live cookie opens the session, which acknowledges the reset; one naming another cookie is answered afresh",
  fn: async () => {
    const clock = new ManualClock(30_000 * 1000);
    const l = makeListener(clock, { wrap: WRAPS["tls-auth"] });
    const cw = clientWrap(WRAPS["tls-auth"]);
    const ep = "198.51.100.8:5000";
    const cookie = cookieFor(l, cw, ep, sid(5));
    const repeat = (remoteSid: Uint8Array, pid: number, out: Uint8Array[]) =>
      l.handlePacket(
        "udp",
        ep,
        ep,
        (p) => out.push(p),
        clientPacket(cw, { op: P_CONTROL_HARD_RESET_CLIENT_V2, sid: sid(5), acks: [0], remoteSid, pid }),
      );
    const fresh: Uint8Array[] = [];
    assert.equal(repeat(sid(9), 2, fresh), VERDICT_OK, "a reset acking a made-up cookie");
    assert.equal(fresh.length, 1, "answered again, statelessly");
    assert.equal(decodeReply(cw, fresh[0]).ackCount, 0);
    assert.equal(l.sessionCount, 0);
    const fromSession: Uint8Array[] = [];
    assert.equal(repeat(cookie, 3, fromSession), VERDICT_OK, "a reset acking our cookie");
    assert.equal(l.sessionCount, 1);
    assert.equal(l.stats.cookieSessions, 1);
    await clock.advance(10);
    const acks = fromSession.map((p) => decodeReply(cw, p)).filter((p) => p.ackCount > 0);
    assert.ok(acks.length >= 1, "the session acknowledges the client's reset");
    assert.deepEqual([...acks[0].acks.subarray(0, acks[0].ackCount)], [0]);
    assert.deepEqual(acks[0].remoteSessionId, sid(5));
    assert.deepEqual(acks[0].sessionId, cookie);
    // A stock client's way in: a bare ack of the answer. The session's first packet acknowledges its reset,
    // which the stock client waits for before its ClientHello.
    const ep2 = "198.51.100.9:5000";
    const cookie2 = cookieFor(l, cw, ep2, sid(6));
    const toStock: Uint8Array[] = [];
    const bareAck = clientPacket(cw, { op: P_ACK_V1, sid: sid(6), acks: [0], remoteSid: cookie2, pid: 2 });
    assert.equal(l.handlePacket("udp", ep2, ep2, (p) => toStock.push(p), bareAck), VERDICT_OK);
    assert.equal(l.sessionCount, 2);
    await clock.advance(10);
    assert.equal(toStock.length, 1, "one packet: the ack");
    const ackOfReset = decodeReply(cw, toStock[0]);
    assert.equal(ackOfReset.opcode, P_ACK_V1);
    assert.deepEqual([...ackOfReset.acks.subarray(0, ackOfReset.ackCount)], [0]);
    assert.deepEqual(ackOfReset.remoteSessionId, sid(6));
    l.close();
  },
});

Deno.test({
  name:
    "ControlListener limits resets per source address (IPv4, IPv6 /64) beside the global answer rate, whose last quarter only newcomers take",
  fn: async () => {
    const clock = new ManualClock();
    const l = makeListener(clock, {
      sourceResetBurst: 4,
      sourceResetRate: 1,
      resetReplyBurst: 8,
      resetReplyRate: 1,
    });
    const cw = clientWrap(WRAPS.none);
    const reset = (from: string, n: number) =>
      l.handlePacket(
        "udp",
        from,
        from,
        () => {},
        clientPacket(cw, { op: P_CONTROL_HARD_RESET_CLIENT_V2, sid: sid(n) }),
      );
    const fromOne = [1, 2, 3, 4, 5].map((port) => reset(`192.0.2.1:${port}`, port));
    assert.deepEqual(fromOne, [VERDICT_OK, VERDICT_OK, VERDICT_OK, VERDICT_OK, DROP_SOURCE_RATE_LIMITED]);
    assert.equal(reset("192.0.2.2:1", 6), VERDICT_OK, "another address has its own bucket");
    // Two addresses in one /64 share a bucket. Its first reset is a newcomer's; the next ones find only the
    // newcomers' reserve (a quarter of the global burst: 2) left in the global bucket.
    const six = [1, 2, 3, 4, 5].map((i) => reset(`[2001:db8:0:1::${i}]:443`, 10 + i));
    assert.deepEqual(six, [
      VERDICT_OK,
      DROP_RATE_LIMITED,
      DROP_RATE_LIMITED,
      DROP_RATE_LIMITED,
      DROP_SOURCE_RATE_LIMITED,
    ]);
    assert.equal(reset("[2001:db8:0:2::1]:443", 16), VERDICT_OK, "another /64, a newcomer: from the reserve");
    assert.equal(reset("[2001:db8:0:3::1]:443", 17), VERDICT_OK);
    assert.equal(
      reset("[2001:db8:0:4::1]:443", 18),
      DROP_RATE_LIMITED,
      "8 answers in all: the bucket is empty",
    );
    await clock.advance(1000);
    assert.equal(reset("192.0.2.2:2", 19), VERDICT_OK, "one token back after 1 s, for a newcomer again");
    assert.equal(reset("[2001:db8:0:1::99]:443", 20), DROP_RATE_LIMITED, "a busy /64 gets no token first");
    assert.equal(l.drops.counts[DROP_SOURCE_RATE_LIMITED], 2);
    assert.equal(l.drops.counts[DROP_RATE_LIMITED], 5);
    assert.equal(l.sessionCount, 0);
    l.close();
  },
});

Deno.test({
  name: "ControlListener over TCP opens a session at the reset (no cookie) within the per-source rate",
  fn: () => {
    const clock = new ManualClock();
    const l = makeListener(clock, { sourceResetBurst: 2, sourceResetRate: 1 });
    const cw = clientWrap(WRAPS.none);
    const sent: Uint8Array[] = [];
    const verdicts = [1, 2, 3].map((i) =>
      l.handlePacket(
        "tcp",
        `tcp#${i}`,
        `192.0.2.9:${4000 + i}`,
        (p) => sent.push(p),
        clientPacket(cw, { op: P_CONTROL_HARD_RESET_CLIENT_V2, sid: sid(i) }),
      )
    );
    assert.deepEqual(verdicts, [VERDICT_OK, VERDICT_OK, DROP_SOURCE_RATE_LIMITED]);
    assert.equal(l.sessionCount, 2);
    assert.equal(l.stats.cookieReplies, 0, "no stateless answer over TCP");
    l.close();
  },
});

Deno.test({
  name: "ControlListener remembers at most sourceTableSize sources under a flood of spoofed resets",
  fn: () => {
    const clock = new ManualClock();
    const l = makeListener(clock, { sourceTableSize: 256 });
    const cw = clientWrap(WRAPS.none);
    const reset = clientPacket(cw, { op: P_CONTROL_HARD_RESET_CLIENT_V2, sid: sid(1) });
    let answered = 0;
    for (let i = 0; i < 20_000; i++) {
      const from = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:1194`;
      if (l.handlePacket("udp", from, from, () => answered++, reset) === VERDICT_OK) clock.t += 1;
    }
    assert.equal(l.trackedSources, 256);
    assert.equal(l.sessionCount, 0);
    assert.equal(clock.pending, 0);
    assert.ok(answered > 1000, `${answered} answered`);
    l.close();
  },
});

/** A tsvpn client session wired to the listener over a fake UDP path that can drop client packets. */
function udpClient(l: ControlListener, ep: string, drop: (p: Uint8Array) => boolean): ControlSession {
  return listenerUdpClient(l, ep, pki, { wrapKey: key, drop, tlsTimeoutMs: 200 });
}

Deno.test({
  name:
    "ControlListener: a tsvpn client completes the cookie exchange even when its first ack of the answer is lost (acks repeat on later packets)",
  fn: async () => {
    const l = new ControlListener({
      credentials: pki.server,
      verifyPeer: pkiVerifier({ ca: pki.caPem, crl: pki.crlPem, usage: "clientAuth" }),
      wrap: { mode: "tls-crypt", key },
      session: { tlsTimeoutMs: 200 },
    });
    // The first client packet acknowledging the server's reset goes missing (whether a bare ack or a TLS
    // packet carrying the ack): only a later packet repeating that ack can complete the exchange.
    const asServer = createControlWrap({ mode: "tls-crypt", key }, "server");
    const dropped: number[] = [];
    const c = udpClient(l, "192.0.2.77:40000", (p) => {
      if (dropped.length > 0 || opcodeOf(p[0]) === P_CONTROL_HARD_RESET_CLIENT_V2) return false;
      const pkt = decodeReply(asServer, p);
      if (pkt.ackCount === 0 || !pkt.acks.subarray(0, pkt.ackCount).includes(0)) return false;
      dropped.push(pkt.opcode);
      return true;
    });
    const key0 = c.once("key");
    c.start();
    try {
      assert.equal((await within(key0, 10_000, "key")).keyId, 0);
      assert.equal(dropped.length, 1, "the client's first ack of our reset was lost");
      assert.equal(l.stats.cookieReplies, 1);
      assert.equal(l.stats.cookieSessions, 1);
      assert.equal(l.sessionCount, 1);
      assert.ok(l.sessions()[0].established);
    } finally {
      c.close("done", false);
      l.close();
    }
  },
});

Deno.test({
  name: "ControlListener: a client's first TLS packet may itself complete the cookie exchange",
  fn: () => {
    const clock = new ManualClock();
    const l = makeListener(clock);
    const cw = clientWrap(WRAPS.none);
    // A P_CONTROL_V1 from endpoint `ep` acking our cookie reply (message id 0) to client session `n`.
    const tlsAckingCookie = (ep: string, n: number, messageId: number) =>
      clientPacket(cw, {
        op: P_CONTROL_V1,
        sid: sid(n),
        acks: [0],
        remoteSid: cookieFor(l, cw, ep, sid(n)),
        messageId,
      });
    const first = tlsAckingCookie("192.0.2.8:1", 5, 1);
    assert.equal(l.handlePacket("udp", "192.0.2.8:1", "192.0.2.8:1", () => {}, first), VERDICT_OK);
    assert.equal(l.sessionCount, 1);
    // Message ids past 1 are not the next packet after a reset exchange.
    const late = tlsAckingCookie("192.0.2.8:2", 6, 2);
    assert.equal(l.handlePacket("udp", "192.0.2.8:2", "192.0.2.8:2", () => {}, late), DROP_BAD_COOKIE);
    assert.equal(l.sessionCount, 1);
    l.close();
  },
});
