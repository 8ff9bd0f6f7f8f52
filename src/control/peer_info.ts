/**
 * Peer-info: the "KEY=value\n" lines a client sends in its key-method 2
 * message, by which servers learn its version, platform, ciphers (NCP) and
 * protocol features (IV_PROTO bits). tsvpn-to-tsvpn extensions are announced
 * with IV_TSVPN=<version> and are invisible to stock peers.
 */

export const IV_PROTO_DATA_V2 = 1 << 1;
export const IV_PROTO_REQUEST_PUSH = 1 << 2;
export const IV_PROTO_TLS_KEY_EXPORT = 1 << 3;
export const IV_PROTO_AUTH_PENDING_KW = 1 << 4;
export const IV_PROTO_NCP_P2P = 1 << 5;
export const IV_PROTO_DNS_OPTION = 1 << 6;
export const IV_PROTO_CC_EXIT_NOTIFY = 1 << 7;
export const IV_PROTO_AUTH_FAIL_TEMP = 1 << 8;
export const IV_PROTO_DYN_TLS_CRYPT = 1 << 9;

/**
 * What tsvpn's client announces: P_DATA_V2, push without waiting for
 * PUSH_REQUEST, exit notification over the control channel. Never TLS key
 * export (Deno's node:tls cannot export keying material) nor dynamic tls-crypt.
 */
export const TSVPN_IV_PROTO = IV_PROTO_DATA_V2 | IV_PROTO_REQUEST_PUSH | IV_PROTO_CC_EXIT_NOTIFY;

/** Version of the tsvpn extension set announced as IV_TSVPN. */
export const TSVPN_EXTENSION_VERSION = "1";

export interface ClientPeerInfoOptions {
  ciphers: readonly string[];
  /** OpenVPN-compatible version announced as IV_VER. @default "2.6.14" */
  version?: string;
  /** @default "linux" */
  platform?: string;
  /** @default 1500 */
  mtu?: number;
  /** Announce tsvpn extensions (IV_TSVPN). @default true */
  tsvpn?: boolean;
  /** Further lines, e.g. UV_ variables. */
  extra?: Record<string, string>;
}

export function buildClientPeerInfo(o: ClientPeerInfoOptions): string {
  const lines: [string, string][] = [
    ["IV_VER", o.version ?? "2.6.14"],
    ["IV_PLAT", o.platform ?? "linux"],
    ["IV_PROTO", String(TSVPN_IV_PROTO)],
    ["IV_NCP", "2"],
    ["IV_CIPHERS", o.ciphers.join(":")],
    ["IV_MTU", String(o.mtu ?? 1500)],
  ];
  if (o.tsvpn ?? true) lines.push(["IV_TSVPN", TSVPN_EXTENSION_VERSION]);
  for (const [k, v] of Object.entries(o.extra ?? {})) lines.push([k, v]);
  return formatPeerInfo(lines);
}

export function formatPeerInfo(entries: Iterable<[string, string]>): string {
  let s = "";
  for (const [k, v] of entries) {
    if (/[=\n]/.test(k) || v.includes("\n")) throw new RangeError(`Invalid peer-info entry ${k}`);
    s += `${k}=${v}\n`;
  }
  return s;
}

/** Parses peer-info lines; lines without '=' are ignored, later duplicates win. */
export function parsePeerInfo(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    m.set(line.slice(0, eq), line.slice(eq + 1).replace(/\r$/, ""));
  }
  return m;
}

/** The IV_PROTO bit field (0 when absent or not a number). */
export function peerIvProto(info: Map<string, string>): number {
  const v = Number.parseInt(info.get("IV_PROTO") ?? "", 10);
  return Number.isFinite(v) && v > 0 ? v : 0;
}
