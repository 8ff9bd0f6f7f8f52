/**
 * The tun-mode server's route table: prefix → owning session, both families.
 * One table serves both directions, as in WireGuard's cryptokey routing:
 *
 * - outbound: `route4(dst)`/`route6(dst)` give the session owning the longest
 *   matching prefix, or NO_OWNER (the caller then hands the packet to the tun
 *   device, or drops it when it came from the tun device);
 * - inbound anti-spoofing: `allowedSource4(owner, src)` is true only if the
 *   longest prefix covering `src` belongs to `owner`. A session may send from
 *   its virtual address or from inside its iroutes, except from a more
 *   specific prefix another session owns (OpenVPN's "bad source address"
 *   check looks the source up the same way).
 *
 * Owners are session ids (integers 0..2^31-1). Lookups allocate nothing and
 * never throw; mutations are control-plane operations. On the datapath prefer
 * the `*At(buf, p)` forms, which read the address from the packet header
 * (an IPv4 u32 ≥ 2^31 passed as a number may be boxed by V8).
 */

import { formatPrefix, type NumericPrefix } from "../addr/prefix.ts";
import { PrefixTrie, type TrieEntry } from "./prefix_trie.ts";

export const NO_OWNER = -1;

export interface RouteEntry {
  readonly prefix: NumericPrefix;
  readonly owner: number;
}

export class RouteTable {
  readonly #v4 = new PrefixTrie(4);
  readonly #v6 = new PrefixTrie(6);

  /** Number of IPv4 and IPv6 prefixes. */
  get size(): number {
    return this.#v4.size + this.#v6.size;
  }

  get size4(): number {
    return this.#v4.size;
  }

  get size6(): number {
    return this.#v6.size;
  }

  // -- Hot path --

  /** Owner of the longest IPv4 prefix containing `dst` (u32 or its int32 form), or NO_OWNER. */
  route4(dst: number): number {
    return this.#v4.lookup4(dst);
  }

  /** Owner for the 4-byte IPv4 address at `buf[p]` (e.g. `off + 16`, the header's destination). */
  route4At(buf: Uint8Array, p: number): number {
    return this.#v4.lookup4At(buf, p);
  }

  /** Owner of the longest IPv6 prefix containing the 4 words at `dst[off]`, or NO_OWNER. */
  route6(dst: Uint32Array, off = 0): number {
    return this.#v6.lookup6(dst, off);
  }

  /** Owner for the 16-byte IPv6 address at `buf[p]` (e.g. `off + 24`, the header's destination). */
  route6At(buf: Uint8Array, p: number): number {
    return this.#v6.lookup6At(buf, p);
  }

  /** True if `owner` may send from IPv4 `src`. */
  allowedSource4(owner: number, src: number): boolean {
    return owner >= 0 && this.#v4.lookup4(src) === owner;
  }

  /** True if `owner` may send from the 4-byte IPv4 address at `buf[p]` (e.g. `off + 12`). */
  allowedSource4At(owner: number, buf: Uint8Array, p: number): boolean {
    return owner >= 0 && this.#v4.lookup4At(buf, p) === owner;
  }

  /** True if `owner` may send from the IPv6 source in `src[off .. off+4)`. */
  allowedSource6(owner: number, src: Uint32Array, off = 0): boolean {
    return owner >= 0 && this.#v6.lookup6(src, off) === owner;
  }

  /** True if `owner` may send from the 16-byte IPv6 address at `buf[p]` (e.g. `off + 8`). */
  allowedSource6At(owner: number, buf: Uint8Array, p: number): boolean {
    return owner >= 0 && this.#v6.lookup6At(buf, p) === owner;
  }

  // -- Control plane --

  /** Routes `prefix` to `owner`; returns the owner it took the prefix from, or NO_OWNER. */
  add(prefix: NumericPrefix, owner: number): number {
    return prefix.family === 4
      ? this.#v4.insert(prefix.addr, prefix.bits, owner)
      : this.#v6.insert(prefix.addr, prefix.bits, owner);
  }

  /** `add` for an IPv4 u32 and length. */
  add4(addr: number, bits: number, owner: number): number {
    return this.#v4.insert(addr, bits, owner);
  }

  /** `add` for IPv6 words and length. */
  add6(words: ArrayLike<number>, bits: number, owner: number): number {
    return this.#v6.insert(words, bits, owner);
  }

  /**
   * Removes `prefix`. With `owner` ≥ 0 it is removed only if that owner still
   * holds it (a late cleanup must not drop a route another session took over).
   */
  remove(prefix: NumericPrefix, owner = NO_OWNER): boolean {
    const trie = prefix.family === 4 ? this.#v4 : this.#v6;
    const current = trie.get(prefix.addr, prefix.bits);
    if (current === NO_OWNER || (owner >= 0 && current !== owner)) return false;
    trie.remove(prefix.addr, prefix.bits);
    return true;
  }

  /** Removes every prefix of `owner` (a session ended); returns how many. */
  removeOwner(owner: number): number {
    return this.#v4.removeByValue(owner) + this.#v6.removeByValue(owner);
  }

  /** The owner of exactly `prefix`, or NO_OWNER. */
  ownerOf(prefix: NumericPrefix): number {
    return prefix.family === 4
      ? this.#v4.get(prefix.addr, prefix.bits)
      : this.#v6.get(prefix.addr, prefix.bits);
  }

  /** All routes, IPv4 first, each family in address order (for status output). */
  entries(): RouteEntry[] {
    return [...this.#v4.entries().map(toEntry4), ...this.#v6.entries().map(toEntry6)];
  }

  /** The prefixes `owner` holds. */
  prefixesOf(owner: number): NumericPrefix[] {
    return [...this.#v4.entriesOf(owner).map(toEntry4), ...this.#v6.entriesOf(owner).map(toEntry6)].map((e) =>
      e.prefix
    );
  }

  /** Routes as "prefix owner" text lines, for logs and status. */
  describe(): string[] {
    return this.entries().map((e) => `${formatPrefix(e.prefix)} ${e.owner}`);
  }
}

function toEntry4(e: TrieEntry): RouteEntry {
  return { prefix: { family: 4, addr: e.words[0], bits: e.bits }, owner: e.value };
}

function toEntry6(e: TrieEntry): RouteEntry {
  return { prefix: { family: 6, addr: e.words, bits: e.bits }, owner: e.value };
}
