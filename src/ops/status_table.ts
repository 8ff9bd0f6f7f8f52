/**
 * The human view of a snapshot: aligned tables of clients, routes, MACs (tap
 * mode) and drop counters. Shared by the management `status` command and
 * `tsvpn status`; ages are relative to the snapshot's own time.
 */
import type { ServerSnapshot } from "./server_control.ts";
import { formatStatusTime } from "./status_format.ts";

/** Left-aligned columns two spaces apart; the last column is not padded. */
export function formatColumns(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => widths[i] = Math.max(widths[i] ?? 0, c.length));
  return rows.map((r) => r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i])).join("  "));
}

const UNITS = ["KiB", "MiB", "GiB", "TiB", "PiB"];

/** 1536 → "1.5 KiB"; below 1 KiB the exact count ("512 B"). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${UNITS[u]}`;
}

/** Seconds as "45s", "3m05s", "2h07m", "3d04h". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const p = (n: number) => String(n).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${p(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${p(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86400)}d${p(Math.floor(s / 3600) % 24)}h`;
}

export function formatStatusTable(s: ServerSnapshot): string[] {
  const lines = [
    `tsvpn ${s.version} server: ${s.mode} mode, topology ${s.topology}, device ${s.device}, listening on ${s.listen}`,
    `Time: ${formatStatusTime(s.time)}`,
    "",
  ];
  if (s.clients.length === 0) {
    lines.push("Clients: none");
  } else {
    lines.push(`Clients (${s.clients.length}):`);
    const rows = [[
      "NAME",
      "REAL ADDRESS",
      "VIRTUAL ADDRESS",
      "CONNECTED SINCE",
      "BYTES IN",
      "BYTES OUT",
      "LAST ACTIVITY",
    ]];
    for (const c of s.clients) {
      const virtual = [c.virtualAddress, c.virtualAddress6].filter((a) => a !== "").join(" ") || "-";
      rows.push([
        c.name,
        c.realAddress,
        virtual,
        formatStatusTime(c.connectedSince),
        formatBytes(c.bytesIn),
        formatBytes(c.bytesOut),
        `${formatDuration(s.time - c.lastActivity)} ago`,
      ]);
    }
    lines.push(...formatColumns(rows));
  }
  lines.push("");
  if (s.routes.length === 0) {
    lines.push("Routing table: empty");
  } else {
    lines.push(`Routing table (${s.routes.length}):`);
    const rows = [["VIRTUAL ADDRESS", "NAME", "REAL ADDRESS", "LAST REF"]];
    for (const r of s.routes) {
      rows.push([r.virtualAddress, r.name, r.realAddress, `${formatDuration(s.time - r.lastRef)} ago`]);
    }
    lines.push(...formatColumns(rows));
  }
  if (s.mode === "tap") {
    lines.push("");
    if (s.macs.length === 0) {
      lines.push("MAC table: empty");
    } else {
      lines.push(`MAC table (${s.macs.length}):`);
      const rows = [["MAC", "PORT", "AGE"]];
      for (const m of s.macs) rows.push([m.mac, m.port, formatDuration(m.ageSeconds)]);
      lines.push(...formatColumns(rows));
    }
  }
  lines.push("");
  // Only reasons that happened: the table is for people; `status json` keeps every counter.
  const drops = Object.entries(s.drops).filter(([, n]) => n > 0).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0
  );
  if (drops.length === 0) {
    lines.push("Drops: none");
  } else {
    const total = drops.reduce((sum, [, n]) => sum + n, 0);
    lines.push(`Drops (${total} total):`);
    lines.push(...formatColumns([["REASON", "PACKETS"], ...drops.map(([k, n]) => [k, String(n)])]));
  }
  return lines;
}
