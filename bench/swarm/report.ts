/** The swarm's table (one column per server) and its `swarm:` summary lines. */

import type { ServerKind } from "./servers.ts";
import type { SwarmRun } from "./swarm_lab.ts";

export interface ServerRow extends SwarmRun {
  kind: ServerKind;
  description: string;
}

const fixed = (n: number, d = 1) => n.toFixed(d);

/** Rows of [label, value per server]. */
function cells(r: ServerRow): [string, string][] {
  const g = r.result;
  const s = r.server;
  const failures = Object.entries(g.failures).map(([k, v]) => `${v}× ${k}`).join("; ");
  return [
    ["clients connected", `${g.connected} / ${g.clients}`],
    ["time to all connected", `${fixed(g.timeToAllMs / 1000)} s`],
    ["handshakes/s (sustained)", `${g.handshakesPerSecond}`],
    ["handshakes/s (best 5 s)", `${g.peakHandshakesPerSecond}`],
    ["connect time p50 / p99", `${g.connectP50Ms} / ${g.connectP99Ms} ms`],
    ["failures", g.failed === 0 ? "0" : `${g.failed} (${failures})`],
    ["still up at the end", `${g.upAtEnd}`],
    ["server RSS idle → all connected", `${fixed(s.rssIdleMib)} → ${fixed(s.rssConnectedMib)} MiB`],
    ["server RSS peak", `${fixed(s.rssPeakMib)} MiB`],
    ["server RSS per client", `${fixed(s.rssPerClientKib)} KiB`],
    ["server CPU", `${fixed(s.cpuSeconds)} s`],
    ["pings answered", `${g.pingsAnswered} / ${g.pinged}`],
    ["generator RSS", `${g.generatorRssMib} MiB`],
    ["generator workers", `${g.workers}`],
    ["server survived", s.survived ? "yes" : "NO"],
  ];
}

export function formatTable(
  rows: ServerRow[],
  o: { clients: number; rate: number; inflight: number },
): string {
  const rate = o.rate > 0 ? `${o.rate}/s` : `as fast as possible (≤ ${o.inflight} in flight)`;
  const header = `swarm: ${o.clients} clients, new connections ${rate}`;
  const table = rows.map(cells);
  const labels = table[0]?.map(([l]) => l) ?? [];
  const widths = [Math.max(...labels.map((l) => l.length), 6)];
  rows.forEach((r, i) => widths.push(Math.max(r.kind.length, ...table[i].map(([, v]) => v.length))));
  const line = (parts: string[]) => "| " + parts.map((p, i) => p.padEnd(widths[i])).join(" | ") + " |";
  const out = [header, "", line(["", ...rows.map((r) => r.kind)])];
  out.push("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
  labels.forEach((label, j) => out.push(line([label, ...table.map((t) => t[j][1])])));
  out.push("", ...rows.map((r) => `${r.kind}: ${r.description}`));
  return out.join("\n");
}

export function formatSummaryLine(r: ServerRow): string {
  const g = r.result;
  const s = r.server;
  return `swarm: ${g.connected}/${g.clients} clients on ${r.kind} in ${fixed(g.timeToAllMs / 1000)} s, ` +
    `${g.handshakesPerSecond} handshakes/s, p99 ${g.connectP99Ms} ms, ${g.failed} failed, ` +
    `${fixed(s.rssConnectedMib)} MiB RSS (${fixed(s.rssPerClientKib)} KiB/client), ` +
    `${fixed(s.cpuSeconds)} CPU s, pings ${g.pingsAnswered}/${g.pinged}`;
}
