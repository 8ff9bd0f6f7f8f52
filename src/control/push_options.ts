/**
 * PUSH_REPLY: "PUSH_REPLY," followed by comma-separated options, each option
 * a keyword and space-separated arguments:
 *
 *   PUSH_REPLY,route-gateway 10.8.0.1,topology subnet,ping 10,ping-restart 60,
 *     ifconfig 10.8.0.2 255.255.255.0,peer-id 0,cipher AES-256-GCM
 *
 * Long replies are split into several messages, each but the last ending with
 * "push-continuation 2", the last with "push-continuation 1".
 */

export interface PushRoute {
  network: string;
  netmask?: string;
  gateway?: string;
  metric?: number;
}

export interface PushRoute6 {
  network: string;
  gateway?: string;
  metric?: number;
}

export interface DhcpOption {
  type: string;
  value: string;
}

export interface PushOptions {
  /** `ifconfig local netmask` (subnet) or `ifconfig local remote` (net30/p2p). */
  ifconfig?: { local: string; remoteOrNetmask: string };
  /** `ifconfig-ipv6 addr/prefix remote`. */
  ifconfigIpv6?: { local: string; remote: string };
  routes?: PushRoute[];
  routesIpv6?: PushRoute6[];
  routeGateway?: string;
  topology?: "net30" | "p2p" | "subnet";
  /** Flags such as def1, bypass-dhcp, ipv6, !ipv4; [] means plain `redirect-gateway`. */
  redirectGateway?: string[];
  dhcpOptions?: DhcpOption[];
  ping?: number;
  pingRestart?: number;
  peerId?: number;
  cipher?: string;
  protocolFlags?: string[];
  tunMtu?: number;
  /** Options not modelled above, kept verbatim in order. */
  extra?: string[];
}

export const PUSH_REPLY_PREFIX = "PUSH_REPLY";
/** Default largest control message we send for one PUSH_REPLY part. */
export const DEFAULT_PUSH_CHUNK = 1024;

function checkToken(s: string): string {
  if (/[,\0\n]/.test(s)) throw new RangeError(`Push option value contains a forbidden character: ${s}`);
  return s;
}

/** The option strings, in the order OpenVPN servers usually send them. */
export function formatPushOptions(o: PushOptions): string[] {
  const out: string[] = [];
  const add = (...parts: (string | number | undefined)[]) =>
    out.push(checkToken(parts.filter((p) => p !== undefined && p !== "").join(" ")));
  if (o.redirectGateway) add("redirect-gateway", ...o.redirectGateway);
  for (const r of o.routes ?? []) {
    add(
      "route",
      r.network,
      r.netmask ?? (r.gateway || r.metric !== undefined ? "255.255.255.255" : undefined),
      r.gateway ?? (r.metric !== undefined ? "vpn_gateway" : undefined),
      r.metric,
    );
  }
  for (const r of o.routesIpv6 ?? []) {
    add("route-ipv6", r.network, r.gateway ?? (r.metric !== undefined ? "::" : undefined), r.metric);
  }
  for (const d of o.dhcpOptions ?? []) add("dhcp-option", d.type, d.value);
  if (o.routeGateway) add("route-gateway", o.routeGateway);
  if (o.topology) add("topology", o.topology);
  if (o.ping !== undefined) add("ping", o.ping);
  if (o.pingRestart !== undefined) add("ping-restart", o.pingRestart);
  if (o.ifconfigIpv6) add("ifconfig-ipv6", o.ifconfigIpv6.local, o.ifconfigIpv6.remote);
  if (o.ifconfig) add("ifconfig", o.ifconfig.local, o.ifconfig.remoteOrNetmask);
  if (o.peerId !== undefined) add("peer-id", o.peerId);
  if (o.cipher) add("cipher", o.cipher);
  if (o.protocolFlags && o.protocolFlags.length > 0) add("protocol-flags", ...o.protocolFlags);
  if (o.tunMtu !== undefined) add("tun-mtu", o.tunMtu);
  for (const e of o.extra ?? []) out.push(checkToken(e));
  return out;
}

/** One or more PUSH_REPLY messages, split with push-continuation when longer than `maxLen`. */
export function buildPushReplies(o: PushOptions, maxLen = DEFAULT_PUSH_CHUNK): string[] {
  const opts = formatPushOptions(o);
  const single = [PUSH_REPLY_PREFIX, ...opts].join(",");
  if (single.length <= maxLen) return [single];
  const tail = ",push-continuation 2";
  const parts: string[] = [];
  let cur = PUSH_REPLY_PREFIX;
  for (const opt of opts) {
    if (cur.length + 1 + opt.length + tail.length > maxLen && cur !== PUSH_REPLY_PREFIX) {
      parts.push(cur + tail);
      cur = PUSH_REPLY_PREFIX;
    }
    cur += "," + opt;
  }
  parts.push(cur + ",push-continuation 1");
  return parts;
}

/** Splits an option into words, honouring double quotes. */
export function splitOptionWords(opt: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(opt); m; m = re.exec(opt)) {
    words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2]);
  }
  return words;
}

/** A decimal integer within [min, max], else undefined (a server could push "ping 99999999999999999999"). */
function int(s: string | undefined, min = 0, max = 0x7fffffff): number | undefined {
  if (s === undefined || !/^-?\d{1,10}$/.test(s)) return undefined;
  const n = Number.parseInt(s, 10);
  return n >= min && n <= max ? n : undefined;
}

/** Parses option strings (without the PUSH_REPLY keyword) into PushOptions; unknown ones go to extra. */
export function parsePushOptions(options: readonly string[]): PushOptions {
  const o: PushOptions = {};
  for (const raw of options) {
    const opt = raw.trim();
    if (!opt) continue;
    const w = splitOptionWords(opt);
    switch (w[0]) {
      case "ifconfig":
        if (w.length >= 3) o.ifconfig = { local: w[1], remoteOrNetmask: w[2] };
        break;
      case "ifconfig-ipv6":
        if (w.length >= 3) o.ifconfigIpv6 = { local: w[1], remote: w[2] };
        break;
      case "route":
        if (w.length >= 2) {
          (o.routes ??= []).push({ network: w[1], netmask: w[2], gateway: w[3], metric: int(w[4]) });
        }
        break;
      case "route-ipv6":
        if (w.length >= 2) (o.routesIpv6 ??= []).push({ network: w[1], gateway: w[2], metric: int(w[3]) });
        break;
      case "route-gateway":
        if (w.length >= 2) o.routeGateway = w[1];
        break;
      case "topology":
        if (w[1] === "net30" || w[1] === "p2p" || w[1] === "subnet") o.topology = w[1];
        break;
      case "redirect-gateway":
        o.redirectGateway = w.slice(1);
        break;
      case "dhcp-option":
        if (w.length >= 2) (o.dhcpOptions ??= []).push({ type: w[1], value: w.slice(2).join(" ") });
        break;
      case "ping":
        o.ping = int(w[1]);
        break;
      case "ping-restart":
        o.pingRestart = int(w[1]);
        break;
      case "peer-id":
        o.peerId = int(w[1], 0, 0xffffff);
        break;
      case "cipher":
        o.cipher = w[1];
        break;
      case "protocol-flags":
        o.protocolFlags = w.slice(1);
        break;
      case "tun-mtu":
        o.tunMtu = int(w[1], 0, 65535);
        break;
      case "push-continuation":
        break;
      default:
        (o.extra ??= []).push(opt);
    }
  }
  return o;
}

/** Option strings of one PUSH_REPLY message ("PUSH_REPLY,a,b" → ["a","b"]). */
export function pushReplyOptions(message: string): string[] {
  const body = message.startsWith(PUSH_REPLY_PREFIX + ",") ? message.slice(PUSH_REPLY_PREFIX.length + 1) : "";
  return body.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

/** Most option bytes one PUSH_REPLY (all continuations) may carry; OpenVPN servers send a few KiB. */
export const MAX_PUSH_REPLY_BYTES = 256 * 1024;

/**
 * Collects PUSH_REPLY parts. add() returns the complete option list when the
 * reply is finished, or null while a continuation is expected. A peer that
 * keeps sending "push-continuation 2" cannot grow it past MAX_PUSH_REPLY_BYTES:
 * `overflowed` turns true and the parts are dropped.
 */
export class PushReplyAssembler {
  #parts: string[] = [];
  #bytes = 0;
  readonly #max: number;
  overflowed = false;

  constructor(maxBytes = MAX_PUSH_REPLY_BYTES) {
    this.#max = maxBytes;
  }

  add(message: string): string[] | null {
    const opts = pushReplyOptions(message);
    let more = false;
    for (const o of opts) {
      if (o === "push-continuation 2") more = true;
      else if (o !== "push-continuation 1") {
        this.#parts.push(o);
        this.#bytes += o.length + 1;
      }
    }
    if (this.#bytes > this.#max) {
      this.overflowed = true;
      this.#parts = [];
      this.#bytes = 0;
      return null;
    }
    if (more) return null;
    this.#bytes = 0;
    const done = this.#parts;
    this.#parts = [];
    return done;
  }
}
