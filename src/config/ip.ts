/**
 * IP addresses and prefixes as the configuration carries them: the family, the
 * network-order bytes and the canonical text (RFC 5952 for IPv6). Parsing is
 * strict (dotted quads without leading zeros, no IPv6 zone ids) so that a typo
 * in a config file is an error rather than a surprising address.
 *
 * The parsing and formatting are `addr/ip.ts` and `addr/prefix.ts` (the
 * numeric forms the data path uses); this module only wraps their results as
 * config values.
 */

import {
  formatIpv4,
  formatIpv6,
  ipv6FromBytes,
  ipv6ToBytes,
  tryParseIpv4,
  tryParseIpv6,
} from "../addr/ip.ts";
import { tryIpv4MaskBits, tryParsePrefixLength } from "../addr/prefix.ts";

export type IpFamily = 4 | 6;

export interface IpAddress {
  readonly family: IpFamily;
  /** 4 or 16 bytes, network order. */
  readonly bytes: Uint8Array;
  /** Canonical text, e.g. "10.8.0.1" or "fd00:8::1". */
  readonly text: string;
}

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

/** Parses a dotted-quad IPv4 address; null when `s` is not one. */
export function parseIpv4(s: string): Uint8Array | null {
  const n = tryParseIpv4(s);
  return n < 0 ? null : numberToIpv4(n);
}

/** Parses an IPv6 address (with "::" and an optional dotted-quad tail); null when `s` is not one. */
export function parseIpv6(s: string): Uint8Array | null {
  const words = tryParseIpv6(s);
  return words === null ? null : ipv6ToBytes(words);
}

/** Parses an IPv4 or IPv6 address; null when `s` is neither. */
export function parseIp(s: string): IpAddress | null {
  const bytes = s.includes(":") ? parseIpv6(s) : parseIpv4(s);
  return bytes ? ipAddress(bytes) : null;
}

/** Wraps 4 or 16 bytes as an IpAddress with canonical text. */
export function ipAddress(bytes: Uint8Array): IpAddress {
  const copy = Uint8Array.from(bytes);
  return { family: copy.length === 4 ? 4 : 6, bytes: copy, text: formatIp(copy) };
}

/**
 * Canonical text of 4 or 16 address bytes (RFC 5952 for IPv6). IPv4-mapped
 * addresses stay in hex groups ("::ffff:c000:201"), unlike `addr`'s default.
 */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return formatIpv4(ipv4ToNumber(bytes));
  if (bytes.length !== 16) throw new RangeError(`Address must have 4 or 16 bytes, got ${bytes.length}`);
  return formatIpv6(ipv6FromBytes(bytes), 0, false);
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
export function parseCidr(s: string): ParsedCidr | null {
  const slash = s.indexOf("/");
  if (slash < 0) return null;
  const address = parseIp(s.slice(0, slash));
  if (!address) return null;
  const length = tryParsePrefixLength(s.slice(slash + 1), address.bytes.length * 8);
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

/** IPv4 bytes as an unsigned 32-bit number. */
export function ipv4ToNumber(bytes: Uint8Array): number {
  return ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
}

/** An unsigned 32-bit number as IPv4 bytes. */
export function numberToIpv4(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
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
  return (ipv4ToNumber(addr.subarray(n - 4)) - ipv4ToNumber(prefix.bytes.subarray(n - 4))) >>> 0;
}

/** Dotted-quad netmask → prefix length; null when the mask is not contiguous. */
export function netmaskToLength(mask: string): number | null {
  const n = tryParseIpv4(mask);
  if (n < 0) return null;
  const bits = tryIpv4MaskBits(n);
  return bits < 0 ? null : bits;
}
