/**
 * Cached `subarray(offset)` views, so that passing "the bytes of `buf` from
 * `offset`" to an FFI `buffer` parameter allocates nothing per call.
 *
 * Why: Deno FFI `buffer` parameters take a typed array and pass its start.
 * Measured on Deno 2.9 (1M write(2) calls to /dev/null, see ffi/README.md):
 * a fresh `buf.subarray(off)` per call costs ~104 bytes of heap and ~30% time;
 * `Deno.UnsafePointer.offset(ptr, off)` allocates a pointer object (~32
 * bytes); a cached view allocates nothing. Callers reuse a fixed set of
 * (buffer, offset) pairs (ring slots with a fixed headroom), so the cache
 * stays tiny. It is bounded per buffer: past `MAX_OFFSETS_PER_BUFFER`
 * distinct offsets the buffer's entries are dropped and rebuilt, which is
 * correct but allocates again (a caller walking offsets inside one large
 * buffer pays one view per call, as without a cache).
 *
 * Entries are keyed weakly by the buffer, so dropped buffers are collected.
 */

const MAX_OFFSETS_PER_BUFFER = 8;

export class ViewCache {
  #views = new WeakMap<Uint8Array, Map<number, Uint8Array>>();

  /** A view of `buf` starting at `offset` (the same object on every call). */
  at(buf: Uint8Array, offset: number): Uint8Array {
    if (offset === 0) return buf;
    let byOffset = this.#views.get(buf);
    if (byOffset === undefined) {
      byOffset = new Map();
      this.#views.set(buf, byOffset);
    }
    let view = byOffset.get(offset);
    if (view === undefined) {
      if (byOffset.size >= MAX_OFFSETS_PER_BUFFER) byOffset.clear();
      view = buf.subarray(offset);
      byOffset.set(offset, view);
    }
    return view;
  }
}
