/**
 * Gives back the pages of the executable that start-up touched and the
 * process no longer uses: madvise(MADV_DONTNEED) over the executable's
 * read-only file mappings.
 *
 * Why: about half of a running tsvpn's resident set was pages of the deno
 * executable itself (45 of ~83 MiB), most of them read once while starting
 * (V8's start-up snapshot, the module loader). They are clean file pages, so
 * dropping them from the page tables is invisible to the program: a page
 * touched again is mapped back from the page cache (a minor fault). What
 * stays resident afterwards is the code really in use.
 *
 * Safety: only mappings of the executable that are read-only (`r--p`,
 * `r-xp`) and hold no anonymous (copy-on-write) page are released, so no
 * relocated or otherwise written page can be thrown away. Best effort: any
 * failure releases nothing.
 */

import { libc } from "./libc.ts";

const MADV_DONTNEED = 4;

/** One mapping of /proc/self/smaps, as far as this file needs it. */
export interface Mapping {
  start: bigint;
  end: bigint;
  perms: string;
  path: string;
  rssKiB: number;
  anonymousKiB: number;
}

const HEADER = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \S+ *(.*)$/;

/** Parses smaps text into mappings (unknown lines are skipped). */
export function parseSmaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  let cur: Mapping | null = null;
  for (const line of text.split("\n")) {
    const h = HEADER.exec(line);
    if (h !== null) {
      cur = {
        start: BigInt(`0x${h[1]}`),
        end: BigInt(`0x${h[2]}`),
        perms: h[3],
        path: h[4],
        rssKiB: 0,
        anonymousKiB: 0,
      };
      out.push(cur);
    } else if (cur !== null) {
      const f = /^(Rss|Anonymous):\s+(\d+) kB$/.exec(line);
      if (f !== null) cur[f[1] === "Rss" ? "rssKiB" : "anonymousKiB"] = Number(f[2]);
    }
  }
  return out;
}

/** The mappings of `exe` that can be released: read-only, file-backed, never written. */
export function releasableMappings(maps: Mapping[], exe: string): Mapping[] {
  return maps.filter((m) =>
    m.path === exe && (m.perms === "r--p" || m.perms === "r-xp") && m.anonymousKiB === 0 && m.rssKiB > 0
  );
}

/** Releases the executable's clean read-only pages; returns the KiB that were resident in them (0 on failure). */
export function releaseExecutablePages(): number {
  let maps: Mapping[];
  try {
    maps = releasableMappings(parseSmaps(Deno.readTextFileSync("/proc/self/smaps")), Deno.execPath());
  } catch {
    return 0;
  }
  const lib = libc();
  let released = 0;
  for (const m of maps) {
    if (lib.madvise(Deno.UnsafePointer.create(m.start), m.end - m.start, MADV_DONTNEED) === 0) {
      released += m.rssKiB;
    }
  }
  return released;
}
