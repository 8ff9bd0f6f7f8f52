import assert from "node:assert/strict";
import tls from "node:tls";
import {
  certificatesFromLegacy,
  peerCertificates,
  secureContextFor,
  TlsChannel,
  type TlsChannelHandlers,
  type TlsSecureInfo,
} from "./tls_channel.ts";
import { decodePem } from "../pki/pem.ts";
import { sharedTestPki } from "../testing/control/pki.ts";
import { holds, until } from "../testing/wait.ts";

const pki = await sharedTestPki();

/** A client and a server channel joined in memory; `server` handlers may be overridden. */
function pair(server: Partial<TlsChannelHandlers>, client: Partial<TlsChannelHandlers> = {}) {
  const errors: string[] = [];
  let secure = 0;
  // deno-lint-ignore prefer-const
  let c: TlsChannel;
  const s = new TlsChannel("server", pki.server, {
    onCiphertext: (b) => setTimeout(() => c.feed(b), 0),
    onSecure: () => secure++,
    onPlaintext: () => {},
    onError: (r) => errors.push(r),
    ...server,
  });
  c = new TlsChannel("client", pki.client, {
    onCiphertext: (b) => setTimeout(() => s.feed(b), 0),
    onSecure: () => secure++,
    onPlaintext: () => {},
    onError: (r) => errors.push(`client: ${r}`),
    ...client,
  });
  return { s, c, errors, secure: () => secure };
}

Deno.test({
  name: "TlsChannel reports a throwing onPlaintext handler as a channel error, not an uncaught exception",
  fn: async () => {
    const p = pair({
      onPlaintext: () => {
        throw new Error("handler bug");
      },
    });
    try {
      await until(() => p.secure() === 2, { what: "handshake" });
      p.c.write(new TextEncoder().encode("hello"));
      await until(() => p.errors.some((e) => e.includes("internal error: handler bug")), {
        what: "error report",
      });
    } finally {
      p.s.destroy();
      p.c.destroy();
    }
  },
});

Deno.test({
  name:
    "TlsChannel.feed() turns garbage and oversized records into one error and keeps quiet after destroy()",
  fn: async () => {
    const p = pair({});
    try {
      const junk = new Uint8Array(70000);
      for (let i = 0; i < junk.length; i++) junk[i] = (i * 131 + 7) & 0xff;
      junk.set([22, 3, 3, 0xff, 0xff], 0); // a handshake record claiming 64 KiB
      p.s.feed(junk);
      await until(() => p.errors.length > 0, { what: "error" });
      assert.ok(
        p.errors.every((e) => e.startsWith("TLS") || e.startsWith("client: TLS")),
        p.errors.join("; "),
      );
      p.s.destroy();
      const n = p.errors.length;
      p.s.feed(junk);
      p.s.write(junk);
      // Proving an absence: a destroyed channel that still parsed input would report within this time.
      await holds(() => p.errors.length === n, 100, "no error after destroy()");
    } finally {
      p.s.destroy();
      p.c.destroy();
    }
  },
});

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

Deno.test({
  name:
    "TlsChannel: the peer chains of two sessions share one copy of each chain certificate (a client gets the server's CA)",
  fn: async () => {
    const chains: Uint8Array[][] = [];
    for (let round = 0; round < 2; round++) {
      const p = pair({}, { onSecure: (info) => chains.push(info.peerChain) });
      try {
        await until(() => chains.length === round + 1, { what: `client secure, round ${round}` });
      } finally {
        p.s.destroy();
        p.c.destroy();
      }
    }
    assert.ok(chains[0].length >= 1, "the server's chain reaches its CA");
    assert.equal(chains[0].length, chains[1].length);
    for (let i = 0; i < chains[0].length; i++) assert.equal(chains[1][i], chains[0][i], `certificate ${i}`);
  },
});
