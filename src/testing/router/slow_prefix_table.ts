/**
 * A deliberately simple prefix table (a list scanned linearly), the reference
 * for differential tests of `PrefixTrie` and `RouteTable` (wireguard-go's
 * SlowRouter idea). Test support only: O(n) per lookup.
 */

interface SlowEntry {
  words: number[];
  bits: number;
  value: number;
}

function masked(words: ArrayLike<number>, bits: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < words.length; i++) {
    const keep = Math.max(0, Math.min(32, bits - 32 * i));
    out.push(keep === 0 ? 0 : ((words[i] >>> 0) & ((0xffffffff << (32 - keep)) >>> 0)) >>> 0);
  }
  return out;
}

function same(a: number[], b: number[]): boolean {
  return a.every((w, i) => w === b[i]);
}

export class SlowPrefixTable {
  #entries: SlowEntry[] = [];

  get size(): number {
    return this.#entries.length;
  }

  insert(words: ArrayLike<number>, bits: number, value: number): number {
    const key = masked(words, bits);
    const hit = this.#entries.find((e) => e.bits === bits && same(e.words, key));
    if (hit) {
      const old = hit.value;
      hit.value = value;
      return old;
    }
    this.#entries.push({ words: key, bits, value });
    return -1;
  }

  remove(words: ArrayLike<number>, bits: number): number {
    const key = masked(words, bits);
    const i = this.#entries.findIndex((e) => e.bits === bits && same(e.words, key));
    if (i < 0) return -1;
    const [e] = this.#entries.splice(i, 1);
    return e.value;
  }

  removeByValue(value: number): number {
    const before = this.#entries.length;
    this.#entries = this.#entries.filter((e) => e.value !== value);
    return before - this.#entries.length;
  }

  lookup(words: ArrayLike<number>): number {
    let best: SlowEntry | null = null;
    for (const e of this.#entries) {
      if ((best === null || e.bits > best.bits) && same(masked(words, e.bits), e.words)) best = e;
    }
    return best === null ? -1 : best.value;
  }

  /** Entries as "w0.w1…/bits=value" strings, sorted, for comparing whole tables. */
  dump(): string[] {
    return this.#entries.map((e) => `${e.words.join(".")}/${e.bits}=${e.value}`).sort();
  }
}
