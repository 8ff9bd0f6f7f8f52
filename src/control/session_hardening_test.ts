/**
 * ControlSession against hostile or broken peers: spoofed resets, TLS input
 * from an address that never acknowledged our reset, PUSH_REQUEST floods,
 * endless push-continuations, a peer that stops acknowledging, throwing
 * callbacks. Each must be dropped or end the one session, never throw.
 */

import assert from "node:assert/strict";
import { ControlPacket, decodeControlPacket, encodeControlPacket } from "./control_packet.ts";
import { DROP_UNEXPECTED, VERDICT_OK } from "./drop_counters.ts";
import {
  opcodeOf,
  P_ACK_V1,
  P_CONTROL_HARD_RESET_CLIENT_V2,
  P_CONTROL_HARD_RESET_SERVER_V2,
  P_CONTROL_V1,
} from "./opcode.ts";
import { ControlSession, type ControlSessionOptions } from "./session.ts";
import { ManualClock } from "../testing/control/clock.ts";
import { sharedTestPki } from "../testing/control/pki.ts";
import { pkiVerifier } from "./verifier.ts";
import { holds, until, untilAdvanced, within } from "../testing/wait.ts";

const pki = await sharedTestPki();

interface Link {
  client: ControlSession;
  server: ControlSession;
  /** Packets each side sent. */
  toServer: Uint8Array[];
  toClient: Uint8Array[];
  /** Set to false to cut a direction (packets are still recorded). */
  up: { toServer: boolean; toClient: boolean };
  errors: string[];
}

function link(
  o: { server?: Partial<ControlSessionOptions>; client?: Partial<ControlSessionOptions> } = {},
): Link {
  const l = {
    toServer: [],
    toClient: [],
    up: { toServer: true, toClient: true },
    errors: [],
  } as unknown as Link;
  l.server = new ControlSession({
    role: "server",
    credentials: pki.server,
    verifyPeer: pkiVerifier({ ca: pki.caPem, crl: pki.crlPem, usage: "clientAuth" }),
    send: (b) => {
      l.toClient.push(b);
      if (l.up.toClient) setTimeout(() => l.client.receive(b), 0);
    },
    peerId: 1,
    ...o.server,
  });
  l.client = new ControlSession({
    role: "client",
    credentials: pki.client,
    verifyPeer: pkiVerifier({ ca: pki.caPem, usage: "serverAuth" }),
    send: (b) => {
      l.toServer.push(b);
      if (l.up.toServer) setTimeout(() => l.server.receive(b), 0);
    },
    ...o.client,
  });
  l.client.on("error", (e) => l.errors.push(`client: ${e.reason}`));
  l.server.on("error", (e) => l.errors.push(`server: ${e.reason}`));
  return l;
}

function plain(
  op: number,
  sid: Uint8Array,
  acks: number[],
  remote: Uint8Array,
  msgId: number,
  payload?: Uint8Array,
) {
  const out = new Uint8Array(2000);
  const n = encodeControlPacket(out, 0, op, 0, sid, acks, acks.length, remote, msgId, payload ?? null);
  return out.slice(0, n);
}

function decoded(b: Uint8Array): ControlPacket {
  const p = new ControlPacket();
  assert.equal(decodeControlPacket(b, 0, b.length, p), VERDICT_OK);
  return p;
}

function close(l: Link): void {
  l.client.close("done", false);
  l.server.close("done", false);
}

Deno.test({
  name:
    "ControlSession client holds a server reset that does not acknowledge its own only provisionally: no TLS for it, and the real server replaces it",
  fn: async () => {
    const l = link();
    l.up.toServer = false;
    l.client.start();
    try {
      await until(() => l.toServer.length > 0, { what: "the client's hard reset" });
      const fakeSid = Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9);
      // A blind attacker cannot know our session id, so it cannot acknowledge our reset.
      const spoof = plain(P_CONTROL_HARD_RESET_SERVER_V2, fakeSid, [], new Uint8Array(8), 0);
      assert.equal(l.client.receive(spoof), VERDICT_OK, "held like a stateless answer");
      assert.equal(l.client.remoteSessionId, null, "no server session id trusted");
      const before = l.toServer.length;
      await until(() => l.toServer.length > before, { what: "the client's ack of the spoofed reset" });
      const sentAfter = l.toServer.slice(before).map(decoded);
      assert.ok(sentAfter.every((p) => p.opcode === P_ACK_V1), "only an ack went out: no ClientHello");
      assert.match(l.client.snapshot(), /key0 reset peerReset=true/, "key 0 has not started TLS");
      l.up.toServer = true;
      const key = l.client.once("key");
      for (const p of l.toServer) setTimeout(() => l.server.receive(p), 0);
      await within(key, 10000, "client key");
      assert.deepEqual(l.client.remoteSessionId, l.server.localSessionId);
    } finally {
      close(l);
    }
  },
});

Deno.test({
  name:
    "ControlSession server refuses TLS input that does not acknowledge its reset and starts no TLS for it",
  fn: async () => {
    const l = link();
    l.up.toServer = false;
    l.up.toClient = false;
    try {
      const clientSid = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
      const zero = new Uint8Array(8);
      assert.equal(
        l.server.receive(plain(P_CONTROL_HARD_RESET_CLIENT_V2, clientSid, [], zero, 0)),
        VERDICT_OK,
      );
      await until(() => l.toClient.length > 0, { what: "the server's hard reset" });
      const serverReset = decoded(l.toClient[0]);
      assert.equal(serverReset.opcode, P_CONTROL_HARD_RESET_SERVER_V2);
      // A spoofing sender never saw the server's reset: its "ClientHello" acks nothing.
      const hello = Uint8Array.of(22, 3, 1, 0, 4, 1, 0, 0, 0);
      assert.equal(l.server.receive(plain(P_CONTROL_V1, clientSid, [], zero, 1, hello)), DROP_UNEXPECTED);
      // Proving an absence: give a TLS engine that wrongly got the hello time to answer it.
      await holds(
        () => l.toClient.every((p) => opcodeOf(p[0]) === P_CONTROL_HARD_RESET_SERVER_V2),
        200,
        "only the server's reset is sent: no TLS output, no acknowledgement of the refused packet",
      );
      assert.equal(l.server.closed, false);
    } finally {
      close(l);
    }
  },
});

Deno.test({
  name: "ControlSession server answers a flood of PUSH_REQUESTs with one PUSH_REPLY per 30 s holdoff",
  fn: async () => {
    const clock = new ManualClock();
    let pushes = 0;
    const l = link({
      server: { clock, pushOptions: () => (pushes++, { ping: 10 }) },
      client: { clock },
    });
    const infos: string[] = [];
    l.server.on("message", (m) => infos.push(m.text));
    let pushed = false;
    l.client.on("pushReply", () => pushed = true);
    /** Sends `requests` PUSH_REQUESTs and a marker, and returns once the server has read them all. */
    const flood = async (requests: number, marker: string) => {
      for (let i = 0; i < requests; i++) l.client.sendControlMessage("PUSH_REQUEST");
      l.client.sendControlMessage(`INFO,${marker}`);
      // The control channel is ordered: the marker arrives after every request before it.
      await untilAdvanced(clock, () => infos.includes(`INFO,${marker}`), { what: marker });
    };
    try {
      l.client.start();
      await untilAdvanced(clock, () => pushed, { what: "push reply" });
      const repliedAt = clock.t;
      await flood(300, "flood read");
      assert.equal(pushes, 1, "repeated requests inside the holdoff are ignored");
      await clock.advance(repliedAt + 29_000 - clock.t);
      await flood(1, "late request read");
      assert.equal(pushes, 1, "still inside the holdoff");
      await clock.advance(repliedAt + 30_000 - clock.t);
      await flood(1, "request after the holdoff read");
      assert.equal(pushes, 2, "a request after the holdoff is answered again");
      assert.equal(l.server.closed, false);
      assert.deepEqual(l.errors, []);
    } finally {
      close(l);
    }
  },
});

Deno.test({
  name: "ControlSession client ends the session on a PUSH_REPLY that never stops continuing",
  fn: async () => {
    const extra = Array.from({ length: 400 }, (_, i) => `setenv X${i} ${"v".repeat(900)}`);
    const l = link({ server: { pushOptions: () => ({ extra }) } });
    try {
      const closed = l.client.once("closed");
      l.client.start();
      const e = await within(closed, 15000, "client closed");
      assert.match(e.reason, /PUSH_REPLY longer than we accept/);
      assert.equal(e.kind, "protocol");
    } finally {
      close(l);
    }
  },
});

Deno.test({
  name: "ControlSession ends a session whose peer stops acknowledging while we keep writing",
  fn: async () => {
    const l = link();
    try {
      const key = l.client.once("key");
      l.client.start();
      await within(key, 10000, "client key");
      l.up.toServer = false; // the client's acks are lost from now on
      const closed = l.server.once("closed");
      const big = "INFO," + "x".repeat(4000);
      for (let i = 0; i < 200 && !l.server.closed; i++) l.server.sendControlMessage(big);
      const e = await within(closed, 5000, "server closed");
      assert.match(e.reason, /stopped acknowledging/);
      assert.equal(e.kind, "timeout");
    } finally {
      close(l);
    }
  },
});

Deno.test({
  name: "ControlSession turns a throwing send callback into a closed session, not an uncaught exception",
  fn: async () => {
    const c = new ControlSession({
      role: "client",
      credentials: pki.client,
      verifyPeer: pkiVerifier({ ca: pki.caPem, usage: "serverAuth" }),
      send: () => {
        throw new Error("socket gone");
      },
    });
    const closed = c.once("closed");
    c.start();
    const e = await within(closed, 2000, "closed");
    assert.match(e.reason, /internal error: socket gone/);
    assert.equal(e.kind, "internal");
    assert.equal(c.closed, true);
  },
});
