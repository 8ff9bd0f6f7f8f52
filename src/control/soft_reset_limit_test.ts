import assert from "node:assert/strict";
import { SOFT_RESET_BURST, SOFT_RESET_REFILL_MS, SoftResetLimit } from "./soft_reset_limit.ts";

Deno.test("SoftResetLimit allows a burst, then one reset per refill interval", () => {
  const l = new SoftResetLimit(0);
  for (let i = 0; i < SOFT_RESET_BURST; i++) {
    assert.equal(l.allows(0), true, `reset ${i + 1} of the burst`);
    l.take(0);
  }
  assert.equal(l.allows(0), false);
  assert.equal(l.allows(SOFT_RESET_REFILL_MS - 1), false);
  assert.equal(l.allows(SOFT_RESET_REFILL_MS), true);
  l.take(SOFT_RESET_REFILL_MS);
  assert.equal(l.allows(SOFT_RESET_REFILL_MS + 1), false, "one token per interval");
});

Deno.test("SoftResetLimit.allows() changes nothing, and a long pause refills no more than the burst", () => {
  const l = new SoftResetLimit(0, 2, 1000);
  for (let i = 0; i < 100; i++) assert.equal(l.allows(0), true);
  l.take(0);
  l.take(0);
  assert.equal(l.allows(999), false);
  const later = 1_000_000;
  l.take(later);
  l.take(later);
  assert.equal(l.allows(later), false, "the burst caps the refill");
  assert.equal(l.allows(later - 5000), false, "a clock step backwards adds nothing");
  assert.throws(() => new SoftResetLimit(0, 0, 1000), RangeError);
});
