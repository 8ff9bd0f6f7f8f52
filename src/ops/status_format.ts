/**
 * OpenVPN 2.6's status layouts (multi.c multi_print_status), so existing
 * parsers, exporters and dashboards read tsvpn unchanged:
 *
 *   version 1  "OpenVPN CLIENT LIST" / "ROUTING TABLE" / "GLOBAL STATS" sections, comma separated
 *   version 2  TITLE, TIME, HEADER, CLIENT_LIST, ROUTING_TABLE, GLOBAL_STATS, END rows, comma separated
 *   version 3  the version 2 rows separated by tabs
 *
 * Times are local time "YYYY-MM-DD HH:MM:SS" (OpenVPN 2.6's time_string),
 * followed by the time_t where the layout has one. Every layout ends with END.
 */
import type { ServerSnapshot } from "./server_control.ts";

export type StatusVersion = 1 | 2 | 3;

export const CLIENT_LIST_HEADER_V2 = [
  "Common Name",
  "Real Address",
  "Virtual Address",
  "Virtual IPv6 Address",
  "Bytes Received",
  "Bytes Sent",
  "Connected Since",
  "Connected Since (time_t)",
  "Username",
  "Client ID",
  "Peer ID",
  "Data Channel Cipher",
] as const;

export const ROUTING_TABLE_HEADER_V2 = [
  "Virtual Address",
  "Common Name",
  "Real Address",
  "Last Ref",
  "Last Ref (time_t)",
] as const;

const MAX_QUEUE_STAT = "Max bcast/mcast queue length";
const DCO_STAT = "dco_enabled";

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** Seconds since the epoch as local "YYYY-MM-DD HH:MM:SS", like OpenVPN 2.6's time_string(). */
export function formatStatusTime(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** OpenVPN's TITLE text for tsvpn. */
export function statusTitle(snapshot: ServerSnapshot): string {
  return `tsvpn ${snapshot.version} [OpenVPN 2.6 compatible]`;
}

/** A field never carries the separator or a line break (names are validated; this is the last guard). */
function field(value: string | number, sep: string): string {
  const text = String(value);
  return /[\r\n\t,]/.test(text) ? text.replace(sep === "\t" ? /[\r\n\t]/g : /[\r\n,]/g, "_") : text;
}

function row(sep: string, values: (string | number)[]): string {
  return values.map((v) => field(v, sep)).join(sep);
}

function globalStats(snapshot: ServerSnapshot, withDco: boolean): [string, number][] {
  const rows: [string, number][] = [[MAX_QUEUE_STAT, snapshot.globalStats[MAX_QUEUE_STAT] ?? 0]];
  if (withDco) rows.push([DCO_STAT, snapshot.globalStats[DCO_STAT] ?? 0]);
  for (const [k, v] of Object.entries(snapshot.globalStats)) {
    if (k !== MAX_QUEUE_STAT && k !== DCO_STAT) rows.push([k, v]);
  }
  return rows;
}

function formatV1(s: ServerSnapshot): string[] {
  const sep = ",";
  const lines = [
    "OpenVPN CLIENT LIST",
    `Updated,${formatStatusTime(s.time)}`,
    "Common Name,Real Address,Bytes Received,Bytes Sent,Connected Since",
  ];
  for (const c of s.clients) {
    lines.push(row(sep, [c.name, c.realAddress, c.bytesIn, c.bytesOut, formatStatusTime(c.connectedSince)]));
  }
  lines.push("ROUTING TABLE", "Virtual Address,Common Name,Real Address,Last Ref");
  for (const r of s.routes) {
    lines.push(row(sep, [r.virtualAddress, r.name, r.realAddress, formatStatusTime(r.lastRef)]));
  }
  lines.push("GLOBAL STATS");
  for (const [k, v] of globalStats(s, false)) lines.push(row(sep, [k, v]));
  lines.push("END");
  return lines;
}

function formatV2(s: ServerSnapshot, sep: string): string[] {
  const lines = [
    row(sep, ["TITLE", statusTitle(s)]),
    row(sep, ["TIME", formatStatusTime(s.time), Math.floor(s.time)]),
    ["HEADER", "CLIENT_LIST", ...CLIENT_LIST_HEADER_V2].join(sep),
  ];
  for (const c of s.clients) {
    lines.push(row(sep, [
      "CLIENT_LIST",
      c.name,
      c.realAddress,
      c.virtualAddress,
      c.virtualAddress6,
      c.bytesIn,
      c.bytesOut,
      formatStatusTime(c.connectedSince),
      Math.floor(c.connectedSince),
      c.username ?? "UNDEF",
      c.clientId ?? c.peerId,
      c.peerId,
      c.cipher,
    ]));
  }
  lines.push(["HEADER", "ROUTING_TABLE", ...ROUTING_TABLE_HEADER_V2].join(sep));
  for (const r of s.routes) {
    lines.push(row(sep, [
      "ROUTING_TABLE",
      r.virtualAddress,
      r.name,
      r.realAddress,
      formatStatusTime(r.lastRef),
      Math.floor(r.lastRef),
    ]));
  }
  for (const [k, v] of globalStats(s, true)) lines.push(row(sep, ["GLOBAL_STATS", k, v]));
  lines.push("END");
  return lines;
}

/** The snapshot in OpenVPN status-version 1, 2 or 3, one string per line, ending with "END". */
export function formatStatus(snapshot: ServerSnapshot, version: StatusVersion): string[] {
  if (version === 1) return formatV1(snapshot);
  if (version === 2) return formatV2(snapshot, ",");
  if (version === 3) return formatV2(snapshot, "\t");
  throw new RangeError(`Invalid status version ${version}: expected 1, 2 or 3`);
}
