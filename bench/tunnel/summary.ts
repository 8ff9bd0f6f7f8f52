/**
 * From raw samples to the figures the table and the JSON report: medians per
 * contender over rounds, and ratios against the reference rows. Pure.
 */

import type { ContenderKind } from "./contender.ts";
import type { Sample } from "./measure.ts";
import { mean2, median, ratio } from "./stats.ts";

export interface ContenderResult {
  name: string;
  kind: ContenderKind;
  description: string;
  /** "unavailable" when setup never succeeded (then `reason` says why). */
  status: "ok" | "unavailable";
  reason: string | null;
  notes: Record<string, string>;
  samples: Sample[];
}

export interface Medians {
  tcpUpMbps: number | null;
  tcpDownMbps: number | null;
  udpKpps: number | null;
  udpLostPercent: number | null;
  rttMs: number | null;
  addedRttMs: number | null;
  cpuTcpSeconds: number | null;
  cpuUdpSeconds: number | null;
  /** CPU seconds per GB carried in the TCP tests (lower is better). */
  cpuSecondsPerGB: number | null;
  rssServerMib: number | null;
  rssClientMib: number | null;
  underlayPerPayload: number | null;
  loadAvg1: number | null;
  idleBefore: number | null;
}

export interface Ratios {
  /** Mean of TCP up and down, this / reference. */
  tcp: number | null;
  tcpUp: number | null;
  tcpDown: number | null;
  udpKpps: number | null;
  /** CPU per GB, this / reference (below 1 = cheaper). */
  cpuSecondsPerGB: number | null;
}

export interface Summary {
  name: string;
  kind: ContenderKind;
  status: "ok" | "unavailable";
  reason: string | null;
  /** Rounds whose TCP or UDP test produced a figure. */
  rounds: number;
  median: Medians;
  /** Mean of the TCP up and down medians. */
  tcpMbps: number | null;
  vsOpenvpn: Ratios | null;
  vsWireguard: Ratios | null;
  errors: string[];
}

function perGB(s: Sample): number | null {
  if (s.cpuTcpSeconds === null || s.tcpGigabytes === null || s.tcpGigabytes <= 0) return null;
  return s.cpuTcpSeconds / s.tcpGigabytes;
}

export function medians(samples: readonly Sample[]): Medians {
  const m = (f: (s: Sample) => number | null) => median(samples.map(f));
  return {
    tcpUpMbps: m((s) => s.tcpUpMbps),
    tcpDownMbps: m((s) => s.tcpDownMbps),
    udpKpps: m((s) => s.udpKpps),
    udpLostPercent: m((s) => s.udpLostPercent),
    rttMs: m((s) => s.rttMs),
    addedRttMs: m((s) => s.addedRttMs),
    cpuTcpSeconds: m((s) => s.cpuTcpSeconds),
    cpuUdpSeconds: m((s) => s.cpuUdpSeconds),
    cpuSecondsPerGB: m(perGB),
    rssServerMib: m((s) => s.rssServerMib),
    rssClientMib: m((s) => s.rssClientMib),
    underlayPerPayload: m((s) => s.underlayPerPayload),
    loadAvg1: m((s) => s.loadAvg1),
    idleBefore: m((s) => s.idleBefore),
  };
}

function ratios(a: Summary, ref: Summary | undefined): Ratios | null {
  if (ref === undefined || ref.status !== "ok") return null;
  return {
    tcp: ratio(a.tcpMbps, ref.tcpMbps),
    tcpUp: ratio(a.median.tcpUpMbps, ref.median.tcpUpMbps),
    tcpDown: ratio(a.median.tcpDownMbps, ref.median.tcpDownMbps),
    udpKpps: ratio(a.median.udpKpps, ref.median.udpKpps),
    cpuSecondsPerGB: ratio(a.median.cpuSecondsPerGB, ref.median.cpuSecondsPerGB),
  };
}

/** One summary per result, in the same order, with ratios against the named reference rows. */
export function summarize(
  results: readonly ContenderResult[],
  openvpnRef: string,
  wireguardRef: string,
): Summary[] {
  const base: Summary[] = results.map((r) => {
    const med = medians(r.samples);
    return {
      name: r.name,
      kind: r.kind,
      status: r.status,
      reason: r.reason,
      rounds: r.samples.filter((s) => s.tcpUpMbps !== null || s.tcpDownMbps !== null || s.udpKpps !== null)
        .length,
      median: med,
      tcpMbps: mean2(med.tcpUpMbps, med.tcpDownMbps),
      vsOpenvpn: null,
      vsWireguard: null,
      errors: [...new Set(r.samples.flatMap((s) => s.errors))],
    };
  });
  const byName = new Map(base.map((s) => [s.name, s]));
  for (const s of base) {
    if (s.status !== "ok") continue;
    s.vsOpenvpn = ratios(s, byName.get(openvpnRef));
    s.vsWireguard = ratios(s, byName.get(wireguardRef));
  }
  return base;
}
