import assert from "node:assert/strict";
import {
  type OutgoingControl,
  RECV_ACCEPTED,
  RECV_DUPLICATE,
  RECV_OUT_OF_WINDOW,
  ReliableChannel,
} from "./reliable.ts";
import { P_ACK_V1, P_CONTROL_HARD_RESET_CLIENT_V2, P_CONTROL_V1 } from "./opcode.ts";

/** Applies one outgoing packet to the peer, as the session does after decoding. */
function deliver(p: OutgoingControl, to: ReliableChannel): void {
  to.receiveAcks(p.acks, p.acks.length);
  if (p.opcode !== P_ACK_V1) to.receive(p.opcode, p.messageId, p.payload ?? new Uint8Array(0));
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function bytes(n: number, seed: number): Uint8Array {
  const r = seeded(seed);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

function concatPayloads(ms: { payload: Uint8Array }[]): Uint8Array {
  const out = new Uint8Array(ms.reduce((n, m) => n + m.payload.length, 0));
  let o = 0;
  for (const m of ms) {
    out.set(m.payload, o);
    o += m.payload.length;
  }
  return out;
}

/**
 * Runs two channels over a simulated network with the given loss, duplication
 * and reordering probabilities, with a fake clock, until both are idle.
 */
function simulate(loss: number, dup: number, reorder: number, seed: number) {
  const rnd = seeded(seed);
  const a = new ReliableChannel({ maxPayload: 100, initialTimeoutMs: 500 });
  const b = new ReliableChannel({ maxPayload: 100, initialTimeoutMs: 500 });
  const dataA = bytes(5000, seed + 1);
  const dataB = bytes(3000, seed + 2);
  a.sendMessage(P_CONTROL_HARD_RESET_CLIENT_V2);
  a.write(dataA);
  b.write(dataB);
  const gotA: { payload: Uint8Array; opcode: number }[] = [];
  const gotB: { payload: Uint8Array; opcode: number }[] = [];
  let now = 0;
  let inFlight: { at: number; p: OutgoingControl; to: ReliableChannel }[] = [];
  let maxInflight = 0;
  for (let step = 0; step < 200000; step++) {
    for (const [ch, peer] of [[a, b], [b, a]] as const) {
      for (const p of ch.poll(now)) {
        if (rnd() < loss) continue;
        const copies = rnd() < dup ? 2 : 1;
        for (let c = 0; c < copies; c++) {
          inFlight.push({ at: now + 10 + (rnd() < reorder ? Math.floor(rnd() * 300) : 0), p, to: peer });
        }
      }
      maxInflight = Math.max(maxInflight, ch.inflight);
    }
    const due = inFlight.filter((x) => x.at <= now).sort((x, y) => x.at - y.at);
    inFlight = inFlight.filter((x) => x.at > now);
    for (const x of due) deliver(x.p, x.to);
    gotB.push(...b.takeDelivered());
    gotA.push(...a.takeDelivered());
    if (a.idle && b.idle && inFlight.length === 0) break;
    now += 10;
  }
  return { a, b, dataA, dataB, gotA, gotB, maxInflight, now };
}

Deno.test("ReliableChannel delivers both streams intact and in order over a clean network", () => {
  const r = simulate(0, 0, 0, 1);
  assert.equal(r.gotB[0].opcode, P_CONTROL_HARD_RESET_CLIENT_V2);
  assert.deepEqual(concatPayloads(r.gotB.slice(1)), r.dataA);
  assert.deepEqual(concatPayloads(r.gotA), r.dataB);
  assert.equal(r.a.retransmissions, 0);
  assert.ok(r.a.idle && r.b.idle);
});

Deno.test("ReliableChannel recovers from 30% loss, duplication and reordering", () => {
  for (const seed of [2, 3, 4, 5, 6]) {
    const r = simulate(0.3, 0.2, 0.4, seed);
    assert.deepEqual(concatPayloads(r.gotB.slice(1)), r.dataA, `seed ${seed}`);
    assert.deepEqual(concatPayloads(r.gotA), r.dataB, `seed ${seed}`);
    assert.ok(r.a.retransmissions > 0);
    assert.ok(r.a.idle && r.b.idle, `seed ${seed} idle`);
  }
});

Deno.test("ReliableChannel never has more than the send window in flight", () => {
  const r = simulate(0.5, 0, 0.5, 9);
  assert.ok(r.maxInflight <= 6, `max in flight ${r.maxInflight}`);
  assert.deepEqual(concatPayloads(r.gotB.slice(1)), r.dataA);
});

Deno.test("ReliableChannel.write() cuts the stream at maxPayload and respects the window", () => {
  const ch = new ReliableChannel({ maxPayload: 10, sendWindow: 3 });
  ch.write(new Uint8Array(45));
  const first = ch.poll(0);
  assert.deepEqual(first.map((p) => p.messageId), [0, 1, 2]);
  assert.ok(first.every((p) => p.payload!.length === 10 && p.opcode === P_CONTROL_V1));
  assert.equal(ch.backlog, 2, "two more messages wait for window space");
  ch.receiveAcks([1], 1);
  assert.deepEqual(ch.poll(1).map((p) => p.messageId), [], "id 3 needs id 0 acked: lowest+window");
  ch.receiveAcks([0], 1);
  const next = ch.poll(2);
  assert.deepEqual(next.map((p) => p.messageId), [3, 4]);
  assert.equal(next[1].payload!.length, 5);
});

Deno.test("ReliableChannel.poll() retransmits with exponential backoff", () => {
  const ch = new ReliableChannel({ initialTimeoutMs: 1000 });
  ch.sendMessage(P_CONTROL_HARD_RESET_CLIENT_V2);
  const sends: number[] = [];
  for (let t = 0; t <= 16000; t += 100) if (ch.poll(t).length) sends.push(t);
  assert.deepEqual(sends, [0, 1000, 3000, 7000, 15000]);
  assert.equal(ch.retransmissions, 4);
  assert.equal(ch.nextWakeup(), 31000);
});

Deno.test("ReliableChannel.receive() re-acks duplicates and drops ids beyond the receive window", () => {
  const ch = new ReliableChannel({ recvWindow: 12 });
  const p = new Uint8Array(1);
  assert.equal(ch.receive(P_CONTROL_V1, 0, p), RECV_ACCEPTED);
  assert.deepEqual(ch.poll(0).map((x) => [x.opcode, x.acks]), [[P_ACK_V1, [0]]]);
  assert.equal(ch.receive(P_CONTROL_V1, 0, p), RECV_DUPLICATE);
  assert.deepEqual(ch.poll(0).map((x) => x.acks), [[0]]);
  assert.equal(ch.receive(P_CONTROL_V1, 13, p), RECV_OUT_OF_WINDOW);
  assert.equal(ch.receive(P_CONTROL_V1, 12, p), RECV_ACCEPTED);
  assert.equal(ch.takeDelivered().length, 1, "id 12 waits for ids 1..11");
  assert.equal(ch.nextReceiveId, 1);
});

Deno.test("ReliableChannel piggybacks acks on data and caps acks per packet at 8", () => {
  const ch = new ReliableChannel();
  for (let i = 0; i < 10; i++) ch.receive(P_CONTROL_V1, i, new Uint8Array(1));
  ch.write(new Uint8Array(3));
  const out = ch.poll(0);
  assert.equal(out[0].opcode, P_CONTROL_V1);
  assert.deepEqual(out[0].acks, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(out[1].opcode, P_ACK_V1);
  assert.deepEqual(out[1].acks, [8, 9]);
  assert.equal(ch.takeDelivered().length, 10);
});

Deno.test("ReliableChannel fast-retransmits a message after three later ones were acked", () => {
  const ch = new ReliableChannel({ maxPayload: 1, initialTimeoutMs: 10000 });
  ch.write(new Uint8Array(5));
  assert.equal(ch.poll(0).length, 5);
  ch.receiveAcks([1, 2, 3], 3);
  const again = ch.poll(1);
  assert.deepEqual(again.map((p) => p.messageId), [0]);
  assert.equal(again[0].retransmit, true);
});

Deno.test("ReliableChannel.backlogBytes counts bytes waiting behind a full send window", () => {
  const r = new ReliableChannel({ maxPayload: 100 });
  r.write(new Uint8Array(1000));
  r.poll(0);
  assert.equal(r.inflight, 6);
  assert.equal(r.backlogBytes, 400);
  r.write(new Uint8Array(50));
  assert.equal(r.backlogBytes, 450);
  assert.equal(r.acknowledged(0), false);
  r.receiveAcks([0, 1], 2);
  assert.equal(r.acknowledged(0), true);
  assert.equal(r.acknowledged(7), false);
  assert.equal(r.backlogBytes, 250);
});
