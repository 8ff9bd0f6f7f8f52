import assert from "node:assert/strict";
import { SourceBuckets, sourceKeyOf, TokenBucket } from "./source_buckets.ts";

Deno.test("sourceKeyOf() keys IPv4 by address and IPv6 by /64, never by port", () => {
  assert.equal(sourceKeyOf("192.0.2.1:1194"), sourceKeyOf("192.0.2.1:50000"));
  assert.equal(sourceKeyOf("192.0.2.1"), sourceKeyOf("192.0.2.1:1"));
  assert.notEqual(sourceKeyOf("192.0.2.1:1"), sourceKeyOf("192.0.2.2:1"));
  assert.equal(sourceKeyOf("[2001:db8:0:1::1]:1"), sourceKeyOf("[2001:db8:0:1:ffff:ffff:ffff:ffff]:2"));
  assert.notEqual(sourceKeyOf("[2001:db8:0:1::1]:1"), sourceKeyOf("[2001:db8:0:2::1]:1"));
  assert.equal(
    sourceKeyOf("[::ffff:192.0.2.1]:5"),
    sourceKeyOf("192.0.2.1:6"),
    "IPv4-mapped is the IPv4 host",
  );
  assert.equal(sourceKeyOf("2001:db8::1"), sourceKeyOf("[2001:db8::2]:1"), "bare IPv6 text");
  assert.equal(sourceKeyOf("not an address:1"), "?:not an address");
});

Deno.test("TokenBucket.take() allows a burst, then the rate", () => {
  const b = new TokenBucket(2, 3, 0);
  assert.deepEqual([0, 0, 0, 0].map((t) => b.take(t)), [true, true, true, false]);
  assert.equal(b.take(499), false);
  assert.equal(b.take(500), true, "2 per second: one after 500 ms");
  assert.equal(b.take(10_000) && b.take(10_000) && b.take(10_000), true, "refilled to the burst");
  assert.equal(b.take(10_000), false, "never past the burst");
  assert.throws(() => new TokenBucket(0, 1, 0), RangeError);
});

Deno.test("SourceBuckets.take() limits each source alone and, past capacity, forgets one not used lately", () => {
  const s = new SourceBuckets({ rate: 1, burst: 2, capacity: 3 });
  assert.deepEqual([s.take("a", 0), s.take("a", 0), s.take("a", 0)], [true, true, false]);
  assert.equal(s.take("b", 0), true, "b has its own bucket");
  assert.equal(s.take("a", 1000), true, "a refills at its rate");
  assert.equal(s.take("a", 1000), false);
  s.take("c", 1000);
  assert.equal(s.size, 3);
  // All three were used: the hand clears their marks in one sweep and takes the first slot (a).
  s.take("d", 1000);
  assert.equal(s.size, 3);
  assert.equal(s.take("a", 1000) && s.take("a", 1000), true, "a was forgotten: a full bucket again");
  // a took b's slot (unmarked since the sweep); c is unmarked too, d and a are marked.
  s.take("e", 1000);
  assert.equal(s.take("d", 1000), true);
  assert.equal(s.take("a", 1000), false, "a, used since the hand passed, is still remembered and empty");
  assert.throws(() => new SourceBuckets({ rate: 1, burst: 1, capacity: 0 }), RangeError);
});

Deno.test("SourceBuckets keeps its size under 200,000 distinct sources", () => {
  const s = new SourceBuckets({ rate: 8, burst: 32, capacity: 4096 });
  for (let i = 0; i < 200_000; i++) s.take(`4:${i}`, i);
  assert.equal(s.size, 4096);
});
