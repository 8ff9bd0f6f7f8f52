/**
 * Sliding-window replay filter for 32-bit packet-ids (RFC 6479 layout: a ring
 * of 32-bit words, whole words cleared as the window advances).
 *
 * Accepts ids in (highest - size, highest] not seen before, and any id above
 * `highest` (forward jumps of any size; a forged jump never commits because
 * the tag check fails first). Id 0 is never valid: OpenVPN starts at 1.
 *
 * `check` is read-only; `commit` records an id and must be called only after
 * `check` returned REPLAY_OK and the packet's tag verified, so a forged packet
 * can never move the window. Nothing allocates after construction. Not safe
 * for concurrent use (one receive loop per key).
 */

export const REPLAY_OK = 0;
/** Id already seen within the window. */
export const REPLAY_DUPLICATE = 1;
/** Id too far behind the highest id to be tracked. */
export const REPLAY_TOO_OLD = 2;
/** Id 0 or not a u32. */
export const REPLAY_INVALID = 3;

export const DEFAULT_REPLAY_WINDOW = 1024;

const MAX_ID = 0xffffffff;

export class ReplayWindow {
  readonly size: number;
  #words: Uint32Array;
  #mask: number; // word count - 1 (word count is a power of two)
  #highest = 0;

  /** `size` in packets: a multiple of 32 from 32 to 2^20. */
  constructor(size: number = DEFAULT_REPLAY_WINDOW) {
    if (!Number.isInteger(size) || size < 32 || size > 1 << 20 || size % 32 !== 0) {
      throw new RangeError("Replay window size must be a multiple of 32 between 32 and 1048576");
    }
    this.size = size;
    // One spare word so the word holding `highest` may be partly in the future.
    let words = 1;
    while (words < size / 32 + 1) words <<= 1;
    this.#words = new Uint32Array(words);
    this.#mask = words - 1;
  }

  /** Highest committed id, 0 before the first commit. */
  get highest(): number {
    return this.#highest;
  }

  check(id: number): number {
    if (!(id >= 1 && id <= MAX_ID) || id !== Math.floor(id)) return REPLAY_INVALID;
    const h = this.#highest;
    if (id > h) return REPLAY_OK;
    if (h - id >= this.size) return REPLAY_TOO_OLD;
    const word = this.#words[(id >>> 5) & this.#mask];
    return (word >>> (id & 31)) & 1 ? REPLAY_DUPLICATE : REPLAY_OK;
  }

  /** Records `id`; a no-op for ids that `check` would not accept. */
  commit(id: number): void {
    if (this.check(id) !== REPLAY_OK) return;
    const h = this.#highest;
    if (id > h) {
      const from = Math.floor(h / 32) + 1; // first word index to clear
      const to = Math.floor(id / 32);
      const words = this.#words;
      if (to - from + 1 >= words.length) {
        words.fill(0);
      } else {
        for (let w = from; w <= to; w++) words[w & this.#mask] = 0;
      }
      this.#highest = id;
    }
    this.#words[(id >>> 5) & this.#mask] |= 1 << (id & 31);
  }

  /** The highest id and every id in the window seen or not, as text (tests: a refused packet changes nothing). */
  snapshot(): string {
    const bits: string[] = [];
    const h = this.#highest;
    for (let id = Math.max(1, h - this.size + 1); id <= h; id++) {
      bits.push(this.check(id) === REPLAY_OK ? "0" : "1");
    }
    return `${h}:${bits.join("")}`;
  }

  /** Forgets everything (a fresh key). */
  reset(): void {
    this.#words.fill(0);
    this.#highest = 0;
  }
}
