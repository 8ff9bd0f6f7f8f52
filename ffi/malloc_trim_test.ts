import assert from "node:assert/strict";

/**
 * The measurement runs in a child process of its own: mallinfo2 and RssAnon count the whole process, and under
 * `deno test --parallel` other test files' workers allocate and free in this one meanwhile (a CI run saw the
 * in-use figure move by 0.3 MiB against it).
 */
const CHILD = `
import { mallocStats, trimMalloc } from ${JSON.stringify(new URL("./malloc_trim.ts", import.meta.url).href)};
const rssAnonKiB = () => Number(/^RssAnon:\\s+(\\d+) kB$/m.exec(Deno.readTextFileSync("/proc/self/status"))[1]);
const c = Deno.dlopen("libc.so.6", {
  malloc: { parameters: ["usize"], result: "pointer" },
  free: { parameters: ["pointer"], result: "void" },
  memset: { parameters: ["pointer", "i32", "usize"], result: "pointer" },
});
const chunk = 64 * 1024;
const chunks = [];
const start = mallocStats();
for (let i = 0; i < 400; i++) {
  const p = c.symbols.malloc(BigInt(chunk));
  c.symbols.memset(p, 1, BigInt(chunk));
  chunks.push(p);
}
const allocated = mallocStats();
for (let i = 0; i < chunks.length; i += 2) c.symbols.free(chunks[i]);
const freed = mallocStats();
const before = rssAnonKiB();
const trimmed = trimMalloc();
const releasedKiB = before - rssAnonKiB();
for (let i = 1; i < chunks.length; i += 2) c.symbols.free(chunks[i]);
console.log(JSON.stringify({ chunk, start, allocated, freed, trimmed, releasedKiB }));
`;

Deno.test("mallocStats() counts chunks in use and freed; trimMalloc() gives back free pages between live ones", async () => {
  // 400 chunks of 64 KiB (below glibc's mmap threshold, so inside an arena), each written so its pages are
  // resident; every other one freed leaves ~12.5 MiB of holes that only malloc_trim returns.
  const out = await new Deno.Command(Deno.execPath(), { args: ["eval", "--quiet", CHILD], stderr: "inherit" })
    .output();
  assert.equal(out.code, 0);
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim());
  const { chunk, start, allocated, freed } = r;
  // The child's runtime threads still allocate a little: a margin of ten chunks (640 KiB).
  assert.ok(allocated.inUse - start.inUse >= 390 * chunk, JSON.stringify(r));
  assert.ok(allocated.inUse - freed.inUse >= 190 * chunk, JSON.stringify(r));
  assert.ok(freed.free - allocated.free >= 190 * chunk, JSON.stringify(r));
  assert.equal(r.trimmed, true);
  assert.ok(r.releasedKiB >= 6 * 1024, `released ${r.releasedKiB} KiB of ~12800 KiB of holes`);
});
