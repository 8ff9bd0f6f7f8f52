/**
 * CIDR prefixes and IPv4 netmasks, for config edges and status output.
 * A prefix's `addr` always has its host bits cleared.
 */

import { formatIpv4, formatIpv6, parseIpv4, tryParseIpv4, tryParseIpv6 } from "./ip.ts";

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

export type IpPrefix = Ipv4Prefix | Ipv6Prefix;

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
export function parsePrefix(text: string, opts: ParsePrefixOptions = {}): IpPrefix {
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
export function formatPrefix(prefix: IpPrefix): string {
  return prefix.family === 4
    ? `${formatIpv4(prefix.addr)}/${prefix.bits}`
    : `${formatIpv6(prefix.addr)}/${prefix.bits}`;
}
