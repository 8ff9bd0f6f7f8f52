/**
 * IP addresses and prefixes as the configuration carries them: the family, the
 * network-order bytes and the canonical text (RFC 5952 for IPv6). Parsing is
 * strict (dotted quads without leading zeros, no IPv6 zone ids) so that a typo
 * in a config file is an error rather than a surprising address.
 */

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

const DEC_OCTET = /^(0|[1-9][0-9]{0,2})$/;

/** Parses a dotted-quad IPv4 address; null when `s` is not one. */
export function parseIpv4(s: string): Uint8Array | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!DEC_OCTET.test(parts[i])) return null;
    const n = Number(parts[i]);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

const HEXTET = /^[0-9a-fA-F]{1,4}$/;

/** Parses an IPv6 address (with "::" and an optional dotted-quad tail); null when `s` is not one. */
export function parseIpv6(s: string): Uint8Array | null {
  if (s.length < 2 || s.length > 45) return null;
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] === "" ? [] : halves[0].split(":");
  const tail = halves.length === 2 ? (halves[1] === "" ? [] : halves[1].split(":")) : [];
  const groups: number[] = [];
  const all = halves.length === 2 ? [...head, ...tail] : head;
  let v4: Uint8Array | null = null;
  for (let i = 0; i < all.length; i++) {
    const g = all[i];
    if (i === all.length - 1 && g.includes(".")) {
      // A dotted-quad tail must end the address, never precede "::".
      if (halves.length === 2 && tail.length === 0) return null;
      v4 = parseIpv4(g);
      if (v4 === null) return null;
      continue;
    }
    if (!HEXTET.test(g)) return null;
    groups.push(parseInt(g, 16));
  }
  const words = groups.length + (v4 ? 2 : 0);
  if (halves.length === 2 ? words > 7 : words !== 8) return null;
  const out = new Uint8Array(16);
  const headLen = halves.length === 2 ? head.length : all.length;
  // Head groups fill from the front, tail groups (plus the IPv4 tail) from the back.
  for (let i = 0; i < headLen && i < groups.length; i++) {
    out[i * 2] = groups[i] >> 8;
    out[i * 2 + 1] = groups[i] & 0xff;
  }
  if (halves.length === 2) {
    const tailGroups = groups.slice(head.length);
    let pos = 16 - (v4 ? 4 : 0) - tailGroups.length * 2;
    for (const g of tailGroups) {
      out[pos++] = g >> 8;
      out[pos++] = g & 0xff;
    }
  }
  if (v4) out.set(v4, 12);
  return out;
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

/** Canonical text of 4 or 16 address bytes (RFC 5952 for IPv6). */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  if (bytes.length !== 16) throw new RangeError(`Address must have 4 or 16 bytes, got ${bytes.length}`);
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((bytes[i] << 8) | bytes[i + 1]);
  // Longest run (at least two) of zero groups, first one on ties.
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(":");
  if (bestLen < 2) return hex(g);
  return hex(g.slice(0, bestStart)) + "::" + hex(g.slice(bestStart + bestLen));
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

const PREFIX_LEN = /^(0|[1-9][0-9]{0,2})$/;

/** Parses "ADDRESS/LENGTH"; null when the text is not of that form or the length is out of range. */
export function parseCidr(s: string): ParsedCidr | null {
  const slash = s.indexOf("/");
  if (slash < 0) return null;
  const address = parseIp(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (!address || !PREFIX_LEN.test(lenText)) return null;
  const length = Number(lenText);
  if (length > address.bytes.length * 8) return null;
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
  const bytes = parseIpv4(mask);
  if (!bytes) return null;
  const n = ipv4ToNumber(bytes);
  const inverted = (~n) >>> 0;
  // A contiguous mask's inverse is 2^k - 1.
  if ((inverted & (inverted + 1)) !== 0) return null;
  return 32 - Math.log2(inverted + 1);
}
