import assert from "node:assert/strict";
import { HISTORY_SECONDS, TrafficHistory } from "./traffic_history.ts";

Deno.test("TrafficHistory: bytes per second between samples, a gap spread over its seconds", () => {
  const h = new TrafficHistory();
  h.sample(100, 50, 10_000);
  h.sample(300, 60, 11_000);
  h.sample(300, 90, 14_000);
  assert.deepEqual(h.series(), { end: 14, bytesIn: [200, 0, 0, 0], bytesOut: [10, 10, 10, 10] });
});

Deno.test("TrafficHistory: timer jitter neither doubles a second nor leaves one empty", () => {
  const h = new TrafficHistory();
  h.sample(0, 0, 1_000);
  for (const [t, total] of [[1_990, 100], [3_010, 200], [3_980, 300], [5_020, 400]]) h.sample(total, 0, t);
  assert.deepEqual(h.series().bytesIn, [100, 100, 100, 100]);
});

Deno.test("TrafficHistory: a sample under half a second waits; a counter going back counts 0", () => {
  const h = new TrafficHistory();
  h.sample(0, 0, 1_000);
  h.sample(10, 0, 1_300);
  assert.deepEqual(h.series().bytesIn, []);
  h.sample(15, 0, 2_000);
  h.sample(5, 0, 3_000);
  assert.deepEqual(h.series().bytesIn, [15, 0]);
});

Deno.test("TrafficHistory keeps the last ten minutes only", () => {
  const h = new TrafficHistory();
  for (let s = 0; s <= HISTORY_SECONDS + 5; s++) h.sample(s * 7, 0, s * 1000);
  const series = h.series();
  assert.equal(series.bytesIn.length, HISTORY_SECONDS);
  assert.equal(series.end, HISTORY_SECONDS + 5);
  assert.equal(series.bytesIn.every((v) => v === 7), true);
});
