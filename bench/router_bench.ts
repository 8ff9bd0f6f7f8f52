/**
 * Longest-prefix-match lookup speed. Each bench iteration does BATCH lookups,
 * so lookups/s = iter/s × BATCH (the summary below `deno bench` prints it too).
 *
 *   deno bench -A --unstable-net bench/router_bench.ts
 */

import { PrefixTrie } from "../src/router/prefix_trie.ts";
import { RouteTable } from "../src/router/route_table.ts";
import { mulberry32 } from "../src/testing/seeded_random.ts";

const BATCH = 1000;

const r = mulberry32(2024);

// 100k IPv4 routes: 80% host routes (client addresses), 20% iroutes /16../30.
const trie4 = new PrefixTrie(4);
const table = new RouteTable();
const hosts: number[] = [];
while (trie4.size < 100_000) {
  const host = r() % 5 !== 0;
  const addr = host ? (0x0a000000 | (r() & 0x00ffffff)) >>> 0 : r();
  const bits = host ? 32 : 16 + (r() % 15);
  trie4.insert(addr, bits, trie4.size);
  if (host) hosts.push(addr);
}
for (const e of trie4.entries()) table.add4(e.words[0], e.bits, e.value);

// Probes: half are known hosts (deep hits), half random addresses (mostly misses or iroute hits).
// Int32 form, as hot callers should pass IPv4 addresses (see PrefixTrie.lookup4).
const probes4 = new Int32Array(65536);
for (let i = 0; i < probes4.length; i++) probes4[i] = (i % 2 === 0 ? hosts[r() % hosts.length] : r()) | 0;

// Worst case for the walk: 100k /24 iroutes and no host routes.
const trie24 = new PrefixTrie(4);
while (trie24.size < 100_000) trie24.insert(r() & 0xffffff00, 24, trie24.size);

// 10k IPv6 routes: /128 hosts in a /64 and /48../64 iroutes.
const trie6 = new PrefixTrie(6);
const hosts6: number[][] = [];
while (trie6.size < 10_000) {
  const host = r() % 5 !== 0;
  const words = host ? [0xfd000008, 0, r() & 0xffff, r()] : [0x20010db8, r(), r(), r()];
  const bits = host ? 128 : 48 + (r() % 17);
  trie6.insert(words, bits, trie6.size);
  if (host) hosts6.push(words);
}
const probes6 = new Uint32Array(65536 * 4);
for (let i = 0; i < 65536; i++) {
  const w = i % 2 === 0 ? hosts6[r() % hosts6.length] : [0x20010db8, r() & 0xffff, r(), r()];
  probes6.set(w, i * 4);
}

let sink = 0;
let i4 = 0;
let i6 = 0;

Deno.bench(`PrefixTrie.lookup4: ${BATCH} lookups, 100k IPv4 routes`, () => {
  let s = 0;
  for (let k = 0; k < BATCH; k++) s += trie4.lookup4(probes4[(i4++) & 65535]);
  sink += s;
});

Deno.bench(`RouteTable.route4 + allowedSource4: ${BATCH} each, 100k IPv4 routes`, () => {
  let s = 0;
  for (let k = 0; k < BATCH; k++) {
    const a = probes4[(i4++) & 65535];
    const owner = table.route4(a);
    if (table.allowedSource4(owner, a)) s++;
  }
  sink += s;
});

Deno.bench(`PrefixTrie.lookup4: ${BATCH} random lookups, 100k /24 routes`, () => {
  let s = 0;
  for (let k = 0; k < BATCH; k++) s += trie24.lookup4(probes4[(i4++) & 65535] ^ 0x5a5a);
  sink += s;
});

Deno.bench(`PrefixTrie.lookup6: ${BATCH} lookups, 10k IPv6 routes`, () => {
  let s = 0;
  for (let k = 0; k < BATCH; k++) s += trie6.lookup6(probes6, ((i6++) & 65535) << 2);
  sink += s;
});

globalThis.addEventListener("unload", () => {
  if (sink === 0.5) console.log(sink);
});

// Plain timing summary in lookups/s, independent of the bench harness.
function rate(label: string, fn: (n: number) => void): void {
  const n = 5_000_000;
  fn(200_000);
  const t0 = performance.now();
  fn(n);
  const ms = performance.now() - t0;
  console.log(`${label}: ${(n / ms / 1000).toFixed(2)} M lookups/s`);
}
rate("ipv4 lpm, 100k routes (80% /32 hosts, 20% /16../30), half host probes", (n) => {
  let s = 0;
  for (let k = 0; k < n; k++) s += trie4.lookup4(probes4[k & 65535]);
  sink += s;
});
rate("ipv4 lpm, 100k /24 routes, random probes", (n) => {
  let s = 0;
  for (let k = 0; k < n; k++) s += trie24.lookup4(probes4[k & 65535] ^ 0x5a5a);
  sink += s;
});
rate("ipv6 lpm, 10k routes (80% /128, 20% /48../64), half host probes", (n) => {
  let s = 0;
  for (let k = 0; k < n; k++) s += trie6.lookup6(probes6, (k & 65535) << 2);
  sink += s;
});
