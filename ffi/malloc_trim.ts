/**
 * Gives malloc's free memory back to the kernel: glibc's malloc_trim(0),
 * which, besides shrinking the top of each arena, releases (MADV_DONTNEED)
 * every whole free page inside the arenas.
 *
 * Why: a TLS handshake allocates far more native memory than the session
 * keeps (Deno's TLSWrap and rustls: ~44 KiB for an unstarted server
 * connection, ~17 KiB once it is established; certificate parsing; OpenSSL
 * signature checks), and what it frees is left between long-lived chunks.
 * glibc returns such holes only when trimmed, so after a burst of new clients
 * the server kept tens of MiB of free malloc memory resident
 * (docs/performance.md, "Memory per client (session 6)").
 *
 * Cost: a walk of every arena's free chunks under its lock, ~ms for a heap
 * of a few hundred MiB; the caller runs it seldom (server_memory.ts). Safe
 * from any thread; memory still in use is never touched. Returns false when
 * libc has no malloc_trim (not glibc) or FFI is not permitted.
 */

import { libc } from "./libc.ts";

/** True when some memory was returned to the kernel. */
export function trimMalloc(): boolean {
  let trim;
  try {
    trim = libc().malloc_trim;
  } catch {
    return false;
  }
  if (trim === null) return false;
  return trim(0n) === 1;
}

/** What glibc's allocator holds, in bytes (mallinfo2: every arena, chunks below the mmap threshold and mmapped). */
export interface MallocStats {
  /** Bytes in chunks handed out and not freed (uordblks + hblkhd). */
  inUse: number;
  /** Bytes free inside the arenas (fordblks): resident or not, depending on trims. */
  free: number;
}

/** Allocator figures for probes and diagnostics; null when libc has no mallinfo2 or FFI is not permitted. */
export function mallocStats(): MallocStats | null {
  let info;
  try {
    info = libc().mallinfo2;
  } catch {
    return null;
  }
  if (info === null) return null;
  const f = new BigUint64Array(info().buffer);
  return { inUse: Number(f[7] + f[4]), free: Number(f[8]) };
}
