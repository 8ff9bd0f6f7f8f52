/**
 * Rate limits for packets from strangers: a token bucket for everyone
 * (TokenBucket) and one per source address (SourceBuckets).
 *
 * A source is an IPv4 address or an IPv6 /64 (one site or home gets a /64,
 * so per-address buckets would give an IPv6 host 2^64 of them; WireGuard's
 * rate limiter keys IPv6 the same way). The port never counts: a host picks
 * ports freely.
 *
 * The per-source table is bounded: at `capacity` sources one not used lately
 * is forgotten (CLOCK: a hand sweeps the slots, sparing once each slot used
 * since it last passed), so a flood from spoofed addresses costs a fixed
 * amount of memory and O(1) work per packet. Forgetting a source hands it a full bucket again; under
 * such a flood the global bucket is what bounds the work, and a real client
 * is never locked out by the table being full.
 */

import { tryParseIpv4, tryParseIpv6 } from "../addr/ip.ts";

/** A classic token bucket: `rate` tokens per second, at most `burst` saved up. */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #at: number;

  constructor(rate: number, burst: number, now: number) {
    if (!(rate > 0) || !(burst >= 1)) throw new RangeError(`Bad token bucket: rate ${rate}, burst ${burst}`);
    this.#rate = rate;
    this.#burst = burst;
    this.#tokens = burst;
    this.#at = now;
  }

  /** Takes one token if there is one, and `keep` more would still be left. */
  take(now: number, keep = 0): boolean {
    this.#tokens = Math.min(this.#burst, this.#tokens + (Math.max(0, now - this.#at) / 1000) * this.#rate);
    this.#at = now;
    if (this.#tokens < 1 + keep) return false;
    this.#tokens -= 1;
    return true;
  }
}

/**
 * The bucket key of a transport address: "4:a.b.c.d" or "6:" + the /64 in hex. `remote` is what transports
 * pass as the peer's remote ("1.2.3.4:5", "[2001:db8::1]:5", or a bare address); text that is no address is
 * its own key (still bounded by the table).
 */
export function sourceKeyOf(remote: string): string {
  let host = remote;
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    host = end > 0 ? host.slice(1, end) : host;
  } else if (host.indexOf(":") === host.lastIndexOf(":") && host.includes(":")) {
    host = host.slice(0, host.lastIndexOf(":"));
  }
  const v4 = tryParseIpv4(host);
  if (v4 >= 0) return `4:${v4}`;
  const w = tryParseIpv6(host);
  if (!w) return `?:${host}`;
  // IPv4-mapped (::ffff:a.b.c.d) is that IPv4 host.
  if (w[0] === 0 && w[1] === 0 && w[2] === 0xffff) return `4:${w[3]}`;
  return `6:${w[0].toString(16)}:${w[1].toString(16)}`;
}

export interface SourceBucketOptions {
  /** Tokens per second per source. */
  rate: number;
  /** Tokens a source may save up. */
  burst: number;
  /** Sources remembered at once; the least recently used is forgotten past it. */
  capacity: number;
}

/**
 * Token buckets per source key in a table of fixed size: tokens, times and use bits live in typed arrays
 * indexed by slot, the key of each slot in `#keys`, and a Map finds the slot of a key.
 */
export class SourceBuckets {
  readonly #rate: number;
  readonly #burst: number;
  readonly #capacity: number;
  readonly #slots = new Map<string, number>();
  readonly #keys: string[] = [];
  readonly #tokens: Float64Array;
  readonly #at: Float64Array;
  readonly #used: Uint8Array;
  #hand = 0;
  /** Tokens the last take() left in its bucket (its source's remaining burst). */
  left = 0;

  constructor(o: SourceBucketOptions) {
    if (!(o.rate > 0) || !(o.burst >= 1) || !(o.capacity >= 1)) {
      throw new RangeError(`Bad source buckets: rate ${o.rate}, burst ${o.burst}, capacity ${o.capacity}`);
    }
    this.#rate = o.rate;
    this.#burst = o.burst;
    this.#capacity = Math.floor(o.capacity);
    this.#tokens = new Float64Array(this.#capacity);
    this.#at = new Float64Array(this.#capacity);
    this.#used = new Uint8Array(this.#capacity);
  }

  /** Sources currently remembered. */
  get size(): number {
    return this.#slots.size;
  }

  /** Takes one token from the bucket of `key` (see sourceKeyOf). */
  take(key: string, now: number): boolean {
    let slot = this.#slots.get(key);
    if (slot === undefined) {
      slot = this.#claim(key);
      this.#tokens[slot] = this.#burst;
      this.#at[slot] = now;
    }
    this.#used[slot] = 1;
    const elapsed = Math.max(0, now - this.#at[slot]);
    const tokens = Math.min(this.#burst, this.#tokens[slot] + (elapsed / 1000) * this.#rate);
    this.#at[slot] = now;
    if (tokens < 1) {
      this.#tokens[slot] = this.left = tokens;
      return false;
    }
    this.#tokens[slot] = this.left = tokens - 1;
    return true;
  }

  /** A slot for a new key: a never used one, else the first the hand finds unused since its last pass. */
  #claim(key: string): number {
    let slot = this.#keys.length;
    if (slot < this.#capacity) {
      this.#keys.push(key);
    } else {
      while (this.#used[this.#hand] === 1) {
        this.#used[this.#hand] = 0;
        this.#hand = (this.#hand + 1) % this.#capacity;
      }
      slot = this.#hand;
      this.#hand = (this.#hand + 1) % this.#capacity;
      this.#slots.delete(this.#keys[slot]);
      this.#keys[slot] = key;
    }
    this.#slots.set(key, slot);
    return slot;
  }
}
