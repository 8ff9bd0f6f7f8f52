import assert from "node:assert/strict";
import { mallocStats, trimMalloc } from "./malloc_trim.ts";

/** Resident anonymous memory of this process, KiB (/proc/self/status RssAnon). */
function rssAnonKiB(): number {
  const m = /^RssAnon:\s+(\d+) kB$/m.exec(Deno.readTextFileSync("/proc/self/status"));
  assert.ok(m, "RssAnon in /proc/self/status");
  return Number(m[1]);
}

Deno.test("mallocStats() counts chunks in use and freed; trimMalloc() gives back free pages between live ones", () => {
  const c = Deno.dlopen("libc.so.6", {
    malloc: { parameters: ["usize"], result: "pointer" },
    free: { parameters: ["pointer"], result: "void" },
    memset: { parameters: ["pointer", "i32", "usize"], result: "pointer" },
  });
  try {
    // 400 chunks of 64 KiB (below glibc's mmap threshold, so inside an arena), each written so its pages are
    // resident; every other one freed leaves ~12 MiB of holes that only malloc_trim returns.
    const chunk = 64 * 1024;
    const chunks: Deno.PointerValue[] = [];
    const start = mallocStats()!;
    for (let i = 0; i < 400; i++) {
      const p = c.symbols.malloc(BigInt(chunk));
      assert.notEqual(p, null);
      c.symbols.memset(p, 1, BigInt(chunk));
      chunks.push(p);
    }
    // Other threads of the runtime allocate and free meanwhile: a margin of ten chunks (640 KiB).
    const allocated = mallocStats()!;
    assert.ok(allocated.inUse - start.inUse >= 390 * chunk, JSON.stringify({ start, allocated }));
    for (let i = 0; i < chunks.length; i += 2) c.symbols.free(chunks[i]);
    const freed = mallocStats()!;
    assert.ok(allocated.inUse - freed.inUse >= 190 * chunk, JSON.stringify({ allocated, freed }));
    assert.ok(freed.free - allocated.free >= 190 * chunk, JSON.stringify({ allocated, freed }));
    const before = rssAnonKiB();
    assert.equal(trimMalloc(), true);
    const released = before - rssAnonKiB();
    assert.ok(released >= 6 * 1024, `released ${released} KiB of ~12800 KiB of holes`);
    for (let i = 1; i < chunks.length; i += 2) c.symbols.free(chunks[i]);
  } finally {
    c.close();
  }
});
