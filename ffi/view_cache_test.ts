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

Deno.test("ViewCache.at() allocates nothing once warm, where a subarray per call does", async () => {
  // Measured in a child with a fixed 64 MB young generation, so no scavenge runs
  // inside the loop and heapUsed growth is the allocation. The views escape into
  // `sink`, so V8 cannot optimise the baseline's subarray away.
  const script = `
    import { ViewCache } from ${JSON.stringify(new URL("./view_cache.ts", import.meta.url).href)};
    const cache = new ViewCache();
    const bufs = Array.from({ length: 8 }, () => new Uint8Array(2048));
    const sink = new Array(8);
    const cached = (n) => { for (let i = 0; i < n; i++) sink[i & 7] = cache.at(bufs[i & 7], 64); };
    const fresh = (n) => { for (let i = 0; i < n; i++) sink[i & 7] = bufs[i & 7].subarray(64); };
    const perCall = (f) => {
      f(50_000);
      const h = Deno.memoryUsage().heapUsed;
      f(200_000);
      return (Deno.memoryUsage().heapUsed - h) / 200_000;
    };
    console.log(JSON.stringify({ cached: perCall(cached), fresh: perCall(fresh) }));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--v8-flags=--min-semi-space-size=64,--max-semi-space-size=64", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = out.stdin.getWriter();
  await w.write(new TextEncoder().encode(script));
  await w.close();
  const { code, stdout, stderr } = await out.output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const r = JSON.parse(new TextDecoder().decode(stdout));
  // One allocation per call is ≥ 12 bytes (V8's smallest heap object); less is the runtime's own noise.
  assert.ok(r.cached < 4, `cached: ${r.cached} bytes/call`);
  assert.ok(r.fresh > 50, `baseline: ${r.fresh} bytes/call (the measurement would not see allocations)`);
});
