/**
 * The pool's free slots in the order a new client takes them, without
 * scanning the pool: a binary min-heap of (key, slot) pairs, smallest key
 * first and the lower slot on equal keys, with lazy deletion. The pool
 * pushes a slot whenever it becomes free (with the key it is ranked by) and
 * asks for the best entry that is still valid; entries for slots taken since,
 * or re-pushed with another key, are dropped when they reach the top.
 */

export class FreeSlotHeap {
  #keys: number[] = [];
  #slots: number[] = [];

  /** Adds `slot` ranked by `key`. */
  push(key: number, slot: number): void {
    const keys = this.#keys;
    const slots = this.#slots;
    let i = keys.length;
    keys.push(key);
    slots.push(slot);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(key, slot, keys[parent], slots[parent])) break;
      keys[i] = keys[parent];
      slots[i] = slots[parent];
      i = parent;
    }
    keys[i] = key;
    slots[i] = slot;
  }

  /** The best slot for which `valid(key, slot)` holds, or -1; invalid entries on the way are dropped. */
  peek(valid: (key: number, slot: number) => boolean): number {
    while (this.#keys.length > 0) {
      if (valid(this.#keys[0], this.#slots[0])) return this.#slots[0];
      this.#popTop();
    }
    return -1;
  }

  /** Entries held, stale ones included. */
  get size(): number {
    return this.#keys.length;
  }

  #less(k1: number, s1: number, k2: number, s2: number): boolean {
    return k1 < k2 || (k1 === k2 && s1 < s2);
  }

  #popTop(): void {
    const keys = this.#keys;
    const slots = this.#slots;
    const key = keys.pop()!;
    const slot = slots.pop()!;
    const n = keys.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.#less(keys[right], slots[right], keys[left], slots[left])
        ? right
        : left;
      if (!this.#less(keys[child], slots[child], key, slot)) break;
      keys[i] = keys[child];
      slots[i] = slots[child];
      i = child;
    }
    keys[i] = key;
    slots[i] = slot;
  }
}
