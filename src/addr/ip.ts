/**
 * IPv4 and IPv6 addresses, for config edges and logs, in two forms:
 * - numbers, as the router and the pool keep them: IPv4 an unsigned 32-bit
 *   number (`0x0a080001` is 10.8.0.1), always `>>> 0`; IPv6 a `Uint32Array(4)`
 *   of big-endian words (`words[0]` holds the first 32 bits on the wire);
 * - `IpAddress` values, as the configuration carries them: the family, the
 *   network-order bytes and the canonical text.
 *
 * Parsing is strict (dotted quads without leading zeros, no IPv6 zone ids) so
 * that a typo in a config file is an error rather than a surprising address.
 * `parseIpv4`/`parseIpv6` throw `SyntaxError` naming the offending text,
 * `tryParse…` return -1 or null, `parseIp` returns null; none is meant for
 * per-packet work. `formatIpv6` is the one text form of IPv6 addresses.
 */

/** Parses dotted-quad text ("10.8.0.1") into a u32; rejects leading zeros and out-of-range octets. */
export function parseIpv4(text: string): number {
  const value = tryParseIpv4(text);
  if (value < 0) throw new SyntaxError(`Invalid IPv4 address "${text}"`);
  return value;
}

/** Like `parseIpv4` but returns -1 instead of throwing. */
export function tryParseIpv4(text: string): number {
  const parts = text.split(".");
  if (parts.length !== 4) return -1;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return -1;
    const octet = Number(part);
    if (octet > 255) return -1;
    value = value * 256 + octet;
  }
  return value >>> 0;
}

/** Formats a u32 as dotted-quad text. */
export function formatIpv4(addr: number): string {
  const a = addr >>> 0;
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** True if `text` is a valid IPv4 address in dotted-quad form. */
export function isIpv4(text: string): boolean {
  return tryParseIpv4(text) >= 0;
}

/** Parses IPv6 text (RFC 4291 forms, including "::" and a trailing dotted quad) into 4 words. */
export function parseIpv6(text: string): Uint32Array {
  const words = tryParseIpv6(text);
  if (words === null) throw new SyntaxError(`Invalid IPv6 address "${text}"`);
  return words;
}

/** Like `parseIpv6` but returns null instead of throwing. */
export function tryParseIpv6(text: string): Uint32Array | null {
  if (text.length < 2 || text.length > 45) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] === "" ? [] : halves[0].split(":");
  const tail = halves.length === 2 ? (halves[1] === "" ? [] : halves[1].split(":")) : [];
  const groups: number[] = [];
  const pushGroups = (parts: string[], allowV4Last: boolean): boolean => {
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (allowV4Last && i === parts.length - 1 && part.includes(".")) {
        const v4 = tryParseIpv4(part);
        if (v4 < 0) return false;
        groups.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return false;
        groups.push(parseInt(part, 16));
      }
    }
    return true;
  };
  if (!pushGroups(head, halves.length === 1)) return null;
  const headCount = groups.length;
  if (!pushGroups(tail, true)) return null;
  const tailCount = groups.length - headCount;
  if (halves.length === 1) {
    if (groups.length !== 8) return null;
  } else {
    if (groups.length > 7) return null;
    const zeros = new Array<number>(8 - groups.length).fill(0);
    groups.splice(headCount, 0, ...zeros);
    if (groups.length !== 8 || headCount + tailCount + zeros.length !== 8) return null;
  }
  const words = new Uint32Array(4);
  for (let i = 0; i < 4; i++) words[i] = ((groups[2 * i] << 16) | groups[2 * i + 1]) >>> 0;
  return words;
}

/** True if `text` is a valid IPv6 address. */
export function isIpv6(text: string): boolean {
  return tryParseIpv6(text) !== null;
}

/**
 * Formats 4 words (from `off`) as RFC 5952 text: lowercase, the longest run of
 * two or more zero groups (the first on ties) shortened to "::", IPv4-mapped
 * addresses as ::ffff:a.b.c.d (RFC 5952 section 5, and what inet_ntop and
 * Deno write for a dual-stack socket's IPv4 peers).
 */
export function formatIpv6(words: ArrayLike<number>, off = 0): string {
  if (isIpv4Mapped(words, off)) return `::ffff:${formatIpv4(words[off + 3])}`;
  const groups: number[] = [];
  for (let i = 0; i < 4; i++) {
    const w = words[off + i] >>> 0;
    groups.push(w >>> 16, w & 0xffff);
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  const left = hex.slice(0, bestStart).join(":");
  const right = hex.slice(bestStart + bestLen).join(":");
  return `${left}::${right}`;
}

/** True for an IPv4-mapped IPv6 address (::ffff:a.b.c.d), 4 words from `off`. */
export function isIpv4Mapped(words: ArrayLike<number>, off = 0): boolean {
  return (words[off] | words[off + 1]) === 0 && words[off + 2] >>> 0 === 0xffff;
}

/** Reads 16 network-order bytes at `off` into 4 words (into `out` when given). */
export function ipv6FromBytes(
  bytes: Uint8Array,
  off = 0,
  out: Uint32Array = new Uint32Array(4),
): Uint32Array {
  for (let i = 0; i < 4; i++) {
    const p = off + 4 * i;
    out[i] = ((bytes[p] << 24) | (bytes[p + 1] << 16) | (bytes[p + 2] << 8) | bytes[p + 3]) >>> 0;
  }
  return out;
}

/** Writes 4 words as 16 network-order bytes (into `out` at `off` when given). */
export function ipv6ToBytes(
  words: ArrayLike<number>,
  out: Uint8Array = new Uint8Array(16),
  off = 0,
): Uint8Array {
  for (let i = 0; i < 4; i++) {
    const w = words[i] >>> 0;
    const p = off + 4 * i;
    out[p] = w >>> 24;
    out[p + 1] = (w >>> 16) & 0xff;
    out[p + 2] = (w >>> 8) & 0xff;
    out[p + 3] = w & 0xff;
  }
  return out;
}

/** True if both 4-word addresses are equal. */
export function ipv6Equal(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

/** Returns `words + n` (n ≥ 0) as a new address, carrying across words and wrapping at 2^128. */
export function ipv6Add(words: ArrayLike<number>, n: number): Uint32Array {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`IPv6 offset must be a non-negative integer, got ${n}`);
  }
  const out = new Uint32Array(4);
  let carry = n;
  for (let i = 3; i >= 0; i--) {
    const sum = (words[i] >>> 0) + carry;
    out[i] = sum % 0x1_0000_0000;
    carry = Math.floor(sum / 0x1_0000_0000);
  }
  return out;
}

/** IPv4 bytes as an unsigned 32-bit number. */
export function ipv4FromBytes(bytes: Uint8Array): number {
  return ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
}

/** An unsigned 32-bit number as 4 network-order bytes. */
export function ipv4ToBytes(addr: number): Uint8Array {
  return Uint8Array.of(addr >>> 24, (addr >>> 16) & 0xff, (addr >>> 8) & 0xff, addr & 0xff);
}

export type IpFamily = 4 | 6;

/** An address as the configuration carries it. */
export interface IpAddress {
  readonly family: IpFamily;
  /** 4 or 16 bytes, network order. */
  readonly bytes: Uint8Array;
  /** Canonical text, e.g. "10.8.0.1" or "fd00:8::1". */
  readonly text: string;
}

/** Parses an IPv4 or IPv6 address; null when `text` is neither. */
export function parseIp(text: string): IpAddress | null {
  if (text.includes(":")) {
    const words = tryParseIpv6(text);
    return words === null ? null : ipAddress(ipv6ToBytes(words));
  }
  const v4 = tryParseIpv4(text);
  return v4 < 0 ? null : ipAddress(ipv4ToBytes(v4));
}

/** Wraps 4 or 16 bytes (copied) as an IpAddress with canonical text. */
export function ipAddress(bytes: Uint8Array): IpAddress {
  const copy = Uint8Array.from(bytes);
  return { family: copy.length === 4 ? 4 : 6, bytes: copy, text: formatIp(copy) };
}

/** Canonical text of 4 or 16 network-order address bytes (`formatIpv4`, `formatIpv6`). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return formatIpv4(ipv4FromBytes(bytes));
  if (bytes.length !== 16) throw new RangeError(`Address must have 4 or 16 bytes, got ${bytes.length}`);
  return formatIpv6(ipv6FromBytes(bytes));
}

/** True for 127.0.0.0/8 and ::1. */
export function isLoopback(ip: IpAddress): boolean {
  return ip.family === 4 ? ip.bytes[0] === 127 : ip.text === "::1";
}

/** An address of either family in the numeric form the route tables use (beside NumericPrefix). */
export type NumericIp = { readonly family: 4; readonly v4: number } | {
  readonly family: 6;
  readonly v6: Uint32Array;
};

/** Parses IPv4 or IPv6 text into the numeric form; throws SyntaxError naming the text. */
export function parseNumericIp(text: string): NumericIp {
  const v4 = tryParseIpv4(text);
  if (v4 >= 0) return { family: 4, v4 };
  const v6 = tryParseIpv6(text);
  if (v6 !== null) return { family: 6, v6 };
  throw new SyntaxError(`Invalid IP address "${text}"`);
}

/** Formats a numeric address of either family. */
export function formatNumericIp(addr: NumericIp): string {
  return addr.family === 4 ? formatIpv4(addr.v4) : formatIpv6(addr.v6);
}
