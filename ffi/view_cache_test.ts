import assert from "node:assert/strict";
import { ViewCache } from "./view_cache.ts";

Deno.test("ViewCache.at() returns the buffer itself for offset 0", () => {
  const buf = new Uint8Array(64);
  assert.equal(new ViewCache().at(buf, 0), buf);
});

Deno.test("ViewCache.at() returns one reused view per (buffer, offset) pair", () => {
  const cache = new ViewCache();
  const a = new Uint8Array(64);
  const b = new Uint8Array(64);
  const v = cache.at(a, 16);
  assert.equal(cache.at(a, 16), v);
  assert.notEqual(cache.at(b, 16), v);
  assert.notEqual(cache.at(a, 8), v);
  assert.equal(v.byteOffset, 16);
  assert.equal(v.length, 48);
  v[0] = 7;
  assert.equal(a[16], 7);
});

Deno.test("ViewCache.at() stays correct past its per-buffer bound", () => {
  const cache = new ViewCache();
  const buf = new Uint8Array(256);
  for (let off = 1; off < 100; off++) {
    const v = cache.at(buf, off);
    assert.equal(v.byteOffset, off);
    assert.equal(v.length, 256 - off);
  }
});

Deno.test("ViewCache.at() allocates nothing once warm", () => {
  const cache = new ViewCache();
  const bufs = Array.from({ length: 8 }, () => new Uint8Array(2048));
  let sum = 0;
  const loop = (n: number) => {
    for (let i = 0; i < n; i++) sum += cache.at(bufs[i & 7], 64).byteOffset;
  };
  loop(100_000);
  const before = Deno.memoryUsage().heapUsed;
  loop(1_000_000);
  const grown = Deno.memoryUsage().heapUsed - before;
  // A subarray per call would be ~100 MB; allow GC/JIT noise.
  assert.ok(grown < 2_000_000, `heap grew by ${grown} bytes`);
  assert.ok(sum > 0);
});
