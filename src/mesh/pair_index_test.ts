import assert from "node:assert/strict";
import { PairIndex } from "./pair_index.ts";
import { seededRandom } from "../testing/mesh/random.ts";

Deno.test("PairIndex finds a pair in either order and forgets it on remove", () => {
  const ix = new PairIndex(4);
  assert.equal(ix.insert(7, 3, 100), true);
  assert.equal(ix.find(3, 7), 100);
  assert.equal(ix.find(7, 3), 100);
  assert.equal(ix.find(7, 4), -1);
  assert.equal(ix.insert(3, 7, 101), false, "present already");
  assert.equal(ix.remove(7, 3), true);
  assert.equal(ix.find(3, 7), -1);
  assert.equal(ix.remove(7, 3), false);
});

Deno.test("PairIndex refuses more than maxPairs", () => {
  const ix = new PairIndex(3);
  for (let i = 0; i < 3; i++) assert.equal(ix.insert(0, i + 1, i), true);
  assert.equal(ix.insert(0, 9, 9), false);
  assert.equal(ix.size, 3);
  ix.remove(0, 2);
  assert.equal(ix.insert(0, 9, 9), true);
});

Deno.test("PairIndex agrees with a Map over 20000 random inserts and removes", () => {
  const next = seededRandom(42);
  const ix = new PairIndex(512);
  const ref = new Map<string, number>();
  const key = (a: number, b: number) => a < b ? `${a},${b}` : `${b},${a}`;
  for (let op = 0; op < 20_000; op++) {
    const a = next(64), b = next(64);
    if (a === b) continue;
    if (next(3) === 0) {
      assert.equal(ix.remove(a, b), ref.delete(key(a, b)));
    } else {
      const fits = !ref.has(key(a, b)) && ref.size < 512;
      assert.equal(ix.insert(a, b, op), fits);
      if (fits) ref.set(key(a, b), op);
    }
    const c = next(64), d = next(64);
    assert.equal(ix.find(c, d), ref.get(key(c, d)) ?? -1);
    assert.equal(ix.size, ref.size);
  }
});

Deno.test("PairIndex.find() allocates nothing", () => {
  const ix = new PairIndex(1024);
  for (let i = 0; i < 1000; i++) ix.insert(i, i + 5000, i);
  const sink = new Float64Array(1);
  const round = (n: number) => {
    const before = Deno.memoryUsage().heapUsed;
    for (let i = 0; i < n; i++) sink[0] += ix.find(i & 1023, (i & 1023) + 5000);
    return Deno.memoryUsage().heapUsed - before;
  };
  round(200_000);
  const deltas = [round(200_000), round(200_000), round(200_000)].sort((a, b) => a - b);
  assert.ok(deltas[1] < 64 * 1024, `heap grew by ${deltas.join(", ")} bytes per 200k lookups (${sink[0]})`);
});
