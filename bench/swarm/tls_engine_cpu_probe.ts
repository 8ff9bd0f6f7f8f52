/**
 * CPU per TLS handshake of the server side, by engine: N handshakes in memory between node:tls clients
 * (the swarm generator's) and a server channel on `openssl` then on `node`, each client with its own swarm
 * certificate. The clients are the same in both rounds, so the difference between the rounds is the
 * server's. Prints process CPU per handshake for each round (docs/performance.md, "TLS on libssl").
 *
 *   deno run -A bench/swarm/tls_engine_cpu_probe.ts [N]   (after one bench:swarm run)
 */

import process from "node:process";
import { createTlsChannel, type TlsEndpoint, type TlsEngineName } from "../../src/control/tls_channel.ts";
import { clientCredentials, openSwarmPki } from "./pki.ts";

const N = Number(Deno.args[0] ?? 300);
const pki = await openSwarmPki("/var/tmp/tsvpn-swarm-pki", N + 1);
const server = {
  ca: pki.caPem,
  cert: await Deno.readTextFile(pki.serverCert),
  key: await Deno.readTextFile(pki.serverKey),
};

function handshake(i: number, engine: TlsEngineName): Promise<void> {
  return new Promise((resolve, reject) => {
    let secure = 0;
    const ends: TlsEndpoint[] = [];
    const done = () => {
      if (++secure < 2) return;
      for (const e of ends) e.destroy();
      resolve();
    };
    const fail = (r: string) => reject(new Error(r));
    const s = createTlsChannel("server", server, {
      onCiphertext: (b) => queueMicrotask(() => c.feed(b)),
      onSecure: done,
      onPlaintext() {},
      onError: fail,
    }, engine);
    const c: TlsEndpoint = createTlsChannel("client", clientCredentials(pki, i), {
      onCiphertext: (b) => queueMicrotask(() => s.feed(b)),
      onSecure: done,
      onPlaintext() {},
      onError: fail,
    }, "node");
    ends.push(s, c);
  });
}

for (const engine of ["openssl", "node", "openssl", "node"] as const) {
  for (let i = 0; i < 20; i++) await handshake(N - i, engine); // warm-up
  const before = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await handshake(i, engine);
  const cpu = process.cpuUsage(before);
  const ms = (cpu.user + cpu.system) / 1000 / N;
  console.log(
    `server ${engine}: ${ms.toFixed(2)} ms CPU per handshake pair, ${
      ((performance.now() - t0) / N).toFixed(2)
    } ms wall`,
  );
}
