/**
 * Cost of one full control-channel handshake (reset, TLS 1.3 with mutual EC
 * certificates, certificate verification, key-method 2, PUSH_REQUEST/REPLY,
 * key derivation) between tsvpn's own client and server engines in-process,
 * over an in-memory link. Run: deno bench -A --unstable-net bench/handshake_bench.ts
 */

import { createControlWrap } from "../src/control/control_wrap.ts";
import { ControlListener } from "../src/control/listener.ts";
import { ControlSession } from "../src/control/session.ts";
import { createTestPki } from "../src/testing/control/pki.ts";
import { pkiVerifier } from "../src/control/verifier.ts";

const pki = await createTestPki();
const key = crypto.getRandomValues(new Uint8Array(256));
addEventListener("unload", () => {
  try {
    Deno.removeSync(pki.dir, { recursive: true });
  } catch {
    // already gone
  }
});

async function handshake(listener: ControlListener, wrap: "none" | "tls-crypt", n: number): Promise<void> {
  const endpoint = `192.0.2.1:${n}`;
  // deno-lint-ignore prefer-const
  let client: ControlSession;
  const reply = (p: Uint8Array) => queueMicrotask(() => client.receive(p));
  client = new ControlSession({
    role: "client",
    credentials: pki.client,
    verifyPeer: pkiVerifier({ ca: pki.caPem, usage: "serverAuth" }),
    wrap: wrap === "tls-crypt" ? createControlWrap({ mode: "tls-crypt", key }, "client") : undefined,
    send: (p) => queueMicrotask(() => listener.handlePacket("udp", endpoint, endpoint, reply, p)),
  });
  const k = client.once("key");
  client.start();
  await k;
  client.close("bench", false);
  listener.linkClosed(endpoint);
}

for (const wrap of ["none", "tls-crypt"] as const) {
  const listener = new ControlListener({
    credentials: pki.server,
    verifyPeer: pkiVerifier({ ca: pki.caPem, crl: pki.crlPem, usage: "clientAuth" }),
    wrap: wrap === "tls-crypt" ? { mode: "tls-crypt", key } : { mode: "none" },
    handshakeRate: 1e9,
    handshakeBurst: 1e9,
    pushOptions: () => ({ ifconfig: { local: "10.8.0.2", remoteOrNetmask: "255.255.255.0" }, ping: 10 }),
  });
  let n = 0;
  Deno.bench({
    name: `full handshake client+server in-process (${wrap})`,
    group: "handshake",
    baseline: wrap === "none",
    async fn() {
      await handshake(listener, wrap, ++n);
    },
  });
}
