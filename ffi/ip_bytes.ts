/**
 * IP addresses and prefixes as the kernel takes them: a family and its
 * network-order bytes (4 or 16), parsed from and formatted to text. Used by
 * the rtnetlink codecs and by `openUdp` for the bind address.
 */

import {
  formatIpv4,
  formatIpv6,
  ipv6FromBytes,
  ipv6ToBytes,
  tryParseIpv4,
  tryParseIpv6,
} from "../src/addr/ip.ts";
import { AF_INET, AF_INET6 } from "./libc.ts";

/** An address family and its network-order bytes (4 or 16). */
export interface IpBytes {
  family: typeof AF_INET | typeof AF_INET6;
  bytes: Uint8Array;
}

/** Parses IPv4/IPv6 text into bytes, or null when it is neither. */
export function ipToBytes(text: string): IpBytes | null {
  const v4 = tryParseIpv4(text);
  if (v4 >= 0) {
    return {
      family: AF_INET,
      bytes: new Uint8Array([v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255]),
    };
  }
  const v6 = tryParseIpv6(text);
  if (v6 === null) return null;
  return { family: AF_INET6, bytes: ipv6ToBytes(v6) };
}

/** Formats 4 or 16 address bytes at `off` as text; null for any other length. */
export function bytesToIp(buf: Uint8Array, off: number, len: number): string | null {
  if (len === 4) {
    return formatIpv4(((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0);
  }
  if (len === 16) return formatIpv6(ipv6FromBytes(buf, off));
  return null;
}

/** A parsed "address/len" prefix (host bits are kept as given). */
export interface PrefixBytes extends IpBytes {
  prefixLen: number;
}

/** Parses "10.8.0.0/24", "fd00::/64", "default" (IPv4 0/0) or a bare address (host prefix). */
export function parsePrefixText(text: string): PrefixBytes | null {
  if (text === "default") return { family: AF_INET, bytes: new Uint8Array(4), prefixLen: 0 };
  const slash = text.indexOf("/");
  const ip = ipToBytes(slash < 0 ? text : text.slice(0, slash));
  if (ip === null) return null;
  const max = ip.family === AF_INET ? 32 : 128;
  if (slash < 0) return { ...ip, prefixLen: max };
  const lenText = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText)) return null;
  const prefixLen = Number(lenText);
  if (prefixLen > max) return null;
  return { ...ip, prefixLen };
}
