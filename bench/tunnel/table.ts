/**
 * The human table: a Markdown pipe table with padded columns, readable in a
 * terminal and pasteable into docs/performance.md. Pure.
 */

import type { Summary } from "./summary.ts";

export const DASH = "–";

export function fixed(v: number | null | undefined, digits: number): string {
  return typeof v === "number" && Number.isFinite(v) ? v.toFixed(digits) : DASH;
}

export function times(v: number | null | undefined): string {
  return typeof v === "number" && Number.isFinite(v) ? `${v.toFixed(2)}x` : DASH;
}

/** Pads cells to column widths; `right[i]` right-aligns column i. */
export function formatPipeTable(header: string[], rows: string[][], right: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length), 3));
  const line = (cells: string[]) =>
    "| " + cells.map((c, i) => right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])).join(" | ") + " |";
  const sep = "| " + widths.map((w, i) => right[i] ? "-".repeat(w - 1) + ":" : "-".repeat(w)).join(" | ") +
    " |";
  return [line(header), sep, ...rows.map(line)].join("\n");
}

export const COLUMNS = [
  "contender",
  "TCP up Mbit/s",
  "TCP down Mbit/s",
  "UDP-64 kpps",
  "RTT ms",
  "+RTT ms",
  "CPU s",
  "CPU s/GB",
  "RSS MiB srv/cli",
  "vs openvpn-aes",
  "vs wireguard-go",
];

function rssCell(s: Summary): string {
  const a = s.median.rssServerMib, b = s.median.rssClientMib;
  if (a === null && b === null) return DASH;
  return `${fixed(a, 1)}/${fixed(b, 1)}`;
}

export function tableRows(summaries: readonly Summary[]): string[][] {
  return summaries.map((s) => {
    if (s.status !== "ok") return [s.name, "unavailable", "", "", "", "", "", "", "", "", ""];
    const m = s.median;
    return [
      s.name,
      fixed(m.tcpUpMbps, 0),
      fixed(m.tcpDownMbps, 0),
      fixed(m.udpKpps, 1),
      fixed(m.rttMs, 3),
      fixed(m.addedRttMs, 3),
      fixed(m.cpuTcpSeconds, 1),
      fixed(m.cpuSecondsPerGB, 2),
      rssCell(s),
      times(s.vsOpenvpn?.tcp),
      times(s.vsWireguard?.tcp),
    ];
  });
}

/** The table plus one line per unavailable contender and per contender with measurement errors. */
export function formatResults(summaries: readonly Summary[]): string {
  const right = COLUMNS.map((_, i) => i > 0);
  const out = [formatPipeTable(COLUMNS, tableRows(summaries), right)];
  const notes: string[] = [];
  for (const s of summaries) {
    if (s.status !== "ok") notes.push(`${s.name} unavailable: ${s.reason ?? "unknown reason"}`);
    else if (s.errors.length > 0) notes.push(`${s.name} errors: ${s.errors.join("; ")}`);
  }
  if (notes.length > 0) out.push("", ...notes);
  return out.join("\n");
}
