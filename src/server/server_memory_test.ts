import assert from "node:assert/strict";
import { MallocKeeper, MAX_WAIT_MS, MIN_INTERVAL_MS, QUIET_MS, TrimSchedule } from "./server_memory.ts";

/** Ticks once a second from `from` to `to` (exclusive) with the session count `count(t)`; the trim times. */
function run(s: TrimSchedule, from: number, to: number, count: (t: number) => number): number[] {
  const trims: number[] = [];
  for (let t = from; t < to; t += 1000) if (s.due(t, count(t))) trims.push(t);
  return trims;
}

Deno.test("TrimSchedule trims once after a burst of new sessions, when the count has held still", () => {
  const s = new TrimSchedule();
  // Sessions 0 until t=5 s, then +100 a second until t=20 s, then still.
  const count = (t: number) => Math.max(0, Math.min(15, Math.floor(t / 1000) - 5)) * 100;
  assert.deepEqual(run(s, 0, 60_000, count), [20_000 + QUIET_MS]);
});

Deno.test("TrimSchedule does nothing while the session count never changes", () => {
  assert.deepEqual(run(new TrimSchedule(), 0, 300_000, () => 42), []);
});

Deno.test("TrimSchedule trims under churn that never pauses, at most every MAX_WAIT_MS", () => {
  const s = new TrimSchedule();
  const trims = run(s, 0, 200_000, (t) => 1000 + (Math.floor(t / 1000) % 2));
  assert.deepEqual(trims, [1000 + MAX_WAIT_MS, 2000 + 2 * MAX_WAIT_MS, 3000 + 3 * MAX_WAIT_MS]);
});

Deno.test("TrimSchedule keeps MIN_INTERVAL_MS between trims even for separate bursts", () => {
  const s = new TrimSchedule();
  assert.equal(s.due(0, 0), false);
  assert.equal(s.due(1000, 10), false);
  assert.equal(s.due(1000 + QUIET_MS, 10), true);
  assert.equal(s.due(4000, 20), false, "changed");
  assert.equal(s.due(4000 + QUIET_MS, 20), false, "quiet, but the last trim is too recent");
  assert.equal(s.due(1000 + QUIET_MS + MIN_INTERVAL_MS, 20), true);
});

Deno.test("MallocKeeper calls the trim only when the schedule says so", () => {
  let trims = 0;
  const keeper = new MallocKeeper(() => (trims++, true));
  keeper.tick(0, 0);
  keeper.tick(1000, 5);
  assert.equal(trims, 0);
  keeper.tick(1000 + QUIET_MS, 5);
  keeper.tick(2000 + QUIET_MS, 5);
  assert.equal(trims, 1);
});
