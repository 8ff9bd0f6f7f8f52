import assert from "node:assert/strict";
import { HISTORY_SECONDS, TrafficHistory } from "./traffic_history.ts";

Deno.test("TrafficHistory: per-second differences of the totals, zeros for missed seconds", () => {
  const h = new TrafficHistory();
  h.sample(100, 50, 10_000);
  h.sample(300, 60, 11_000);
  h.sample(300, 90, 14_500);
  assert.deepEqual(h.series(), { end: 14, bytesIn: [200, 0, 0, 0], bytesOut: [10, 0, 0, 30] });
});

Deno.test("TrafficHistory: a second sample in the same second adds to it; a counter going back counts 0", () => {
  const h = new TrafficHistory();
  h.sample(0, 0, 1_000);
  h.sample(10, 0, 2_100);
  h.sample(15, 0, 2_900);
  h.sample(5, 0, 3_000);
  assert.deepEqual(h.series().bytesIn, [10 + 5, 0]);
});

Deno.test("TrafficHistory keeps the last ten minutes only", () => {
  const h = new TrafficHistory();
  for (let s = 0; s <= HISTORY_SECONDS + 5; s++) h.sample(s * 7, 0, s * 1000);
  const series = h.series();
  assert.deepEqual(series.bytesIn.length, HISTORY_SECONDS);
  assert.deepEqual(series.end, HISTORY_SECONDS + 5);
  assert.deepEqual(series.bytesIn.every((v) => v === 7), true);
});
