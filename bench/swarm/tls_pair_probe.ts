/**
 * What one TLS connection costs in Deno's node:tls, without anything of
 * tsvpn around it: N client/server TLSSocket pairs over in-memory Duplex
 * streams (as src/control/tls_channel.ts runs them), each client with its own
 * certificate from the swarm PKI, left open after the handshake. Prints CPU
 * per pair and RSS / V8 heap / external memory per pair: the floor under the
 * swarm's per-client server figures (docs/performance.md, "Swarm").
 *
 *   deno run -A --v8-flags=--expose-gc bench/swarm/tls_pair_probe.ts [N]   (after one bench:swarm run)
 */

import tls from "node:tls";
import process from "node:process";
import { Duplex } from "node:stream";
import { clientCredentials, openSwarmPki } from "./pki.ts";

const N = Number(Deno.args[0] ?? 500);
const pki = await openSwarmPki("/var/tmp/tsvpn-swarm-pki", N);
const server = {
  ca: pki.caPem,
  cert: await Deno.readTextFile(pki.serverCert),
  key: await Deno.readTextFile(pki.serverKey),
};
const open: unknown[] = [];

function pair(i: number): Promise<void> {
  // deno-lint-ignore prefer-const
  let b: Duplex;
  const a: Duplex = new Duplex({
    read() {},
    write: (c, _e, cb) => {
      b.push(c);
      cb();
    },
  });
  b = new Duplex({
    read() {},
    write: (c, _e, cb) => {
      a.push(c);
      cb();
    },
  });
  const common = { rejectUnauthorized: false, minVersion: "TLSv1.2" };
  const s = new tls.TLSSocket(a, { ...server, ...common, isServer: true, requestCert: true } as never);
  const c = tls.connect({ ...clientCredentials(pki, i), ...common, socket: b } as never);
  open.push(s, c, a, b);
  return new Promise((resolve) => c.on("secureConnect", () => resolve()));
}

const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const before = Deno.memoryUsage();
const cpu0 = process.cpuUsage();
for (let i = 0; i < N; i += 10) {
  await Promise.all(Array.from({ length: Math.min(10, N - i) }, (_, j) => pair(i + j)));
}
const cpu = process.cpuUsage(cpu0);
gc?.();
const after = Deno.memoryUsage();
const kib = (k: keyof Deno.MemoryUsage) => ((after[k] - before[k]) / N / 1024).toFixed(1);
console.log(
  `${N} TLS pairs: ${((cpu.user + cpu.system) / 1000 / N).toFixed(2)} ms CPU per pair; per pair ` +
    `RSS ${kib("rss")} KiB, V8 heap ${kib("heapUsed")} KiB, external ${kib("external")} KiB`,
);
Deno.exit(0);
