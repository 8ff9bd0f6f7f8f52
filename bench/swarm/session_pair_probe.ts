/**
 * tls_pair_probe.ts with tsvpn around the TLS: N client ControlSessions (each
 * with its own swarm certificate) against one ControlListener in this process,
 * over an in-memory link, each to its PUSH_REPLY, left open. Prints CPU per
 * client+server pair and memory per pair; the difference to tls_pair_probe.ts
 * is what tsvpn's control channel adds (docs/performance.md, "Swarm").
 *
 *   deno run -A --v8-flags=--expose-gc bench/swarm/session_pair_probe.ts [N]   (after one bench:swarm run)
 */

import process from "node:process";
import { ControlListener } from "../../src/control/listener.ts";
import { ControlSession } from "../../src/control/session.ts";
import { pkiVerifier } from "../../src/control/verifier.ts";
import { clientCredentials, openSwarmPki } from "./pki.ts";

const N = Number(Deno.args[0] ?? 300);
const BATCH = 10;
const pki = await openSwarmPki("/var/tmp/tsvpn-swarm-pki", N);
const listener = new ControlListener({
  credentials: {
    ca: pki.caPem,
    cert: await Deno.readTextFile(pki.serverCert),
    key: await Deno.readTextFile(pki.serverKey),
  },
  verifyPeer: pkiVerifier({ ca: pki.caPem, usage: "clientAuth" }),
  wrap: { mode: "none" },
  handshakeRate: 1e9,
  handshakeBurst: 1e9,
  maxSessions: 2 * N + 16,
  pushOptions: () => ({ ifconfig: { local: "10.8.0.2", remoteOrNetmask: "255.255.255.0" }, ping: 10 }),
});
const verifyServer = pkiVerifier({ ca: pki.caPem, usage: "serverAuth" });
const open: ControlSession[] = [];

async function connect(i: number): Promise<void> {
  const endpoint = `192.0.2.1:${10000 + i}`;
  const reply = (p: Uint8Array) => queueMicrotask(() => client.receive(p));
  const client: ControlSession = new ControlSession({
    role: "client",
    credentials: clientCredentials(pki, i),
    verifyPeer: verifyServer,
    send: (p) => queueMicrotask(() => listener.handlePacket("udp", endpoint, endpoint, reply, p)),
  });
  open.push(client);
  const pushed = client.once("pushReply");
  client.start();
  await pushed;
}

const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const before = Deno.memoryUsage();
const cpu0 = process.cpuUsage();
for (let i = 0; i < N; i += BATCH) {
  await Promise.all(Array.from({ length: Math.min(BATCH, N - i) }, (_, j) => connect(i + j)));
}
const cpu = process.cpuUsage(cpu0);
gc?.();
const after = Deno.memoryUsage();
const kib = (k: keyof Deno.MemoryUsage) => ((after[k] - before[k]) / N / 1024).toFixed(1);
console.log(
  `${N} session pairs: ${((cpu.user + cpu.system) / 1000 / N).toFixed(2)} ms CPU per pair; per pair ` +
    `RSS ${kib("rss")} KiB, V8 heap ${kib("heapUsed")} KiB, external ${kib("external")} KiB`,
);
Deno.exit(0);
