import assert from "node:assert/strict";
import { parseSmaps, releasableMappings, releaseExecutablePages } from "./resident_pages.ts";

const SMAPS = `55d0c0000000-55d0c2000000 r--p 00000000 fe:01 123 /usr/bin/deno
Size:              32768 kB
Rss:                9000 kB
Anonymous:             0 kB
55d0c2000000-55d0c8000000 r-xp 02000000 fe:01 123 /usr/bin/deno
Rss:               20000 kB
Anonymous:             0 kB
55d0c8000000-55d0c8400000 r--p 08000000 fe:01 123 /usr/bin/deno
Rss:                4096 kB
Anonymous:          4096 kB
55d0c8400000-55d0c8500000 rw-p 08400000 fe:01 123 /usr/bin/deno
Rss:                1024 kB
Anonymous:          1024 kB
7f0000000000-7f0000100000 r-xp 00000000 fe:01 456 /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                1000 kB
Anonymous:             0 kB
7f0000200000-7f0000300000 rw-p 00000000 00:00 0
Rss:                 512 kB
Anonymous:           512 kB
`;

Deno.test("parseSmaps() reads ranges, permissions, paths and the Rss/Anonymous sizes", () => {
  const maps = parseSmaps(SMAPS);
  assert.equal(maps.length, 6);
  assert.deepEqual(maps[0], {
    start: 0x55d0c0000000n,
    end: 0x55d0c2000000n,
    perms: "r--p",
    path: "/usr/bin/deno",
    rssKiB: 9000,
    anonymousKiB: 0,
  });
  assert.equal(maps[5].path, "");
});

Deno.test("releasableMappings() keeps only the executable's read-only mappings without written pages", () => {
  const picked = releasableMappings(parseSmaps(SMAPS), "/usr/bin/deno");
  // Not: the relocated read-only segment (anonymous pages), the writable one, other files, anonymous memory.
  assert.deepEqual(picked.map((m) => m.perms), ["r--p", "r-xp"]);
  assert.deepEqual(picked.map((m) => m.rssKiB), [9000, 20000]);
});

Deno.test("releaseExecutablePages() lowers this process's resident file pages and the runtime keeps working", async () => {
  const rssFile = () => Number(/RssFile:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"))![1]);
  const before = rssFile();
  const released = releaseExecutablePages();
  assert.ok(released > 0, "the deno executable has clean pages mapped");
  assert.ok(rssFile() < before, `RssFile ${before} -> ${rssFile()} kB`);
  // Code and data of the executable come back on use.
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode("still here"));
  assert.equal(new Uint8Array(digest).length, 32);
  assert.deepEqual(JSON.parse(JSON.stringify({ a: [1, 2] })), { a: [1, 2] });
});
