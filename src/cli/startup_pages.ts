/**
 * Releases the executable's pages that starting the server or client
 * touched (ffi/resident_pages.ts): once as the command starts (the module
 * graph is loaded by then) and once more when the process has settled
 * (device up, datapath warmed, listening), so neither start-up's peak nor
 * the steady state carries pages read only once. The settled step also gives
 * back malloc's free memory (ffi/malloc_trim.ts): start-up (module loading,
 * compilation on Deno's worker threads) leaves ~15 MiB free in glibc's
 * thread arenas, resident until trimmed.
 */

import { trimMalloc } from "../../ffi/malloc_trim.ts";
import { releaseExecutablePages } from "../../ffi/resident_pages.ts";
import type { Logger } from "../log/log.ts";

/** Time after the command starts when start-up is over (warm-up takes ~0.2 s). */
export const SETTLED_MS = 3000;

export function releaseStartupPages(log: Logger): void {
  release(log, "start");
  const timer = setTimeout(() => {
    release(log, "settled");
    trimMalloc();
  }, SETTLED_MS);
  Deno.unrefTimer(timer);
}

function release(log: Logger, when: string): void {
  const kib = releaseExecutablePages();
  if (kib > 0) {
    log.debug("released start-up pages of the executable", { when, MiB: Math.round(kib / 102.4) / 10 });
  }
}
