import assert from "node:assert/strict";
import tls from "node:tls";
import {
  certificatesFromLegacy,
  NodeTlsChannel as TlsChannel,
  peerCertificates,
  secureContextFor,
} from "./tls_node.ts";
import type { TlsSecureInfo } from "./tls_types.ts";
import { decodePem } from "../pki/pem.ts";
import { sharedTestPki } from "../testing/control/pki.ts";
import { until } from "../testing/wait.ts";

const pki = await sharedTestPki();

Deno.test("secureContextFor() makes one TLS context per credential set, a new one when a PEM text changes", () => {
  const first = secureContextFor(pki.server);
  assert.equal(secureContextFor({ ...pki.server }), first, "same texts, another object: same context");
  assert.notEqual(secureContextFor(pki.client), first, "other credentials: another context");
  assert.notEqual(secureContextFor({ ...pki.server, ca: `${pki.server.ca}\n` }), first, "CA text changed");
  assert.equal(secureContextFor(pki.server), first);
  for (let i = 0; i < 4; i++) {
    secureContextFor({ ...pki.client, ca: `${pki.client.ca}${"\n".repeat(i + 1)}` });
  }
  assert.notEqual(secureContextFor(pki.server), first, "evicted after four other sets, then made again");
});

Deno.test({
  name: "TlsChannel: two handshakes on one server credential set each present the server's own certificate",
  fn: async () => {
    for (let round = 0; round < 2; round++) {
      let seen: Uint8Array | null = null;
      // deno-lint-ignore prefer-const
      let c: TlsChannel;
      const s = new TlsChannel("server", pki.server, {
        onCiphertext: (b) => setTimeout(() => c.feed(b), 0),
        onSecure: () => {},
        onPlaintext: () => {},
        onError: () => {},
      });
      c = new TlsChannel("client", pki.client, {
        onCiphertext: (b) => setTimeout(() => s.feed(b), 0),
        onSecure: (info) => seen = info.peerCertificate,
        onPlaintext: () => {},
        onError: () => {},
      });
      try {
        await until(() => seen !== null, { what: "client secure" });
        assert.deepEqual(seen, decodePem(pki.server.cert, "CERTIFICATE")[0], `round ${round}`);
      } finally {
        s.destroy();
        c.destroy();
      }
    }
  },
});

Deno.test({
  name:
    "TlsChannel: each side gets the certificates the peer sent, from the TLS handle without node's legacy walk",
  fn: async () => {
    const proto = tls.TLSSocket.prototype as unknown as {
      getPeerCertificate: (detailed?: boolean) => unknown;
    };
    const original = proto.getPeerCertificate;
    let walks = 0;
    proto.getPeerCertificate = function (this: unknown, detailed?: boolean) {
      if (detailed) walks++;
      return original.call(this, detailed);
    };
    const seen: Record<string, TlsSecureInfo> = {};
    // deno-lint-ignore prefer-const
    let c: TlsChannel;
    const s = new TlsChannel("server", pki.server, {
      onCiphertext: (b) => setTimeout(() => c.feed(b), 0),
      onSecure: (info) => seen.server = info,
      onPlaintext: () => {},
      onError: () => {},
    });
    c = new TlsChannel("client", pki.client, {
      onCiphertext: (b) => setTimeout(() => s.feed(b), 0),
      onSecure: (info) => seen.client = info,
      onPlaintext: () => {},
      onError: () => {},
    });
    try {
      await until(() => seen.server && seen.client, { what: "both sides secure" });
      const [serverLeaf, ...serverRest] = decodePem(pki.server.cert, "CERTIFICATE");
      const [clientLeaf, ...clientRest] = decodePem(pki.client.cert, "CERTIFICATE");
      assert.deepEqual(seen.client.peerCertificate, serverLeaf);
      assert.deepEqual(seen.server.peerCertificate, clientLeaf);
      // Deno's TLS server sends its CA after its leaf; a client sends its certificate file.
      const serverSends = [...serverRest, ...decodePem(pki.server.ca, "CERTIFICATE")];
      const sent = (c: Uint8Array) =>
        serverSends.some((d) => d.length === c.length && d.every((b, i) => b === c[i]));
      assert.ok(seen.client.peerChain.length > 0, "the server's CA reached the client");
      assert.ok(seen.client.peerChain.every(sent), "the client sees only what the server sent");
      assert.deepEqual(seen.server.peerChain, clientRest, "nothing after the client's leaf but what it sent");
      assert.equal(walks, 0, "node's getPeerCertificate(true) walk was not needed");
    } finally {
      proto.getPeerCertificate = original;
      s.destroy();
      c.destroy();
    }
  },
});

Deno.test("certificatesFromLegacy() (the fallback) follows node's issuer links, bounded and cycle-safe", () => {
  const leaf: { raw: Uint8Array; issuerCertificate?: unknown } = { raw: Uint8Array.of(1, 2) };
  const ca: { raw: Uint8Array; issuerCertificate?: unknown } = { raw: Uint8Array.of(3) };
  leaf.issuerCertificate = ca;
  ca.issuerCertificate = ca; // node links a self-signed root to itself
  assert.deepEqual(certificatesFromLegacy(leaf), [Uint8Array.of(1, 2), Uint8Array.of(3)]);
  assert.deepEqual(certificatesFromLegacy({}), []);
  assert.deepEqual(certificatesFromLegacy(null), []);
  const links: { raw: Uint8Array; issuerCertificate?: unknown }[] = [];
  for (let i = 0; i < 20; i++) links.push({ raw: Uint8Array.of(i), issuerCertificate: undefined });
  links.forEach((l, i) => l.issuerCertificate = links[i + 1]);
  assert.equal(certificatesFromLegacy(links[0]).length, 9, "the leaf and at most 8 more");
});

Deno.test("peerCertificates() of a socket without a TLS handle or peer is empty, not an exception", () => {
  assert.deepEqual(peerCertificates({} as unknown as tls.TLSSocket), []);
});
