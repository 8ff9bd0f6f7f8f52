import assert from "node:assert/strict";
import { frame, FrameReassembler } from "./tcp_framing.ts";
import { framedWriter, FrameWriteQueue } from "./tcp_framing_io.ts";
import { pause } from "../testing/wait.ts";
import { concatBytes } from "../testing/bytes.ts";

/**
 * One macrotask turn. The connections below are in-memory fakes whose writes
 * complete only when the test releases them, so no real time is involved:
 * after a turn every promise reaction of a released write has run.
 */
const turn = () => pause(0);

function collect(r: FrameReassembler, chunks: Uint8Array[]): number[][] {
  const got: number[][] = [];
  for (const c of chunks) r.feed(c, (b, o, l) => got.push([...b.subarray(o, o + l)]));
  return got;
}

Deno.test("frame() prefixes a 16-bit big-endian length", () => {
  assert.deepEqual([...frame(Uint8Array.from([7, 8, 9]))], [0, 3, 7, 8, 9]);
});

Deno.test("FrameReassembler.feed() rebuilds packets from every possible split of the stream", () => {
  const pkts = [Uint8Array.from([1]), new Uint8Array(300).fill(2), Uint8Array.from([3, 3, 3])];
  const stream = concatBytes(...pkts.map(frame));
  const want = pkts.map((p) => [...p]);
  for (let a = 0; a <= stream.length; a++) {
    for (const b of [a, Math.min(stream.length, a + 1), Math.min(stream.length, a + 150)]) {
      const r = new FrameReassembler();
      const got = collect(r, [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]);
      assert.deepEqual(got, want, `split at ${a},${b}`);
      assert.equal(r.pending, 0);
    }
  }
});

Deno.test("FrameReassembler.feed() delivers a byte-at-a-time stream", () => {
  const stream = concatBytes(frame(Uint8Array.from([5, 6])), frame(Uint8Array.from([7])));
  const r = new FrameReassembler();
  const got = collect(r, [...stream].map((b) => Uint8Array.of(b)));
  assert.deepEqual(got, [[5, 6], [7]]);
});

Deno.test("FrameReassembler.feed() skips zero-length and oversize frames and stays in sync", () => {
  const r = new FrameReassembler(100);
  const big = new Uint8Array(2 + 200);
  big[0] = 0;
  big[1] = 200;
  const stream = concatBytes(Uint8Array.from([0, 0]), big, frame(Uint8Array.from([42])));
  for (let split = 0; split < stream.length; split++) {
    const rr = new FrameReassembler(100);
    assert.deepEqual(
      collect(rr, [stream.subarray(0, split), stream.subarray(split)]),
      [[42]],
      `split ${split}`,
    );
    assert.equal(rr.rejected, 2);
  }
  assert.deepEqual(collect(r, [stream]), [[42]]);
});

Deno.test("framedWriter() drops packets once a peer that does not read has maxQueued bytes pending", async () => {
  const waiting: (() => void)[] = [];
  let written = 0;
  const conn = {
    write: (b: Uint8Array) =>
      new Promise<number>((resolve) =>
        waiting.push(() => {
          written += b.length;
          resolve(b.length);
        })
      ),
  } as unknown as Deno.Conn;
  const send = framedWriter(conn, () => {}, 1000);
  for (let i = 0; i < 10; i++) send(new Uint8Array(300));
  // Release writes one by one until the queue is drained.
  for (let i = 0; i < 20; i++) {
    await turn();
    waiting.shift()?.();
  }
  assert.equal(written, 3 * 302);
  send(new Uint8Array(10));
  for (let i = 0; i < 5; i++) {
    await turn();
    waiting.shift()?.();
  }
  assert.equal(written, 3 * 302 + 12, "room again once the queue drained");
});

Deno.test("FrameWriteQueue writes the frames queued during a write as one batch, and stops after a failed write", async () => {
  const writes: Uint8Array[] = [];
  const pending: (() => void)[] = [];
  let fail = false;
  const conn = {
    write: (b: Uint8Array) =>
      new Promise<number>((resolve, reject) =>
        pending.push(() => {
          if (fail) return reject(new Error("broken pipe"));
          writes.push(b.slice());
          resolve(b.length);
        })
      ),
  } as unknown as Deno.Conn;
  let errors = 0;
  const q = new FrameWriteQueue(conn, 1 << 20, () => errors++);
  const pkt = (n: number, v: number) => new Uint8Array(n).fill(v);
  assert.equal(q.queue(pkt(3, 1), 0, 3), true);
  // The first frame is being written; the next three accumulate behind it.
  for (let v = 2; v <= 4; v++) assert.equal(q.queue(pkt(2, v), 0, 2), true);
  assert.equal(q.queued, 5 + 3 * 4);
  assert.equal(q.queue(pkt(0, 0), 0, 0), false, "empty frames are refused");
  for (let i = 0; i < 5 && pending.length > 0; i++) {
    pending.shift()!();
    await turn();
  }
  assert.deepEqual(writes.map((w) => [...w]), [[0, 3, 1, 1, 1], [0, 2, 2, 2, 0, 2, 3, 3, 0, 2, 4, 4]]);
  assert.equal(q.queued, 0);
  fail = true;
  assert.equal(q.queue(pkt(1, 9), 0, 1), true);
  pending.shift()!();
  await turn();
  assert.equal(errors, 1);
  assert.equal(q.queue(pkt(1, 9), 0, 1), false, "refused after the failure");
  assert.equal(errors, 1);
});
