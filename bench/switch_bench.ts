/**
 * MAC table speed: lookups of destination MACs read straight from frames, and
 * the per-frame learn (refresh) of the source. Each iteration does BATCH
 * operations, so operations/s = iter/s × BATCH; a plain timing summary is
 * printed before the table.
 *
 *   deno bench -A --unstable-net bench/switch_bench.ts
 */

import { MacTable } from "../src/switch/mac_table.ts";

const BATCH = 1000;
const MACS = 10_000;

let seed = 99;
const r = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);

const table = new MacTable();
// Frames: 6-byte dst + 6-byte src records packed in one buffer (like reading frame headers).
const frames = new Uint8Array(65536 * 12);
const macs: number[] = [];
for (let i = 0; i < MACS; i++) {
  const mac = 0x020000000000 + (r() % 0xffffffff);
  macs.push(mac);
  table.learn(mac, 1 + (i % 500), 0);
}
for (let i = 0; i < 65536; i++) {
  for (const [k, mac] of [[0, macs[r() % MACS]], [6, macs[r() % MACS]]]) {
    const hi = Math.floor(mac / 2 ** 32);
    const lo = mac % 2 ** 32;
    const p = i * 12 + k;
    frames.set([hi >> 8, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff], p);
  }
}
const probes = Float64Array.from({ length: 65536 }, () => macs[r() % MACS]);

let sink = 0;
let i = 0;

Deno.bench(`MacTable.lookupAt: ${BATCH} lookups, ${MACS} MACs`, () => {
  let s = 0;
  for (let k = 0; k < BATCH; k++) s += table.lookupAt(frames, ((i++) & 65535) * 12);
  sink += s;
});

Deno.bench(`MacTable.lookup (48-bit number): ${BATCH} lookups, ${MACS} MACs`, () => {
  let s = 0;
  for (let k = 0; k < BATCH; k++) s += table.lookup(probes[(i++) & 65535]);
  sink += s;
});

Deno.bench(`MacTable.learnAt (refresh) + lookupAt: ${BATCH} frames, ${MACS} MACs`, () => {
  let s = 0;
  for (let k = 0; k < BATCH; k++) {
    const p = ((i++) & 65535) * 12;
    const port = table.lookupAt(frames, p + 6);
    s += table.learnAt(frames, p + 6, port, 1) + table.lookupAt(frames, p);
  }
  sink += s;
});

function rate(label: string, fn: (n: number) => void): void {
  const n = 5_000_000;
  fn(200_000);
  const t0 = performance.now();
  fn(n);
  console.log(`${label}: ${(n / (performance.now() - t0) / 1000).toFixed(2)} M/s`);
}
rate(`MacTable.lookupAt, ${MACS} MACs`, (n) => {
  let s = 0;
  for (let k = 0; k < n; k++) s += table.lookupAt(frames, (k & 65535) * 12);
  sink += s;
});
rate(`MacTable.lookup, ${MACS} MACs`, (n) => {
  let s = 0;
  for (let k = 0; k < n; k++) s += table.lookup(probes[k & 65535]);
  sink += s;
});
globalThis.addEventListener("unload", () => {
  if (sink === 0.5) console.log(sink);
});
