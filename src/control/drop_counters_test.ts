import assert from "node:assert/strict";
import {
  DROP_AUTH_FAILED,
  DROP_REASON_COUNT,
  DROP_REASON_NAMES,
  DROP_REPLAY,
  DropCounters,
} from "./drop_counters.ts";

Deno.test("DropCounters.count() increments by reason and snapshot() names non-zero reasons", () => {
  const c = new DropCounters();
  c.count(DROP_AUTH_FAILED);
  c.count(DROP_AUTH_FAILED);
  c.count(DROP_REPLAY);
  assert.equal(c.counts.length, DROP_REASON_COUNT);
  assert.equal(c.counts[DROP_AUTH_FAILED], 2);
  assert.equal(c.total, 3);
  assert.deepEqual(c.snapshot(), { auth_failed: 2, replay: 1 });
  assert.equal(new Set(DROP_REASON_NAMES).size, DROP_REASON_COUNT);
});
