/**
 * Issue 11, part 1: a peer that presents a real certificate but signs the
 * TLS 1.3 CertificateVerify with a key of its own must never get past
 * TlsChannel and the peer verifier the session runs — in either role, with
 * the certificate as issued or re-encoded in any way that leaves the signed
 * part intact (cert_mangle.ts), on the leaf or on an intermediate.
 * Deno's TLS client skips the signature check for certificates its parser
 * rejects as badly encoded; tsvpn's verifier is what refuses those.
 */

import assert from "node:assert/strict";
import { createPrivateKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { createTestPki, type TestPki } from "../../src/testing/control/pki.ts";
import { pkiVerifier } from "../../src/control/verifier.ts";
import type { TlsCredentials, TlsEngineName } from "../../src/control/tls_channel.ts";
import { initCa, issueCertificate } from "../../src/pki/ca.ts";
import { decodePem } from "../../src/pki/pem.ts";
import { noOpenssl } from "../../src/testing/pki/openssl.ts";
import { MANGLINGS, resign, tlv } from "./cert_mangle.ts";
import { type ChainPki, createChainPki } from "./chain_pki.ts";
import { type ForgeryOutcome, impersonationSucceeded, runForgery } from "./forgery_harness.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
let pki: TestPki;
let chain: ChainPki;
const unrelatedKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;

/** Who the forger pretends to be. */
type Impersonated = "server" | "client";

interface Trust {
  ca: string;
  crl?: string;
}

/** One handshake of a forger posing as `who`, against tsvpn's other side trusting `trust`. */
function impersonate(
  engine: TlsEngineName,
  who: Impersonated,
  certs: Uint8Array[],
  key: KeyObject,
  trust?: Trust,
) {
  const ca = trust?.ca ?? pki.caPem;
  const mine: TlsCredentials = { ...(who === "server" ? pki.client : pki.server), ca };
  const verifier = who === "server"
    ? pkiVerifier({ ca, usage: "serverAuth", expectedName: "server" })
    : pkiVerifier({ ca, crl: trust ? trust.crl : pki.crlPem, usage: "clientAuth" });
  return runForgery({
    engine,
    target: who === "server" ? "client" : "server",
    credentials: mine,
    plan: { chain: certs, signingKey: key },
    verifier,
  });
}

function realLeaf(who: Impersonated): { der: Uint8Array; key: KeyObject } {
  const creds = who === "server" ? pki.server : pki.client;
  return { der: decodePem(creds.cert, "CERTIFICATE")[0], key: createPrivateKey(creds.key) };
}

function assertRefused(o: ForgeryOutcome, what: string): void {
  assert.equal(o.forgerFailure, null, `${what}: the forger itself failed`);
  assert.ok(!impersonationSucceeded(o), `${what}: impersonation succeeded`);
}

/** Refused after TLS completed: the verifier is what stopped it, and says why. */
function refusedByVerifier(o: ForgeryOutcome, reason: RegExp, what: string): void {
  assertRefused(o, what);
  if (!o.tlsAccepted) return;
  assert.ok(o.verdict !== null && !o.verdict.ok, what);
  if (o.peerCertificate !== null) assert.match(o.verdict.reason, reason, what);
}

Deno.test({
  ...opts,
  name: "fixture",
  fn: async () => {
    pki = await createTestPki();
    if (!noOpenssl) chain = await createChainPki();
  },
});

function chainable(): [string, (d: Uint8Array) => Uint8Array][] {
  return Object.entries(MANGLINGS).filter(([, m]) => !m.touchesTbs).map(([n, m]) => [n, m.apply]);
}

/** Every case on both TLS engines: libssl (the default) and node:tls (the fallback). */
for (const engine of ["openssl", "node"] as const) {
  for (const who of ["server", "client"] as const) {
    Deno.test({
      ...opts,
      name:
        `${engine}: control: a forged ${who} with the real certificate and its real key gets through TLS and the verifier`,
      fn: async () => {
        const leaf = realLeaf(who);
        const o = await impersonate(engine, who, [leaf.der], leaf.key);
        assert.ok(impersonationSucceeded(o), JSON.stringify(o.verdict ?? o.tlsError));
      },
    });

    Deno.test({
      ...opts,
      name:
        `${engine}: a forged ${who} with the real certificate as issued and another key is refused by TLS itself`,
      fn: async () => {
        const o = await impersonate(engine, who, [realLeaf(who).der], unrelatedKey);
        assertRefused(o, "as issued");
        assert.equal(o.tlsAccepted, false, "TLS checks CertificateVerify for a well-encoded certificate");
      },
    });

    for (const [name, mangling] of Object.entries(MANGLINGS)) {
      Deno.test({
        ...opts,
        name:
          `${engine}: a forged ${who} presenting the real certificate with ${name} and another key is refused`,
        fn: async () => {
          const o = await impersonate(engine, who, [mangling.apply(realLeaf(who).der)], unrelatedKey);
          refusedByVerifier(o, /^certificate could not be parsed: not a canonical DER certificate/, name);
        },
      });
    }
  }

  /**
   * Deno's TLS skips the CertificateVerify check in both roles for a certificate webpki calls
   * UnsupportedCertVersion, and as a client for one with unique identifiers; a certificate the CA
   * signed in such a form would let anyone holding it pose as its subject without the key.
   */
  for (const who of ["server", "client"] as const) {
    Deno.test({
      ...opts,
      name:
        `${engine}: a forged ${who} with a CA-signed v1, v2 or unique-ID certificate and another key is refused`,
      fn: async () => {
        const caKey = createPrivateKey(await Deno.readTextFile(`${pki.dir}/ca/ca.key`));
        const v2 = tlv(0xa0, Uint8Array.of(0x02, 0x01, 0x01));
        const uniqueId = Uint8Array.of(0x81, 0x02, 0x00, 0xab);
        const cases: [string, (f: Uint8Array[]) => Uint8Array[], RegExp][] = [
          ["v1 without extensions", (f) => f.slice(1, 7), /not an X\.509 v3 certificate \(v1\)/],
          ["v2 with extensions", (f) => [v2, ...f.slice(1)], /extensions in a certificate that is not v3/],
          ["v3 with a unique ID", (f) => [...f.slice(0, 7), uniqueId, f[7]], /unique identifiers/],
        ];
        for (const [name, edit, reason] of cases) {
          const o = await impersonate(engine, who, [resign(realLeaf(who).der, caKey, edit)], unrelatedKey);
          refusedByVerifier(o, reason, name);
        }
      },
    });
  }

  Deno.test({
    ...opts,
    name:
      `${engine}: a forged server with a certificate from its own CA named like ours, re-encoded, is refused`,
    fn: async () => {
      const fakeCa = `${pki.dir}/same-name-ca-${engine}`;
      await initCa(fakeCa, { commonName: "tsvpn test CA" });
      const fake = await issueCertificate(fakeCa, {
        name: "server",
        type: "server",
        sans: ["DNS:server"],
      });
      const der = decodePem(await Deno.readTextFile(fake.certPath), "CERTIFICATE")[0];
      const key = createPrivateKey(await Deno.readTextFile(fake.keyPath));
      for (const [name, apply] of [["as issued", (d: Uint8Array) => d], ...chainable()] as const) {
        const o = await impersonate(engine, "server", [apply(der)], key);
        refusedByVerifier(o, /could not be parsed|not signed by the configured CA/, name);
      }
    },
  });

  const chainOpts = { ...opts, ignore: noOpenssl };

  for (const who of ["server", "client"] as const) {
    const leafOf = () => who === "server" ? chain.server : chain.client;
    const trust = () => ({ ca: chain.rootPem, crl: undefined });

    Deno.test({
      ...chainOpts,
      name:
        `${engine}: control: a ${who} sending leaf and intermediate (openssl, root-only trust) with its real key is accepted`,
      fn: async () => {
        const o = await impersonate(engine, who, [leafOf().der, chain.intermediate], leafOf().key, trust());
        assert.ok(impersonationSucceeded(o), JSON.stringify(o.verdict ?? o.tlsError));
      },
    });

    Deno.test({
      ...chainOpts,
      name: `${engine}: a ${who} whose intermediate is re-encoded is refused even with its real key`,
      fn: async () => {
        for (const [name, mangling] of Object.entries(MANGLINGS)) {
          if (mangling.touchesTbs) continue;
          const intermediate = mangling.apply(chain.intermediate);
          const o = await impersonate(engine, who, [leafOf().der, intermediate], leafOf().key, trust());
          // node:tls completes (the leaf proved its key) and leaves the chain to the verifier; OpenSSL may
          // already refuse to parse a mangled intermediate, which fails the handshake.
          if (engine === "node") assert.ok(o.tlsAccepted, `${name}: TLS completes (the leaf proved its key)`);
          else if (!o.tlsAccepted) assert.ok(o.tlsError !== null, `${name}: refused by TLS, with a reason`);
          const reason = mangling.breaksSignatureOnly
            ? /^certificate not signed by the configured CA$/
            : /^intermediate certificate could not be parsed: not a canonical DER certificate/;
          refusedByVerifier(o, reason, name);
        }
      },
    });

    Deno.test({
      ...chainOpts,
      name:
        `${engine}: a forged ${who} sending a re-encoded leaf and its intermediate, with another key, is refused`,
      fn: async () => {
        for (const [name, apply] of chainable()) {
          for (const inter of [chain.intermediate, apply(chain.intermediate)]) {
            const o = await impersonate(engine, who, [apply(leafOf().der), inter], unrelatedKey, trust());
            refusedByVerifier(o, /^certificate could not be parsed: not a canonical DER certificate/, name);
          }
        }
      },
    });
  }
}

Deno.test({
  ...opts,
  name: "cleanup",
  fn: async () => {
    await pki.cleanup();
    if (!noOpenssl) await chain.cleanup();
  },
});
