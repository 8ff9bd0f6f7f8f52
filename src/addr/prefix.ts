/**
 * CIDR prefixes and IPv4 netmasks, for config edges and status output, in the
 * two forms of `ip.ts`:
 * - numeric prefixes (`Ipv4Prefix`, `Ipv6Prefix`, either one a `NumericPrefix`),
 *   as the router and the pool key on them; `addr` always has its host bits
 *   cleared;
 * - `IpPrefix` values, as the configuration carries them: network bytes, length
 *   and canonical text.
 */

import {
  formatIp,
  formatIpv4,
  formatIpv6,
  type IpAddress,
  ipAddress,
  type IpFamily,
  ipv4FromBytes,
  parseIp,
  parseIpv4,
  tryParseIpv4,
  tryParseIpv6,
} from "./ip.ts";

export interface Ipv4Prefix {
  readonly family: 4;
  /** Network address (host bits zero) as a u32. */
  readonly addr: number;
  /** Prefix length 0..32. */
  readonly bits: number;
}

export interface Ipv6Prefix {
  readonly family: 6;
  /** Network address (host bits zero) as 4 big-endian words. */
  readonly addr: Uint32Array;
  /** Prefix length 0..128. */
  readonly bits: number;
}

export type NumericPrefix = Ipv4Prefix | Ipv6Prefix;

export interface ParsePrefixOptions {
  /**
   * Reject prefixes whose host bits are set ("10.8.0.1/24"); when false they are cleared.
   * @default true
   */
  strict?: boolean;
  /**
   * Accept a bare address as a host prefix (/32 or /128).
   * @default false
   */
  allowBareAddress?: boolean;
}

/** The IPv4 netmask for `bits` as a u32 (`ipv4Netmask(24)` is 0xffffff00). */
export function ipv4Netmask(bits: number): number {
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) {
    throw new RangeError(`IPv4 prefix length must be 0..32, got ${bits}`);
  }
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** The prefix length of a contiguous u32 netmask; throws RangeError for a non-contiguous one. */
export function ipv4MaskBits(mask: number): number {
  const bits = tryIpv4MaskBits(mask);
  if (bits < 0) throw new RangeError(`Netmask ${formatIpv4(mask >>> 0)} is not contiguous`);
  return bits;
}

/** Like `ipv4MaskBits` but returns -1 for a non-contiguous mask instead of throwing. */
export function tryIpv4MaskBits(mask: number): number {
  // A contiguous mask's inverse is 2^k - 1.
  const inverted = ~mask >>> 0;
  if ((inverted & (inverted + 1)) !== 0) return -1;
  return Math.clz32(inverted);
}

/** Reads prefix-length text ("24"): decimal without leading zeros, at most `max`; -1 otherwise. */
export function tryParsePrefixLength(text: string, max: number): number {
  if (!/^(0|[1-9][0-9]{0,2})$/.test(text)) return -1;
  const bits = Number(text);
  return bits > max ? -1 : bits;
}

/** Parses a dotted netmask ("255.255.255.0") into its prefix length. */
export function parseIpv4Netmask(text: string): number {
  return ipv4MaskBits(parseIpv4(text));
}

/** Clears the host bits of an IPv4 address. */
export function maskIpv4(addr: number, bits: number): number {
  return (addr & ipv4Netmask(bits)) >>> 0;
}

/** Returns a copy of an IPv6 address with the host bits beyond `bits` cleared. */
export function maskIpv6(words: ArrayLike<number>, bits: number): Uint32Array {
  if (!Number.isInteger(bits) || bits < 0 || bits > 128) {
    throw new RangeError(`IPv6 prefix length must be 0..128, got ${bits}`);
  }
  const out = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    const keep = Math.min(32, Math.max(0, bits - 32 * i));
    out[i] = keep === 0 ? 0 : ((words[i] >>> 0) & ((0xffffffff << (32 - keep)) >>> 0)) >>> 0;
  }
  return out;
}

/** True if `addr` lies inside the IPv4 prefix. */
export function ipv4PrefixContains(prefix: Ipv4Prefix, addr: number): boolean {
  return ((addr & ipv4Netmask(prefix.bits)) >>> 0) === prefix.addr;
}

/** True if `words` lies inside the IPv6 prefix. */
export function ipv6PrefixContains(prefix: Ipv6Prefix, words: ArrayLike<number>): boolean {
  const masked = maskIpv6(words, prefix.bits);
  const a = prefix.addr;
  return masked[0] === a[0] && masked[1] === a[1] && masked[2] === a[2] && masked[3] === a[3];
}

function splitPrefix(text: string, family: string, max: number, opts: ParsePrefixOptions): [string, number] {
  const slash = text.indexOf("/");
  if (slash < 0) {
    if (opts.allowBareAddress) return [text, max];
    throw new SyntaxError(`Invalid ${family} prefix "${text}": missing "/length"`);
  }
  const bits = tryParsePrefixLength(text.slice(slash + 1), max);
  if (bits < 0) throw new SyntaxError(`Invalid ${family} prefix "${text}": length must be 0..${max}`);
  return [text.slice(0, slash), bits];
}

/** Parses "a.b.c.d/n". */
export function parseIpv4Prefix(text: string, opts: ParsePrefixOptions = {}): Ipv4Prefix {
  const [addrText, bits] = splitPrefix(text, "IPv4", 32, opts);
  const addr = tryParseIpv4(addrText);
  if (addr < 0) throw new SyntaxError(`Invalid IPv4 prefix "${text}": bad address`);
  const masked = maskIpv4(addr, bits);
  if (masked !== addr && opts.strict !== false) {
    throw new SyntaxError(
      `Invalid IPv4 prefix "${text}": host bits are set (did you mean ${formatIpv4(masked)}/${bits}?)`,
    );
  }
  return { family: 4, addr: masked, bits };
}

/** Parses an IPv6 "addr/n". */
export function parseIpv6Prefix(text: string, opts: ParsePrefixOptions = {}): Ipv6Prefix {
  const [addrText, bits] = splitPrefix(text, "IPv6", 128, opts);
  const words = tryParseIpv6(addrText);
  if (words === null) throw new SyntaxError(`Invalid IPv6 prefix "${text}": bad address`);
  const masked = maskIpv6(words, bits);
  const changed = masked[0] !== words[0] || masked[1] !== words[1] || masked[2] !== words[2] ||
    masked[3] !== words[3];
  if (changed && opts.strict !== false) {
    throw new SyntaxError(
      `Invalid IPv6 prefix "${text}": host bits are set (did you mean ${formatIpv6(masked)}/${bits}?)`,
    );
  }
  return { family: 6, addr: masked, bits };
}

/** Parses a prefix of either family. */
export function parsePrefix(text: string, opts: ParsePrefixOptions = {}): NumericPrefix {
  return text.includes(":") ? parseIpv6Prefix(text, opts) : parseIpv4Prefix(text, opts);
}

/** Builds an IPv4 prefix from OpenVPN's "network netmask" form ("10.8.0.0", "255.255.255.0"). */
export function ipv4PrefixFromNetmask(
  network: string,
  netmask: string,
  opts: ParsePrefixOptions = {},
): Ipv4Prefix {
  return parseIpv4Prefix(`${network}/${parseIpv4Netmask(netmask)}`, opts);
}

/** Formats a prefix as "addr/bits". */
export function formatPrefix(prefix: NumericPrefix): string {
  return prefix.family === 4
    ? `${formatIpv4(prefix.addr)}/${prefix.bits}`
    : `${formatIpv6(prefix.addr)}/${prefix.bits}`;
}

/** A prefix as the configuration carries it. */
export interface IpPrefix {
  readonly family: IpFamily;
  /** Network address bytes (host bits zero), network order. */
  readonly bytes: Uint8Array;
  /** Prefix length in bits. */
  readonly length: number;
  /** Canonical network address text, e.g. "10.8.0.0". */
  readonly address: string;
  /** Canonical CIDR text, e.g. "10.8.0.0/24". */
  readonly text: string;
}

/** Result of reading "ADDRESS/LENGTH" text, before deciding whether host bits matter. */
export interface ParsedCidr {
  address: IpAddress;
  length: number;
  /** The same prefix with host bits cleared. */
  prefix: IpPrefix;
  /** True when `address` has bits set past `length`. */
  hostBitsSet: boolean;
}

/** Parses "ADDRESS/LENGTH"; null when the text is not of that form or the length is out of range. */
export function parseCidr(text: string): ParsedCidr | null {
  const slash = text.indexOf("/");
  if (slash < 0) return null;
  const address = parseIp(text.slice(0, slash));
  if (!address) return null;
  const length = tryParsePrefixLength(text.slice(slash + 1), address.bytes.length * 8);
  if (length < 0) return null;
  const prefix = ipPrefix(address.bytes, length);
  const hostBitsSet = prefix.bytes.some((b, i) => b !== address.bytes[i]);
  return { address, length, prefix, hostBitsSet };
}

/** Builds the prefix of `length` bits containing `bytes` (host bits are cleared). */
export function ipPrefix(bytes: Uint8Array, length: number): IpPrefix {
  const masked = Uint8Array.from(bytes);
  for (let i = 0; i < masked.length; i++) {
    const bitsHere = Math.max(0, Math.min(8, length - i * 8));
    masked[i] &= bitsHere === 0 ? 0 : (0xff << (8 - bitsHere)) & 0xff;
  }
  const address = formatIp(masked);
  return {
    family: masked.length === 4 ? 4 : 6,
    bytes: masked,
    length,
    address,
    text: `${address}/${length}`,
  };
}

/** True when `addr` (4 or 16 bytes) lies inside `prefix`. */
export function prefixContains(prefix: IpPrefix, addr: Uint8Array): boolean {
  if (addr.length !== prefix.bytes.length) return false;
  return ipPrefix(addr, prefix.length).address === prefix.address;
}

/** True when prefix `inner` lies entirely inside `outer`. */
export function prefixCovers(outer: IpPrefix, inner: IpPrefix): boolean {
  return inner.length >= outer.length && prefixContains(outer, inner.bytes);
}

/** The address `offset` (≥ 0, < 2^32) past the network address of `prefix`. */
export function addressAt(prefix: IpPrefix, offset: number): IpAddress {
  const out = Uint8Array.from(prefix.bytes);
  let carry = offset;
  for (let i = out.length - 1; i >= 0 && carry > 0; i--) {
    const sum = out[i] + (carry % 256);
    out[i] = sum & 0xff;
    carry = Math.floor(carry / 256) + (sum >> 8);
  }
  return ipAddress(out);
}

/** Offset of `addr` from the network address of `prefix`, for the low 32 bits of the host part. */
export function hostOffset(prefix: IpPrefix, addr: Uint8Array): number {
  const n = addr.length;
  return (ipv4FromBytes(addr.subarray(n - 4)) - ipv4FromBytes(prefix.bytes.subarray(n - 4))) >>> 0;
}

/** Dotted-quad netmask → prefix length; null when the text is no address or the mask is not contiguous. */
export function netmaskToLength(mask: string): number | null {
  const n = tryParseIpv4(mask);
  if (n < 0) return null;
  const bits = tryIpv4MaskBits(n);
  return bits < 0 ? null : bits;
}
