import assert from "node:assert/strict";
import { frame, FrameReassembler } from "./tcp_framing.ts";
import { framedWriter } from "./tcp_framing_io.ts";

function collect(r: FrameReassembler, chunks: Uint8Array[]): number[][] {
  const got: number[][] = [];
  for (const c of chunks) r.feed(c, (b, o, l) => got.push([...b.subarray(o, o + l)]));
  return got;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

Deno.test("frame() prefixes a 16-bit big-endian length", () => {
  assert.deepEqual([...frame(Uint8Array.from([7, 8, 9]))], [0, 3, 7, 8, 9]);
});

Deno.test("FrameReassembler.feed() rebuilds packets from every possible split of the stream", () => {
  const pkts = [Uint8Array.from([1]), new Uint8Array(300).fill(2), Uint8Array.from([3, 3, 3])];
  const stream = concat(pkts.map(frame));
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
  const stream = concat([frame(Uint8Array.from([5, 6])), frame(Uint8Array.from([7]))]);
  const r = new FrameReassembler();
  const got = collect(r, [...stream].map((b) => Uint8Array.of(b)));
  assert.deepEqual(got, [[5, 6], [7]]);
});

Deno.test("FrameReassembler.feed() skips zero-length and oversize frames and stays in sync", () => {
  const r = new FrameReassembler(100);
  const big = new Uint8Array(2 + 200);
  big[0] = 0;
  big[1] = 200;
  const stream = concat([Uint8Array.from([0, 0]), big, frame(Uint8Array.from([42]))]);
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
    await new Promise((r) => setTimeout(r, 0));
    waiting.shift()?.();
  }
  assert.equal(written, 3 * 302);
  send(new Uint8Array(10));
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 0));
    waiting.shift()?.();
  }
  assert.equal(written, 3 * 302 + 12, "room again once the queue drained");
});
