/**
 * What one server-side TLS session keeps, as tsvpn runs it (src/control/tls_channel.ts; the engine is this
 * process's: TSVPN_TLS_ENGINE=node|openssl picks one):
 * N client/server TlsChannel pairs handshake in memory (each client with its own swarm certificate), then
 * every client side is destroyed and collected, leaving N established server sessions. Prints malloc in use
 * (glibc mallinfo2) and V8 heap per session after a full GC, and the same for N server channels that never
 * started (what a session holds until its handshake completes). docs/performance.md, "Memory per client
 * (session 6)".
 *
 *   deno run -A --v8-flags=--expose-gc,--single-threaded bench/swarm/tls_session_probe.ts [N]   (after one bench:swarm run)
 */

import { mallocStats } from "../../ffi/malloc_trim.ts";
import {
  createTlsChannel,
  type TlsChannelHandlers,
  type TlsCredentials,
  type TlsEndpoint,
  tlsEngine,
} from "../../src/control/tls_channel.ts";
import { clientCredentials, openSwarmPki } from "./pki.ts";

const N = Number(Deno.args[0] ?? 300);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --v8-flags=--expose-gc");
const pki = await openSwarmPki("/var/tmp/tsvpn-swarm-pki", N + 1);
const server: TlsCredentials = {
  ca: pki.caPem,
  cert: await Deno.readTextFile(pki.serverCert),
  key: await Deno.readTextFile(pki.serverKey),
};
const quiet: TlsChannelHandlers = { onCiphertext() {}, onSecure() {}, onPlaintext() {}, onError() {} };

interface Pair {
  server: TlsEndpoint;
  client: TlsEndpoint | null;
}

/** One handshake; resolves when both sides are secure. The client is reachable only through `pair.client`. */
function handshake(i: number): Promise<Pair> {
  return new Promise((resolve, reject) => {
    let secure = 0;
    const done = () => ++secure === 2 && resolve(pair);
    const fail = (r: string) => reject(new Error(r));
    const pair: Pair = {
      server: createTlsChannel("server", server, {
        ...quiet,
        onCiphertext: (b) => queueMicrotask(() => pair.client?.feed(b)),
        onSecure: done,
        onError: fail,
      }),
      client: null,
    };
    pair.client = createTlsChannel("client", clientCredentials(pki, i), {
      ...quiet,
      onCiphertext: (b) => queueMicrotask(() => pair.server.feed(b)),
      onSecure: done,
      onError: fail,
    });
  });
}

async function settle(): Promise<{ malloc: number; heap: number }> {
  await new Promise((r) => setTimeout(r, 200));
  gc!();
  gc!();
  return { malloc: mallocStats()?.inUse ?? NaN, heap: Deno.memoryUsage().heapUsed };
}

function perSession(from: { malloc: number; heap: number }, to: { malloc: number; heap: number }): string {
  const kib = (x: number) => (x / N / 1024).toFixed(1);
  return `malloc ${kib(to.malloc - from.malloc)} KiB, V8 heap ${kib(to.heap - from.heap)} KiB per session`;
}

const warm = await handshake(N); // first use builds the shared TLS contexts
warm.server.destroy();
warm.client?.destroy();
const before = await settle();
const pairs: Pair[] = [];
for (let i = 0; i < N; i++) pairs.push(await handshake(i));
for (const p of pairs) {
  p.client?.destroy();
  p.client = null;
}
const established = await settle();
console.log(`TLS engine ${tlsEngine().engine}`);
console.log(`${N} established server sessions: ${perSession(before, established)}`);
for (const p of pairs) p.server.destroy();
pairs.length = 0;
const cleared = await settle();
const unstarted = Array.from({ length: N }, () => createTlsChannel("server", server, quiet));
console.log(`${N} unstarted server sessions: ${perSession(cleared, await settle())}`);
for (const s of unstarted) s.destroy();
