import assert from "node:assert/strict";
import { createControlWrap } from "./control_wrap.ts";
import {
  DROP_AUTH_FAILED,
  DROP_BAD_OPCODE,
  DROP_CAPACITY,
  DROP_MALFORMED,
  DROP_RATE_LIMITED,
  DROP_UNKNOWN_SESSION,
  DROP_UNSUPPORTED,
  VERDICT_OK,
} from "./drop_counters.ts";
import { ControlListener, type ControlListenerOptions } from "./listener.ts";
import {
  headerByte,
  P_ACK_V1,
  P_CONTROL_HARD_RESET_CLIENT_V2,
  P_CONTROL_HARD_RESET_CLIENT_V3,
  P_CONTROL_SOFT_RESET_V1,
  P_CONTROL_V1,
  P_DATA_V2,
} from "./opcode.ts";
import { ControlSession } from "./session.ts";
import { frame, FrameReassembler } from "./tcp_framing.ts";
import { sharedTestPki } from "../testing/control/pki.ts";
import { pkiVerifier } from "./verifier.ts";
import { listenerUdpClient } from "../testing/control/listener_client.ts";
import { until, within } from "../testing/wait.ts";

const pki = await sharedTestPki();
const key = Uint8Array.from({ length: 256 }, (_, i) => (i * 29 + 5) & 0xff);

function makeListener(extra: Partial<ControlListenerOptions> = {}): ControlListener {
  return new ControlListener({
    credentials: pki.server,
    verifyPeer: pkiVerifier({ ca: pki.caPem, crl: pki.crlPem, usage: "clientAuth" }),
    wrap: { mode: "tls-crypt", key },
    pushOptions: (_peer, ctx) => ({
      ifconfig: { local: `10.8.0.${ctx.peerId + 2}`, remoteOrNetmask: "255.255.255.0" },
    }),
    ...extra,
  });
}

/** A client session joined to the listener as if over UDP from `endpoint`. */
function udpClient(listener: ControlListener, endpoint: string): ControlSession {
  return listenerUdpClient(listener, endpoint, pki, { wrapKey: key });
}

Deno.test({
  name:
    "ControlListener.handlePacket() creates a session for a verified reset and dispatches data by peer-id",
  fn: async () => {
    const data: number[] = [];
    const l = makeListener({ onData: (_b, _o, _l, s, ctx) => data.push(s && ctx ? ctx.peerId : -1) });
    const c = udpClient(l, "192.0.2.1:5000");
    const push = c.once("pushReply");
    c.start();
    try {
      const reply = await within(push, 10000, "push reply");
      assert.equal(reply.options.peerId, 0);
      assert.equal(reply.options.ifconfig?.local, "10.8.0.2");
      assert.equal(l.sessionCount, 1);
      assert.ok(l.sessionByPeerId(0)?.established);
      const pkt = Uint8Array.of(headerByte(P_DATA_V2, 0), 0, 0, 0, 1, 2, 3, 4);
      assert.equal(l.handlePacket("udp", "192.0.2.1:5000", "x", () => {}, pkt), VERDICT_OK);
      pkt[3] = 9;
      l.handlePacket("udp", "192.0.2.1:5000", "x", () => {}, pkt);
      assert.deepEqual(data, [0, -1]);
    } finally {
      c.close("done", false);
      l.close();
    }
  },
});

Deno.test({
  name:
    "ControlListener.handlePacket() drops unverified, unknown and unsupported packets without creating state",
  fn: () => {
    const l = makeListener();
    const noop = () => {};
    // A reset wrapped with the wrong tls-crypt key.
    const wrong = createControlWrap({ mode: "tls-crypt", key: key.map((b) => b ^ 1) }, "client");
    const plain = Uint8Array.of(headerByte(7, 0), 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0);
    const wire = new Uint8Array(100);
    const n = wrong.wrap(plain, plain.length, 1, 1, wire);
    assert.equal(l.handlePacket("udp", "a:1", "a:1", noop, wire.subarray(0, n)), DROP_AUTH_FAILED);
    // A stranger's P_CONTROL_V1 might answer a stateless reset reply: it is unwrapped first (too short here).
    const ctl = Uint8Array.of(headerByte(P_CONTROL_V1, 0), 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 1);
    assert.equal(l.handlePacket("udp", "a:1", "a:1", noop, ctl), DROP_MALFORMED);
    assert.equal(l.handlePacket("tcp", "tcp#1", "a:1", noop, ctl), DROP_UNKNOWN_SESSION);
    const v3 = Uint8Array.of(
      headerByte(P_CONTROL_HARD_RESET_CLIENT_V3, 0),
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      0,
      0,
      0,
      0,
      0,
    );
    assert.equal(l.handlePacket("udp", "a:1", "a:1", noop, v3), DROP_UNSUPPORTED);
    assert.equal(l.handlePacket("udp", "a:1", "a:1", noop, Uint8Array.of(0xf8, 1)), DROP_MALFORMED);
    assert.equal(l.handlePacket("udp", "a:1", "a:1", noop, new Uint8Array(20).fill(0xf8)), DROP_BAD_OPCODE);
    assert.equal(l.sessionCount, 0);
    assert.equal(l.drops.total, 6);
  },
});

Deno.test({
  name: "ControlListener rate-limits new sessions (resets creating sessions at once, as over TCP)",
  fn: () => {
    const clock = { t: 0, now: () => clock.t, setTimer: () => 0, clearTimer: () => {} };
    const l = makeListener({
      wrap: { mode: "none" },
      handshakeBurst: 2,
      handshakeRate: 1,
      clock,
      resetCookies: false,
    });
    const reset = (i: number) => Uint8Array.of(headerByte(7, 0), i, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0);
    const verdicts = [1, 2, 3].map((i) => l.handlePacket("udp", `b:${i}`, `b:${i}`, () => {}, reset(i)));
    assert.deepEqual(verdicts, [VERDICT_OK, VERDICT_OK, DROP_RATE_LIMITED]);
    clock.t = 1000;
    assert.equal(l.handlePacket("udp", "b:4", "b:4", () => {}, reset(4)), VERDICT_OK);
    assert.equal(l.sessionCount, 3);
    l.close();
  },
});

Deno.test({
  name: "ControlListener serves a client over length-framed TCP with arbitrary chunking",
  fn: async () => {
    const l = makeListener();
    const toServer = new FrameReassembler();
    const toClient = new FrameReassembler();
    // deno-lint-ignore prefer-const
    let client: ControlSession;
    // Re-chunk each direction's byte stream at odd sizes to exercise reassembly.
    const chop = (bytes: Uint8Array, sink: (c: Uint8Array) => void) => {
      for (let o = 0; o < bytes.length; o += 7) sink(bytes.subarray(o, Math.min(bytes.length, o + 7)));
    };
    const reply = (p: Uint8Array) =>
      setTimeout(
        () => chop(frame(p), (c) => toClient.feed(c, (b, o, n) => client.receive(b.slice(o, o + n)))),
        0,
      );
    client = new ControlSession({
      role: "client",
      proto: "tcp",
      credentials: pki.client,
      verifyPeer: pkiVerifier({ ca: pki.caPem, usage: "serverAuth" }),
      wrap: createControlWrap({ mode: "tls-crypt", key }, "client"),
      send: (p) =>
        setTimeout(
          () =>
            chop(frame(p), (c) =>
              toServer.feed(c, (b, o, n) => l.handlePacket("tcp", "tcp#1", "t:1", reply, b, o, n))),
          0,
        ),
    });
    const k = client.once("key");
    client.start();
    try {
      assert.equal((await within(k, 10000, "key")).keyId, 0);
      const closed = l.sessions()[0].once("closed");
      l.linkClosed("tcp#1");
      await within(closed, 1000, "closed");
      assert.equal(l.sessionCount, 0);
    } finally {
      client.close("done", false);
      l.close();
    }
  },
});

Deno.test({
  name: "ControlListener replaces an endpoint's old session when the client restarts",
  fn: async () => {
    const l = makeListener();
    const a = udpClient(l, "198.51.100.7:4000");
    const ka = a.once("key");
    a.start();
    const b = udpClient(l, "198.51.100.7:4000");
    try {
      await within(ka, 10000, "first key");
      const oldServer = l.sessions()[0];
      const oldClosed = oldServer.once("closed");
      const kb = b.once("key");
      b.start();
      await within(kb, 10000, "second key");
      assert.match((await within(oldClosed, 2000, "old closed")).reason, /replaced/);
      assert.equal(l.sessionCount, 1);
    } finally {
      a.close("done", false);
      b.close("done", false);
      l.close();
    }
  },
});

/** The first packet (the hard reset) a fresh tls-crypt client would send; replies to it go nowhere. */
async function capturedReset(): Promise<Uint8Array> {
  let first: Uint8Array | null = null;
  const c = new ControlSession({
    role: "client",
    credentials: pki.client,
    verifyPeer: pkiVerifier({ ca: pki.caPem, usage: "serverAuth" }),
    wrap: createControlWrap({ mode: "tls-crypt", key }, "client"),
    send: (p) => void (first ??= p),
  });
  c.start();
  await until(() => first, { what: "the client's first packet" });
  c.close("captured", false);
  return first!;
}

Deno.test({
  name:
    "ControlListener without reset cookies keeps an established session when resets from a spoofed copy of its endpoint arrive (one pending slot, expires)",
  fn: async () => {
    const l = makeListener({ session: { handshakeWindowMs: 300 }, resetCookies: false });
    const ep = "198.51.100.20:5000";
    const a = udpClient(l, ep);
    const ka = a.once("key");
    a.start();
    try {
      await within(ka, 10000, "key");
      const established = l.sessions()[0];
      const spoof1 = await capturedReset();
      assert.equal(l.handlePacket("udp", ep, ep, () => {}, spoof1), VERDICT_OK);
      assert.equal(l.sessionCount, 2);
      const spoof2 = await capturedReset();
      const firstPending = l.sessions().find((s) => s !== established)!;
      assert.equal(l.handlePacket("udp", ep, ep, () => {}, spoof2), VERDICT_OK);
      assert.equal(firstPending.closed, true, "a newer reset replaces the pending one");
      assert.equal(l.sessionCount, 2, "still one established and one pending");
      assert.equal(established.closed, false);
      // The established session still works: a renegotiation completes.
      const next = a.once("key");
      assert.equal(a.renegotiate(), true);
      assert.equal((await within(next, 10000, "rekey")).keyId, 1);
      // The spoofed pending session ends with its handshake window (300 ms).
      await until(() => l.sessionCount === 1, {
        what: "the spoofed pending session to expire",
        timeoutMs: 2000,
      });
      assert.equal(l.sessions()[0], established);
    } finally {
      a.close("done", false);
      l.close();
    }
  },
});

Deno.test({
  name:
    "ControlListener without reset cookies, at capacity, evicts a session whose peer never answered, so a genuine client still gets in",
  fn: async () => {
    const l = makeListener({ maxSessions: 3, resetCookies: false });
    const spoofed: Uint8Array[] = [];
    for (let i = 0; i < 3; i++) spoofed.push(await capturedReset());
    spoofed.forEach((p, i) => l.handlePacket("udp", `203.0.113.${i}:1`, "x", () => {}, p));
    assert.equal(l.sessionCount, 3);
    const c = udpClient(l, "192.0.2.50:6000");
    const k = c.once("key");
    c.start();
    try {
      await within(k, 10000, "key");
      assert.equal(l.sessionCount, 3);
      assert.equal(l.drops.counts[DROP_CAPACITY], 0);
      // Now two unanswered sessions and one proven: more spoofed resets keep evicting only unanswered ones.
      for (let i = 0; i < 4; i++) {
        const p = await capturedReset();
        assert.equal(l.handlePacket("udp", `203.0.113.${10 + i}:1`, "x", () => {}, p), VERDICT_OK);
      }
      assert.equal(l.sessionCount, 3);
      assert.ok(l.sessions().some((s) => s.established));
    } finally {
      c.close("done", false);
      l.close();
    }
  },
});

Deno.test({
  name:
    "ControlListener.handlePacket() drops a reset with an all-zero session id and never throws from callbacks",
  fn: () => {
    const l = makeListener({
      wrap: { mode: "none" },
      onData: () => {
        throw new Error("data layer bug");
      },
    });
    const zero = Uint8Array.of(headerByte(7, 0), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    assert.equal(l.handlePacket("udp", "c:1", "c:1", () => {}, zero), DROP_MALFORMED);
    assert.equal(l.sessionCount, 0);
    const data = Uint8Array.of(headerByte(P_DATA_V2, 0), 0, 0, 0, 1, 2, 3, 4);
    assert.equal(l.handlePacket("udp", "c:1", "c:1", () => {}, data), DROP_MALFORMED);
    assert.equal(l.drops.counts[DROP_MALFORMED], 2);
    l.close();
  },
});

Deno.test({
  name:
    "ControlListener.screen() refuses, as unknown_session, a packet the stranger gate would refuse naming a session id no peer has, and passes a live session's",
  fn: async () => {
    const l = makeListener();
    const c = udpClient(l, "192.0.2.9:5000");
    const push = c.once("pushReply");
    c.start();
    try {
      await within(push, 10000, "push reply");
      const packet = (op: number, keyId: number, sid: Uint8Array) => {
        const p = new Uint8Array(40);
        p[0] = headerByte(op, keyId);
        p.set(sid, 1);
        return p;
      };
      const stranger = Uint8Array.of(9, 8, 7, 6, 5, 4, 3, 2);
      const before = l.drops.counts[DROP_UNKNOWN_SESSION];
      assert.equal(l.screen(packet(P_CONTROL_SOFT_RESET_V1, 1, stranger), 0, 40), DROP_UNKNOWN_SESSION);
      assert.equal(l.screen(packet(P_CONTROL_V1, 3, stranger), 0, 40), DROP_UNKNOWN_SESSION, "key-id 3");
      assert.equal(l.drops.counts[DROP_UNKNOWN_SESSION], before + 2);
      // The gate's own packets (key-id 0 resets, control, acks) still reach it.
      assert.equal(l.screen(packet(P_CONTROL_V1, 0, stranger), 0, 40), VERDICT_OK);
      // The live session's id passes, whatever the opcode: its session decides.
      const live = c.localSessionId;
      assert.equal(l.screen(packet(P_CONTROL_SOFT_RESET_V1, 1, live), 0, 40), VERDICT_OK);
      assert.equal(l.screen(packet(P_CONTROL_V1, 3, live), 0, 40), VERDICT_OK);
      assert.equal(l.drops.counts[DROP_UNKNOWN_SESSION], before + 2);
      // Once the server's session is gone its id is a stranger's again.
      l.sessions()[0].close("test", false);
      assert.equal(l.sessionCount, 0);
      assert.equal(l.screen(packet(P_CONTROL_SOFT_RESET_V1, 1, live), 0, 40), DROP_UNKNOWN_SESSION);
    } finally {
      c.close("done", false);
      l.close();
    }
  },
});

Deno.test("ControlListener.screen() refuses and counts by opcode and size alone, and passes everything else on", () => {
  const l = makeListener();
  try {
    const packet = (op: number, len: number) => {
      const p = new Uint8Array(len);
      p[0] = headerByte(op, 0);
      return p;
    };
    assert.equal(l.screen(packet(0, 40), 0, 40), DROP_BAD_OPCODE, "opcode 0 does not exist");
    assert.equal(l.screen(packet(31, 40), 0, 40), DROP_BAD_OPCODE, "nor does 31");
    assert.equal(
      l.screen(packet(P_CONTROL_HARD_RESET_CLIENT_V3, 40), 0, 40),
      DROP_UNSUPPORTED,
      "tls-crypt-v2",
    );
    assert.equal(l.screen(packet(P_CONTROL_V1, 5), 0, 5), DROP_MALFORMED, "shorter than opcode + session id");
    assert.equal(l.drops.counts[DROP_BAD_OPCODE], 2);
    assert.equal(l.drops.counts[DROP_UNSUPPORTED], 1);
    assert.equal(l.drops.counts[DROP_MALFORMED], 1);
    // What needs the full path is not counted here: what the stranger gate checks (resets, control and acks
    // with key-id 0), data, and the listener's own checks.
    for (const op of [P_CONTROL_HARD_RESET_CLIENT_V2, P_CONTROL_V1, P_ACK_V1, P_DATA_V2]) {
      assert.equal(l.screen(packet(op, 40), 0, 40), VERDICT_OK, `opcode ${op}`);
    }
    assert.equal(
      l.screen(new Uint8Array(0), 0, 0),
      VERDICT_OK,
      "an empty datagram is handlePacket's to count",
    );
    assert.equal(l.drops.total, 4);
  } finally {
    l.close();
  }
});
