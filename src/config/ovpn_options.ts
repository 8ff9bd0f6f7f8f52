/**
 * Translation of individual OpenVPN option values into the tsvpn schema's
 * types, shared by the client profile reader and the server importer. Errors
 * are ConfigErrors naming the file, the option's line and the option name;
 * options that are understood but have no tsvpn equivalent are recorded as
 * ignored with a reason.
 */

import { isAbsolute, join, normalize } from "node:path";
import type { LogLevel } from "../log/log.ts";
import { ConfigError } from "./config_error.ts";
import { type IpAddress, isLoopback, parseIp } from "../addr/ip.ts";
import { type IpPrefix, ipPrefix, netmaskToLength, parseCidr } from "../addr/prefix.ts";
import type { IgnoredOption, OvpnDirective } from "./ovpn_lexer.ts";
import { optionText } from "./ovpn_lexer.ts";
import {
  type CipherName,
  CIPHERS,
  type ManagementConfig,
  type PemSource,
  type Proto,
  REDIRECT_FLAGS,
  type RedirectFlag,
  TLS_AUTH_DIGESTS,
  type TlsAuthDigest,
} from "./schema.ts";

/** Why common options are not translated; anything else is "not supported by tsvpn". */
export const IGNORE_REASONS: Record<string, string> = {
  "comp-lzo": "compression is not supported",
  compress: "compression is not supported",
  "allow-compression": "compression is not supported",
  dh: "not needed: tsvpn uses ECDHE",
  "ecdh-curve": "tsvpn chooses the TLS key exchange itself",
  "tls-version-min": "tsvpn requires TLS 1.2 or later itself",
  "tls-cipher": "tsvpn chooses TLS cipher suites itself",
  "tls-ciphersuites": "tsvpn chooses TLS cipher suites itself",
  user: "tsvpn does not drop privileges",
  group: "tsvpn does not drop privileges",
  chroot: "tsvpn does not chroot",
  daemon: "run tsvpn under a service manager instead",
  log: "tsvpn logs to stderr",
  "log-append": "tsvpn logs to stderr",
  "block-outside-dns": "Windows-only option",
  "dhcp-option": "only meaningful when pushed by a server",
  setenv: "environment settings are not supported",
  "setenv-safe": "environment settings are not supported",
  sndbuf: "socket buffer sizes are not configurable",
  rcvbuf: "socket buffer sizes are not configurable",
  "http-proxy": "proxies are not supported",
  "socks-proxy": "proxies are not supported",
  connection: "<connection> blocks are not supported; use remotes",
  fragment: "fragmentation is not supported",
  "tun-mtu-extra": "not needed",
  "mute-replay-warnings": "replays are counted, not logged",
  "data-ciphers-fallback": "tsvpn requires cipher negotiation (OpenVPN 2.4 or later)",
  "ncp-disable": "tsvpn requires cipher negotiation (OpenVPN 2.4 or later)",
};

/** Options whose behaviour tsvpn always has: accepted silently. */
export const ALWAYS_ON = new Set([
  "persist-key",
  "persist-tun",
  "auth-nocache",
  "resolv-retry",
  "nobind",
  "float",
  "explicit-exit-notify",
  "tls-client",
  "tls-server",
  "pull",
  "client",
  "key-direction",
  "script-security",
]);

export class OvpnContext {
  readonly file: string;
  readonly baseDir: string;
  readonly ignored: IgnoredOption[] = [];

  constructor(file: string, baseDir: string) {
    this.file = file;
    this.baseDir = baseDir;
  }

  fail(d: OvpnDirective, detail: string): never {
    throw new ConfigError(this.file, d.line, d.name, detail);
  }

  ignore(d: OvpnDirective, reason?: string): void {
    this.ignored.push({
      line: d.line,
      option: optionText(d),
      reason: reason ??
        (Object.hasOwn(IGNORE_REASONS, d.name) ? IGNORE_REASONS[d.name] : "not supported by tsvpn"),
    });
  }

  /** Argument `i`, which must be present. */
  arg(d: OvpnDirective, i: number, what: string): string {
    const v = d.args[i];
    if (v === undefined) this.fail(d, `expected ${what}`);
    return v;
  }

  int(d: OvpnDirective, i: number, min: number, max: number, what: string): number {
    const v = this.arg(d, i, what);
    const n = /^[0-9]+$/.test(v) ? Number(v) : NaN;
    if (!(n >= min && n <= max)) this.fail(d, `expected ${what}, got ${JSON.stringify(v)}`);
    return n;
  }

  /** Resolves a path relative to the OpenVPN file's directory. */
  path(p: string): string {
    return isAbsolute(p) ? normalize(p) : join(this.baseDir, p);
  }
}

export function ovpnProto(ctx: OvpnContext, d: OvpnDirective, value: string, server: boolean): Proto {
  const v = value.toLowerCase();
  if (/^udp[46]?$/.test(v)) return "udp";
  if (/^tcp[46]?$/.test(v)) return "tcp";
  if (/^tcp[46]?-(client|server)$/.test(v)) {
    if (v.endsWith(server ? "-client" : "-server")) {
      ctx.fail(d, `expected ${server ? "a server" : "a client"} protocol, got ${JSON.stringify(value)}`);
    }
    return "tcp";
  }
  ctx.fail(d, `expected udp or tcp, got ${JSON.stringify(value)}`);
}

/** `dev` and `dev-type` as read, settled by `ovpnDev` once every line is read. */
export interface DevDirectives {
  dev: OvpnDirective | null;
  devType: string | null;
}

/** Records `dev` or `dev-type` in `into`; false for any other option. */
export function takeDevDirective(into: DevDirectives, ctx: OvpnContext, d: OvpnDirective): boolean {
  if (d.name === "dev") into.dev = d;
  else if (d.name === "dev-type") into.devType = ctx.arg(d, 0, "tun or tap");
  else return false;
  return true;
}

/** `tun-mtu N`. */
export function ovpnMtu(ctx: OvpnContext, d: OvpnDirective): number {
  return ctx.int(d, 0, 576, 65535, "an MTU from 576 to 65535");
}

/** `dev tun|tap|tunN|NAME` with an optional `dev-type`: the device type and the tsvpn name. */
export function ovpnDev(
  ctx: OvpnContext,
  d: OvpnDirective,
  devType: string | null,
): { type: "tun" | "tap"; name: string | null } {
  const v = ctx.arg(d, 0, "a device such as tun or tap");
  const type = devType ?? (v.startsWith("tun") ? "tun" : v.startsWith("tap") ? "tap" : null);
  if (type !== "tun" && type !== "tap") ctx.fail(d, `expected tun or tap, got ${JSON.stringify(v)}`);
  // Bare "tun"/"tap" asks the kernel for a free name; tsvpn then uses its default name.
  const name = v === "tun" || v === "tap" ? null : v;
  if (name !== null && !/^[^\s/:]{1,15}$/.test(name)) {
    ctx.fail(d, `expected an interface name, got ${JSON.stringify(v)}`);
  }
  return { type, name };
}

/** `route NETWORK [MASK] …` (MASK defaults to a host route). */
export function ovpnRoute(ctx: OvpnContext, d: OvpnDirective, args = d.args): IpPrefix {
  const net = args[0];
  const mask = args[1] && args[1] !== "default" ? args[1] : "255.255.255.255";
  const ip = net === undefined ? null : parseIp(net);
  if (ip?.family !== 4) ctx.fail(d, `expected an IPv4 network, got ${JSON.stringify(net ?? "")}`);
  const len = netmaskToLength(mask);
  if (len === null) ctx.fail(d, `expected a netmask such as 255.255.255.0, got ${JSON.stringify(mask)}`);
  const p = ipPrefix(ip.bytes, len);
  if (p.address !== net) {
    ctx.fail(d, `expected a network with host bits zero, got ${net} ${mask} (did you mean ${p.address}?)`);
  }
  return p;
}

/** `route-ipv6 PREFIX/LEN …` / `iroute-ipv6`. */
export function ovpnRoute6(ctx: OvpnContext, d: OvpnDirective, args = d.args): IpPrefix {
  const v = args[0] ?? "";
  const c = parseCidr(v);
  if (!c || c.address.family !== 6) {
    ctx.fail(d, `expected an IPv6 prefix such as fd00::/64, got ${JSON.stringify(v)}`);
  }
  if (c.hostBitsSet) {
    ctx.fail(d, `expected a prefix with host bits zero, got ${v} (did you mean ${c.prefix.text}?)`);
  }
  return c.prefix;
}

export function ovpnAddress(
  ctx: OvpnContext,
  d: OvpnDirective,
  v: string | undefined,
  family?: 4 | 6,
): IpAddress {
  const a = v === undefined ? null : parseIp(v);
  if (!a || (family && a.family !== family)) {
    ctx.fail(
      d,
      `expected an ${family === 6 ? "IPv6" : family === 4 ? "IPv4" : "IP"} address, got ${
        JSON.stringify(v ?? "")
      }`,
    );
  }
  return a;
}

/** `data-ciphers A:B:C`: supported ones in order; unsupported ones are reported as ignored. */
export function ovpnCiphers(ctx: OvpnContext, d: OvpnDirective): CipherName[] {
  const list = ctx.arg(d, 0, "a colon-separated cipher list").split(":");
  const out: CipherName[] = [];
  const dropped: string[] = [];
  for (const raw of list) {
    const name = raw.toUpperCase();
    const known = CIPHERS.find((c) => c === name);
    if (known && !out.includes(known)) out.push(known);
    else if (!known) dropped.push(raw);
  }
  if (out.length === 0) {
    ctx.fail(d, `expected at least one of ${CIPHERS.join(", ")}, got ${JSON.stringify(d.args[0])}`);
  }
  if (dropped.length > 0) {
    ctx.ignored.push({
      line: d.line,
      option: `${d.name} ${dropped.join(":")}`,
      reason: `tsvpn supports only ${CIPHERS.join(", ")}`,
    });
  }
  return out;
}

/** `cipher X`: a supported AEAD cipher, or null (reported as ignored). */
export function ovpnCipher(ctx: OvpnContext, d: OvpnDirective): CipherName | null {
  const name = ctx.arg(d, 0, "a cipher").toUpperCase();
  const known = CIPHERS.find((c) => c === name) ?? null;
  if (!known) ctx.ignore(d, `tsvpn supports only ${CIPHERS.join(", ")}`);
  return known;
}

/** `auth DIGEST` as the tls-auth HMAC digest, or null (reported as ignored). */
export function ovpnDigest(ctx: OvpnContext, d: OvpnDirective): TlsAuthDigest | null {
  const v = ctx.arg(d, 0, "a digest").toUpperCase().replace(/^SHA-/, "SHA");
  const known = TLS_AUTH_DIGESTS.find((x) => x === v) ?? null;
  if (!known) ctx.ignore(d, `tls-auth digests are ${TLS_AUTH_DIGESTS.join(", ")}`);
  return known;
}

/** OpenVPN verbosity → log level: 0 errors, 1–2 warnings, 3–4 normal, 5+ debug. */
export function verbToLevel(verb: number): LogLevel {
  if (verb <= 0) return "error";
  if (verb <= 2) return "warn";
  if (verb <= 4) return "info";
  return "debug";
}

/** `management IP PORT` or `management PATH unix`. */
export function ovpnManagement(ctx: OvpnContext, d: OvpnDirective): ManagementConfig {
  const where = ctx.arg(d, 0, "an address and port, or a socket path and unix");
  if (d.args[1] === "unix") {
    return {
      listen: { kind: "unix", path: ctx.path(where) },
      passwordFile: passwordFileArg(ctx, d, 2),
      hold: false,
      clientAuth: false,
    };
  }
  const port = ctx.int(d, 1, 1, 65535, "a port from 1 to 65535");
  const ip = where === "localhost" ? null : parseIp(where);
  const loopback = where === "localhost" || (ip !== null && isLoopback(ip));
  if (!loopback) {
    ctx.fail(d, `expected a loopback address (127.0.0.0/8, ::1 or localhost), got ${JSON.stringify(where)}`);
  }
  return {
    listen: { kind: "tcp", host: ip ? ip.text : where, port },
    passwordFile: passwordFileArg(ctx, d, 2),
    hold: false,
    clientAuth: false,
  };
}

/** `management … pw-file`: a file whose first line is the password ("stdin" would prompt: not supported). */
function passwordFileArg(ctx: OvpnContext, d: OvpnDirective, index: number): string | null {
  const arg = d.args[index];
  if (arg === undefined) return null;
  if (arg === "stdin") ctx.fail(d, "expected a password file (tsvpn cannot prompt on stdin)");
  return ctx.path(arg);
}

/** redirect-gateway flags that tsvpn knows; the others are reported as ignored. */
export function ovpnRedirectFlags(ctx: OvpnContext, d: OvpnDirective, args: string[]): RedirectFlag[] {
  const out: RedirectFlag[] = [];
  const dropped: string[] = [];
  for (const a of args) {
    const flag = REDIRECT_FLAGS.find((f) => f === a);
    if (flag) {
      if (!out.includes(flag)) out.push(flag);
    } else dropped.push(a);
  }
  if (dropped.length > 0) {
    ctx.ignored.push({
      line: d.line,
      option: `redirect-gateway ${dropped.join(" ")}`,
      reason: "flag not supported by tsvpn",
    });
  }
  return out;
}

/** PEM material from `NAME FILE` or an inline `<NAME>` block (`[inline]` refers to the block). */
export class PemCollector {
  #found = new Map<string, { src: PemSource; d: OvpnDirective; direction: 0 | 1 | null }>();

  /** Records `d` if it names PEM material; returns false when it does not. */
  take(ctx: OvpnContext, d: OvpnDirective, names: readonly string[]): boolean {
    if (!names.includes(d.name)) return false;
    if (d.inline !== null) {
      if (!d.inline.includes("-----BEGIN ")) {
        ctx.fail(d, "expected PEM text (-----BEGIN …) in the inline block");
      }
      const prev = this.#found.get(d.name);
      this.#found.set(d.name, {
        src: { kind: "inline", pem: d.inline },
        d,
        direction: prev?.direction ?? null,
      });
      return true;
    }
    const file = ctx.arg(d, 0, "a file name");
    let direction: 0 | 1 | null = null;
    if (d.args[1] !== undefined) {
      if (d.args[1] !== "0" && d.args[1] !== "1") {
        ctx.fail(d, `expected key direction 0 or 1, got ${JSON.stringify(d.args[1])}`);
      }
      direction = d.args[1] === "1" ? 1 : 0;
    }
    // "[inline]" points at a block that may come before or after this line.
    if (file === "[inline]") {
      const prev = this.#found.get(d.name);
      if (prev?.src.kind === "inline") {
        this.#found.set(d.name, { ...prev, direction: direction ?? prev.direction });
      } else this.#found.set(d.name, { src: { kind: "inline", pem: "" }, d, direction });
      return true;
    }
    this.#found.set(d.name, { src: { kind: "file", path: ctx.path(file) }, d, direction });
    return true;
  }

  get(name: string): { src: PemSource; d: OvpnDirective; direction: 0 | 1 | null } | null {
    const found = this.#found.get(name);
    if (!found) return null;
    if (found.src.kind === "inline" && found.src.pem === "") return null;
    return found;
  }
}
