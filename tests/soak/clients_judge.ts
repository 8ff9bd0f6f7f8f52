/**
 * The clients soak's verdict (clients_soak.ts), from its samples of the
 * server: RSS, the tables of `tsvpn status --json` (clients, routes, MACs,
 * drop reasons) and of its `internals` (server_internals.ts), and the V8 heap
 * after each full (mark-compact) collection from the server's `--trace-gc`.
 *
 * Pass:
 * - every client connected at every sample;
 * - RSS at the end within 10% of the largest sample of the warm-up (the
 *   first 10% of the run, at least two samples);
 * - the V8 heap after full collections: its least value in the second half
 *   of the run within 10% of its least value between the warm-up and the
 *   half (a JS leak raises that floor; native memory awaiting a collection
 *   and V8's own growth do not; the least value, because an incremental
 *   collection whose marking took long counts what was allocated meanwhile);
 * - no table grows: a table with a cap stays within it, one with a bound per
 *   client (PER_CLIENT) within that, any other never exceeds its size at the
 *   end of the warm-up;
 * - the pings lose at most 1%.
 */

export interface Sample {
  atS: number;
  rssMiB: number;
  /** V8 heap in use at the sample (garbage included: no collection is forced). */
  heapUsedMiB: number;
  tables: Record<string, number>;
  drops: number;
}

/** The heap after one full collection. */
export interface GcPoint {
  atS: number;
  heapAfterMiB: number;
}

export interface SoakFigures {
  clients: number;
  durationMs: number;
  connectMs: number;
  sent: number;
  received: number;
  renegotiations: number;
  /** Capacity of the tables that have one (status internals.caps). */
  caps: Record<string, number>;
}

/** Tables that cycle with renegotiations, and the most each client may hold. */
export const PER_CLIENT: Readonly<Record<string, number>> = {
  keyStates: 3, // primary, previous in its transition window, one negotiating
  tlsChannels: 3, // one per key state
  opensslSsl: 3, // at most one per key state (a TLS 1.3 server session frees its own after the handshake)
  controlTimers: 3, // each session's deadline timer, plus a flush due
  dataKeys: 2, // send key, previous key
  opensslAeads: 4, // two directions of each data key
};

const DRIFT_LIMIT = 0.1;
const PING_LOSS_LIMIT = 0.01;

const mib = (n: number) => +n.toFixed(1);

/** V8's `--trace-gc` lines for full collections: "…  123456 ms: Mark-Compact 20.1 (24.0) -> 17.2 (23.5) MB, …". */
export function fullGcPoints(log: string): GcPoint[] {
  return [
    ...log.matchAll(
      /\s(\d+) ms: (?:Incremental )?Mark-Compact(?: \([a-z ]+\))? [\d.]+ \([\d.]+\) -> ([\d.]+) \(/g,
    ),
  ]
    .map((m) => ({ atS: Math.round(Number(m[1]) / 1000), heapAfterMiB: Number(m[2]) }));
}

/** Names of the tables that broke their rule, each with what it reached. */
export function grownTables(
  samples: Sample[],
  settledAt: number,
  clients: number,
  caps: Record<string, number>,
): string[] {
  const settled = samples[settledAt].tables;
  const grown: string[] = [];
  for (const k of Object.keys(samples.at(-1)!.tables)) {
    const max = Math.max(...samples.map((x) => x.tables[k] ?? 0));
    if (caps[k] !== undefined) {
      if (max > caps[k]) grown.push(`${k} ${max} > cap ${caps[k]}`);
    } else if (PER_CLIENT[k] !== undefined) {
      if (max > PER_CLIENT[k] * clients) grown.push(`${k} ${max} > ${PER_CLIENT[k]} per client`);
    } else {
      const later = Math.max(...samples.slice(settledAt + 1).map((x) => x.tables[k] ?? 0));
      if (later > settled[k]) grown.push(`${k} ${settled[k]} → ${later}`);
    }
  }
  return grown;
}

/** Heap after full collections: its floor between the warm-up and the half, and in the second half (null: one is empty). */
function heapAfterGc(gcs: GcPoint[], warmUpS: number, halfS: number) {
  const early = gcs.filter((g) => g.atS > warmUpS && g.atS <= halfS).map((g) => g.heapAfterMiB);
  const late = gcs.filter((g) => g.atS > halfS).map((g) => g.heapAfterMiB);
  const counts = { fullCollections: gcs.length, firstHalf: early.length, secondHalf: late.length };
  if (early.length === 0 || late.length === 0) {
    return { drift: null, report: { ...counts, driftPercent: null } };
  }
  const floor1 = Math.min(...early), floor2 = Math.min(...late);
  const drift = (floor2 - floor1) / floor1;
  return {
    drift,
    report: {
      ...counts,
      firstHalfMinMiB: floor1,
      secondHalfMinMiB: floor2,
      maxMiB: Math.max(...early, ...late),
      driftPercent: mib(drift * 100),
    },
  };
}

export function judge(samples: Sample[], gcs: GcPoint[], f: SoakFigures): Record<string, unknown> {
  const warmUpMs = f.durationMs / 10;
  const warm = samples.filter((x, i) => i < 2 || x.atS * 1000 <= warmUpMs);
  const base = Math.max(...warm.map((x) => x.rssMiB));
  const last = samples.at(-1)!;
  const drift = (last.rssMiB - base) / base;
  const half = samples.filter((x) => x.atS * 1000 <= f.durationMs / 2);
  const halfMax = Math.max(...half.map((x) => x.rssMiB));
  const heap = heapAfterGc(gcs, warmUpMs / 1000, f.durationMs / 2000);
  const grown = grownTables(samples, warm.length - 1, f.clients, f.caps);
  const loss = f.sent === 0 ? 1 : 1 - f.received / f.sent;
  const failures: string[] = [];
  if (samples.some((x) => x.tables.clients !== f.clients)) {
    failures.push("a client was not connected at a sample");
  }
  if (drift > DRIFT_LIMIT) failures.push(`RSS drift ${(drift * 100).toFixed(1)}% > 10%`);
  if (heap.drift !== null && heap.drift > DRIFT_LIMIT) {
    failures.push(`heap after full GC drift ${(heap.drift * 100).toFixed(1)}% > 10%`);
  }
  if (grown.length > 0) failures.push(`tables grew: ${grown.join(", ")}`);
  if (loss > PING_LOSS_LIMIT) failures.push(`ping loss ${(loss * 100).toFixed(2)}%`);
  return {
    piece: "clients",
    ok: failures.length === 0,
    failures,
    clients: f.clients,
    durationS: Math.round(f.durationMs / 1000),
    connectAllMs: f.connectMs,
    rssMiB: {
      warm: base,
      end: last.rssMiB,
      min: Math.min(...samples.map((x) => x.rssMiB)),
      max: Math.max(...samples.map((x) => x.rssMiB)),
      // Growth in the second half alone: near 0 when the climb was warm-up, as large as the drift when not.
      secondHalfGrowthPercent: mib(((last.rssMiB - halfMax) / halfMax) * 100),
    },
    rssDriftPercent: mib(drift * 100),
    heapAfterFullGc: heap.report,
    heapUsedMiB: { start: samples[0].heapUsedMiB, end: last.heapUsedMiB },
    tables: { start: samples[0].tables, settled: warm.at(-1)!.tables, end: last.tables },
    pings: { sent: f.sent, received: f.received, lossPercent: +(loss * 100).toFixed(2) },
    renegotiations: f.renegotiations,
    drops: last.drops,
    samples: samples.length,
    rssSeries: samples.map((x) => x.rssMiB),
  };
}
