/**
 * Readers for the value kinds the schema uses (ports, seconds, addresses,
 * prefixes, host names, flag lists), each failing with a message that says
 * what was expected.
 */

import { type IpAddress, type IpFamily, parseIp } from "../addr/ip.ts";
import { type IpPrefix, parseCidr } from "../addr/prefix.ts";
import type { Field, MapView } from "./yaml_reader.ts";

const MAX_SECONDS = 2 ** 31 - 1;

export function readPort(f: Field): number {
  return f.int(1, 65535, "a port from 1 to 65535");
}

/** A positive whole number of seconds. */
export function readSeconds(f: Field): number {
  return f.int(1, MAX_SECONDS, "a positive whole number of seconds");
}

const FAMILY_NAME: Record<IpFamily, string> = { 4: "IPv4", 6: "IPv6" };

/** An IP address of `family` (either family when omitted); `hint` is added on a family mismatch. */
export function readAddress(f: Field, family?: IpFamily, hint = ""): IpAddress {
  const what = family ? `an ${FAMILY_NAME[family]} address` : "an IP address";
  const v = f.scalar();
  const addr = typeof v === "string" ? parseIp(v) : null;
  if (!addr) f.expected(what);
  if (family && addr.family !== family) f.fail(`expected ${what}, got ${JSON.stringify(v)}${hint}`);
  return addr;
}

const EXAMPLE_PREFIX: Record<IpFamily, string> = { 4: "192.168.10.0/24", 6: "fd00:10::/64" };

/**
 * A network prefix of `family` with host bits zero. `hint` is appended when
 * the family is wrong (e.g. " (put IPv6 prefixes in routes6)").
 */
export function readPrefix(f: Field, family: IpFamily, hint = ""): IpPrefix {
  const what = `an ${FAMILY_NAME[family]} prefix such as ${EXAMPLE_PREFIX[family]}`;
  const v = f.scalar();
  if (typeof v !== "string") f.expected(what);
  const cidr = parseCidr(v);
  if (!cidr) {
    const bare = parseIp(v);
    if (bare && bare.family === family) {
      f.fail(`expected ${what}, got ${JSON.stringify(v)} (missing /LENGTH)`);
    }
    f.expected(what);
  }
  if (cidr.address.family !== family) f.fail(`expected ${what}, got ${JSON.stringify(v)}${hint}`);
  if (cidr.hostBitsSet) {
    f.fail(
      `expected a network prefix with host bits zero, got ${
        JSON.stringify(v)
      } (did you mean ${cidr.prefix.text}?)`,
    );
  }
  return cidr.prefix;
}

/** A list of prefixes of one family under `key` of `map` (absent = []). */
export function readPrefixList(map: MapView, key: string, family: IpFamily): IpPrefix[] {
  const f = map.opt(key);
  if (!f) return [];
  const other = family === 4 ? `${key}6` : key.replace(/6$/, "");
  const hint = family === 4 ? ` (put IPv6 prefixes in ${other})` : ` (put IPv4 prefixes in ${other})`;
  return f.list().map((item) => readPrefix(item, family, hint));
}

const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** True for a syntactically valid DNS name (the last label is not all digits). */
export function isHostName(s: string): boolean {
  const name = s.endsWith(".") ? s.slice(0, -1) : s;
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split(".");
  if (/^[0-9]+$/.test(labels[labels.length - 1])) return false;
  return labels.every((l) => LABEL.test(l));
}

/** A host name or an IP address; IPs come back in canonical text. */
export function readHost(f: Field): string {
  const v = f.scalar();
  if (typeof v === "string") {
    const ip = parseIp(v);
    if (ip) return ip.text;
    if (isHostName(v)) return v;
  }
  f.expected("a host name or IP address");
}

/** A DNS domain name. */
export function readDomain(f: Field): string {
  const v = f.scalar();
  if (typeof v !== "string" || !isHostName(v)) f.expected("a domain name");
  return v;
}

/** A list of distinct values from `allowed`; a value given twice is an error. */
export function readEnumList<T extends string>(f: Field, allowed: readonly T[]): T[] {
  const out: T[] = [];
  for (const item of f.list()) {
    const v = item.oneOf(allowed);
    if (out.includes(v)) item.fail(`expected each value once, got ${JSON.stringify(v)} twice`);
    out.push(v);
  }
  return out;
}
