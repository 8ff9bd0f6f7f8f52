/**
 * Prints, for every certificate re-encoding in cert_mangle.ts and both
 * roles, whether Deno's node:tls completes a TLS 1.3 handshake with a peer
 * that presents a real tsvpn certificate so re-encoded and signs
 * CertificateVerify with an unrelated key — and what tsvpn's verifier says.
 * It documents Deno's behaviour for docs/security.md and an upstream report;
 * the assertions live in impersonation_test.ts.
 *
 *   deno run --allow-all --unstable-net tests/security/deno_tls_probe.ts
 */

import { createPrivateKey, generateKeyPairSync } from "node:crypto";
import { createTestPki } from "../../src/control/testing_pki.ts";
import { pkiVerifier } from "../../src/control/verifier.ts";
import { decodePem } from "../../src/pki/pem.ts";
import { MANGLINGS } from "./cert_mangle.ts";
import { type ForgeryOutcome, runForgery } from "./forgery_harness.ts";

function describe(o: ForgeryOutcome): string {
  const tls = o.tlsAccepted ? "TLS completed" : `TLS refused (${o.tlsError ?? `alert ${o.alert}`})`;
  const verdict = o.verdict === null ? "" : o.verdict.ok ? "; verifier: ok" : `; verifier: ${o.verdict.reason}`;
  return tls + verdict + (o.forgerFailure ? `; forger: ${o.forgerFailure}` : "");
}

if (import.meta.main) {
  const pki = await createTestPki();
  try {
    const forgedKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    const server = { der: decodePem(pki.server.cert, "CERTIFICATE")[0], key: createPrivateKey(pki.server.key) };
    const client = { der: decodePem(pki.client.cert, "CERTIFICATE")[0], key: createPrivateKey(pki.client.key) };
    const cases: [string, (d: Uint8Array) => Uint8Array, boolean][] = [
      ["certificate as issued, its own key", (d) => d, true],
      ["certificate as issued", (d) => d, false],
      ...Object.entries(MANGLINGS).map(([n, m]): [string, (d: Uint8Array) => Uint8Array, boolean] => [
        n,
        m.apply,
        false,
      ]),
    ];
    console.log(`Deno ${Deno.version.deno}`);
    for (const [name, mangle, ownKey] of cases) {
      const asServer = await runForgery({
        target: "client",
        credentials: pki.client,
        plan: { chain: [mangle(server.der)], signingKey: ownKey ? server.key : forgedKey },
        verifier: pkiVerifier({ ca: pki.caPem, usage: "serverAuth", expectedName: "server" }),
      });
      const asClient = await runForgery({
        target: "server",
        credentials: pki.server,
        plan: { chain: [mangle(client.der)], signingKey: ownKey ? client.key : forgedKey },
        verifier: pkiVerifier({ ca: pki.caPem, crl: pki.crlPem, usage: "clientAuth" }),
      });
      console.log(`${name}\n  forged server → tsvpn client: ${describe(asServer)}`);
      console.log(`  forged client → tsvpn server: ${describe(asClient)}`);
    }
  } finally {
    await pki.cleanup();
  }
}
