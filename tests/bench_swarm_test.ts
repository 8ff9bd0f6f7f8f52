/**
 * Pure parts of the swarm generator (bench/swarm/): how clients and the
 * in-flight cap are split over workers, the worker count, the best-window
 * rate, and the `--workers` option. The swarm itself runs in
 * tests/e2e/swarm_test.ts (root) and by hand (`deno task bench:swarm`).
 */

import assert from "node:assert/strict";
import { peakRate, workerCount } from "../bench/swarm/generator.ts";
import { parseSwarmArgs } from "../bench/swarm/run.ts";
import { shardIndices, shardInflight } from "../bench/swarm/shard.ts";

Deno.test("shardIndices: client i belongs to worker i % W, every client exactly once, in order", () => {
  for (const [clients, shards] of [[10, 3], [2000, 2], [1, 4], [7, 7]]) {
    const all = Array.from({ length: shards }, (_, s) => shardIndices(clients, s, shards));
    all.forEach((indices, s) => {
      assert.ok(indices.every((i) => i % shards === s), `shard ${s} of ${shards}`);
      assert.deepEqual(indices, [...indices].sort((a, b) => a - b));
    });
    const flat = all.flat().sort((a, b) => a - b);
    assert.deepEqual(flat, Array.from({ length: clients }, (_, i) => i), `${clients} over ${shards}`);
  }
});

Deno.test("shardInflight: the global cap split evenly (remainder to the first workers), never below 1", () => {
  const split = (inflight: number, shards: number) =>
    Array.from({ length: shards }, (_, s) => shardInflight(inflight, s, shards));
  assert.deepEqual(split(64, 2), [32, 32]);
  assert.deepEqual(split(65, 2), [33, 32]);
  assert.deepEqual(split(10, 4), [3, 3, 2, 2]);
  assert.deepEqual(split(1, 3), [1, 1, 1], "each worker can still start a client");
});

Deno.test("workerCount: what the plan asks, else one per core; at least 1, at most one per client", () => {
  assert.equal(workerCount({ clients: 100, workers: 3 }), 3);
  assert.equal(workerCount({ clients: 2, workers: 8 }), 2);
  assert.equal(workerCount({ clients: 100, workers: 0 }), 1);
  assert.equal(workerCount({ clients: 1000 }), Math.min(1000, navigator.hardwareConcurrency));
});

Deno.test("peakRate: the busiest window of completed handshakes, per second, whatever the arrival order", () => {
  const times = [0, 100, 200, 5000, 5100, 5200, 5300, 5400, 20000];
  assert.equal(peakRate(times, 1000), 5);
  assert.equal(peakRate([...times].reverse(), 1000), 5);
  assert.equal(peakRate([], 5000), 0);
});

Deno.test("--workers: a whole number ≥ 1, default one per core", () => {
  assert.equal(parseSwarmArgs([]).workers, navigator.hardwareConcurrency);
  assert.equal(parseSwarmArgs(["--workers", "3"]).workers, 3);
  assert.throws(() => parseSwarmArgs(["--workers", "0"]), /--workers: expected a whole number ≥ 1/);
  assert.throws(() => parseSwarmArgs(["--workers", "two"]), /--workers/);
});
