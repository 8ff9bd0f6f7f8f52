import assert from "node:assert/strict";
import { fullGcPoints, grownTables, judge, type Sample } from "./clients_judge.ts";

const TRACE = [
  "[370:0x55d0c]     5012 ms: Scavenge 9.1 (12.0) -> 8.2 (13.0) MB, pooled: 0.0 MB, 1.2 / 0.0 ms allocation failure;",
  "[370:0x55d0c]    61234 ms: Mark-Compact 20.1 (24.0) -> 17.2 (23.5) MB, pooled: 0.0 MB, 25.0 / 0.0 ms (average mu = 0.9)",
  "[370:0x55d0c]   900001 ms: Incremental Mark-Compact 30.5 (40.0) -> 17.6 (38.0) MB, pooled: 0 MB, 20.0 / 0.0 ms",
  "[370:0x55d0c]  1800400 ms: Mark-Compact (reduce) 18.0 (38.0) -> 17.4 (21.0) MB, pooled: 0 MB, 15.0 / 0.0 ms",
].join("\n");

Deno.test("fullGcPoints reads the heap after each full collection from --trace-gc, not after scavenges", () => {
  assert.deepEqual(fullGcPoints(TRACE), [
    { atS: 61, heapAfterMiB: 17.2 },
    { atS: 900, heapAfterMiB: 17.6 },
    { atS: 1800, heapAfterMiB: 17.4 },
  ]);
});

function sampleAt(atS: number, rssMiB: number, tables: Record<string, number>): Sample {
  return { atS, rssMiB, heapUsedMiB: 20, tables: { clients: 2, ...tables }, drops: 0 };
}

Deno.test("grownTables: per-client bounds and caps hold however the tables cycle; other tables may not pass their settled size", () => {
  const cycling = [2, 6, 4, 6, 2, 5].map((k, i) =>
    sampleAt(i * 60, 100, { keyStates: k, linkReplies: 2, routes: 2 })
  );
  assert.deepEqual(grownTables(cycling, 1, 2, { linkReplies: 3 }), []);
  const leaking = [...cycling, sampleAt(360, 100, { keyStates: 7, linkReplies: 4, routes: 3 })];
  assert.deepEqual(grownTables(leaking, 1, 2, { linkReplies: 3 }), [
    "keyStates 7 > 3 per client",
    "linkReplies 4 > cap 3",
    "routes 2 → 3",
  ]);
});

const FIGURES = {
  clients: 2,
  durationMs: 600_000,
  connectMs: 1000,
  sent: 1000,
  received: 1000,
  renegotiations: 20,
  caps: {},
};

Deno.test("judge fails a run whose heap floor after full collections rises, passes one where only RSS settles", () => {
  const samples = [0, 30, 60, 300, 600].map((t) => sampleAt(t, t === 0 ? 100 : 105, { keyStates: 2 }));
  // Past the warm-up (60 s): 17.2 and an incremental collection's inflated 25 before the half (300 s), then 17.5.
  const flat = [
    { atS: 30, heapAfterMiB: 17 },
    { atS: 200, heapAfterMiB: 17.2 },
    { atS: 250, heapAfterMiB: 25 },
    { atS: 590, heapAfterMiB: 17.5 },
  ];
  const ok = judge(samples, flat, FIGURES);
  assert.equal(ok.ok, true, JSON.stringify(ok.failures));
  assert.deepEqual(ok.heapAfterFullGc, {
    fullCollections: 4,
    firstHalf: 2,
    secondHalf: 1,
    firstHalfMinMiB: 17.2,
    secondHalfMinMiB: 17.5,
    maxMiB: 25,
    driftPercent: 1.7,
  });
  const leak = judge(samples, [...flat.slice(0, 3), { atS: 450, heapAfterMiB: 19.2 }, {
    atS: 599,
    heapAfterMiB: 19.5,
  }], FIGURES);
  assert.deepEqual(leak.failures, ["heap after full GC drift 11.6% > 10%"]);
  const rss = judge([...samples, sampleAt(610, 116, { keyStates: 2 })], flat, FIGURES);
  assert.deepEqual(rss.failures, ["RSS drift 10.5% > 10%"]);
});
