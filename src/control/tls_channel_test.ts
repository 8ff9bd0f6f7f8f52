/**
 * The TLS channel contract, on both engines (libssl and node:tls) and across them: a libssl client
 * against a node:tls server and the reverse, as a tsvpn peer on either engine meets the other.
 */

import assert from "node:assert/strict";
import {
  createTlsChannel,
  liveTlsChannels,
  type TlsChannelHandlers,
  type TlsEndpoint,
  tlsEngine,
  type TlsEngineName,
  type TlsSecureInfo,
} from "./tls_channel.ts";
import { decodePem } from "../pki/pem.ts";
import { sharedTestPki } from "../testing/control/pki.ts";
import { holds, until } from "../testing/wait.ts";
import { concatBytes } from "../testing/bytes.ts";
import { libsslStatus } from "../../ffi/libssl.ts";
import { liveSslObjects } from "./tls_openssl.ts";
import type { TlsCredentials } from "./tls_types.ts";

const pki = await sharedTestPki();
const ENGINES: TlsEngineName[] = ["openssl", "node"];
const PAIRS: [TlsEngineName, TlsEngineName][] = [
  ["openssl", "openssl"],
  ["node", "node"],
  ["openssl", "node"],
  ["node", "openssl"],
];

interface Pair {
  s: TlsEndpoint;
  c: TlsEndpoint;
  errors: string[];
  info: Partial<Record<"server" | "client", TlsSecureInfo>>;
  plain: Record<"server" | "client", Uint8Array[]>;
  close(): void;
}

/** A server on `serverEngine` and a client on `clientEngine` joined in memory; handlers may be overridden. */
function pair(
  [serverEngine, clientEngine]: [TlsEngineName, TlsEngineName],
  server: Partial<TlsChannelHandlers> = {},
  client: Partial<TlsChannelHandlers> = {},
  creds: { server: TlsCredentials; client: TlsCredentials } = pki,
): Pair {
  const p: Pair = {
    errors: [],
    info: {},
    plain: { server: [], client: [] },
    close() {
      p.s.destroy();
      p.c.destroy();
    },
  } as unknown as Pair;
  p.s = createTlsChannel("server", creds.server, {
    onCiphertext: (b) => setTimeout(() => p.c.feed(b), 0),
    onSecure: (i) => p.info.server = i,
    onPlaintext: (b) => p.plain.server.push(b),
    onError: (r) => p.errors.push(`server: ${r}`),
    ...server,
  }, serverEngine);
  p.c = createTlsChannel("client", creds.client, {
    onCiphertext: (b) => setTimeout(() => p.s.feed(b), 0),
    onSecure: (i) => p.info.client = i,
    onPlaintext: (b) => p.plain.client.push(b),
    onError: (r) => p.errors.push(`client: ${r}`),
    ...client,
  }, clientEngine);
  return p;
}

Deno.test("tlsEngine() picks libssl here (libssl.so.3 loads), with the reason", () => {
  assert.equal(libsslStatus(), null);
  const e = tlsEngine();
  const forced = Deno.env.get("TSVPN_TLS_ENGINE");
  assert.equal(e.engine, forced === "node" ? "node" : "openssl");
  assert.ok(e.reason.length > 0);
});

Deno.test("TSVPN_TLS_ENGINE: a value other than openssl or node is refused in one line", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { tlsEngine } from "${new URL("./tls_channel.ts", import.meta.url)}"; tlsEngine();`,
    ],
    env: { TSVPN_TLS_ENGINE: "gnutls" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 1);
  assert.match(new TextDecoder().decode(out.stderr), /TSVPN_TLS_ENGINE=gnutls: use openssl or node/);
});

for (const engines of PAIRS) {
  const label = `server ${engines[0]}, client ${engines[1]}`;
  Deno.test(`TLS channel (${label}): handshake, peer certificates as sent, data both ways, one report each`, async () => {
    const live = liveTlsChannels();
    const ssl = liveSslObjects();
    const p = pair(engines);
    try {
      await until(() => p.info.server && p.info.client, { what: "both sides secure" });
      assert.equal(liveTlsChannels(), live + 2);
      // A libssl server carries a TLS 1.3 session on without its SSL object; a libssl client keeps its own.
      assert.equal(liveSslObjects(), ssl + (engines[1] === "openssl" ? 1 : 0), "SSL objects held");
      const [serverLeaf] = decodePem(pki.server.cert, "CERTIFICATE");
      const [clientLeaf, ...clientRest] = decodePem(pki.client.cert, "CERTIFICATE");
      assert.deepEqual(p.info.client!.peerCertificate, serverLeaf);
      assert.deepEqual(p.info.server!.peerCertificate, clientLeaf);
      // A server sends its chain up to its CA; a client sends its certificate file.
      const [ca] = decodePem(pki.server.ca, "CERTIFICATE");
      assert.deepEqual(p.info.client!.peerChain, [ca], "the server's chain: its CA");
      assert.deepEqual(p.info.server!.peerChain, clientRest);
      assert.equal(p.info.server!.protocol, "TLSv1.3");
      assert.equal(p.info.client!.protocol, "TLSv1.3");
      assert.match(p.info.server!.cipher ?? "", /^TLS_/);
      // 40 KiB each way: more than one TLS record, written before and after the peer read anything.
      const big = new Uint8Array(40 * 1024).map((_, i) => (i * 7 + 3) & 0xff);
      p.c.write(big.subarray(0, 1000));
      p.c.write(big.subarray(1000));
      p.s.write(big);
      await until(
        () =>
          concatBytes(...p.plain.server).length === big.length &&
          concatBytes(...p.plain.client).length === big.length,
        { what: "data both ways" },
      );
      assert.deepEqual(concatBytes(...p.plain.server), big);
      assert.deepEqual(concatBytes(...p.plain.client), big);
      assert.deepEqual(p.errors, []);
    } finally {
      p.close();
    }
    assert.equal(liveTlsChannels(), live);
    assert.equal(liveSslObjects(), ssl);
  });
}

for (const engine of ENGINES) {
  Deno.test(`TLS channel (${engine}): plaintext written before the handshake completes arrives after it`, async () => {
    const p = pair([engine, engine]);
    try {
      p.c.write(new TextEncoder().encode("early"));
      await until(() => p.plain.server.length > 0, { what: "early plaintext" });
      assert.equal(new TextDecoder().decode(concatBytes(...p.plain.server)), "early");
      assert.ok(p.c.secure && p.s.secure);
    } finally {
      p.close();
    }
  });

  Deno.test(`TLS channel (${engine}): a throwing onPlaintext handler is a channel error, not an exception`, async () => {
    const p = pair([engine, engine], {
      onPlaintext: () => {
        throw new Error("handler bug");
      },
    });
    try {
      await until(() => p.info.server && p.info.client, { what: "handshake" });
      p.c.write(new TextEncoder().encode("hello"));
      await until(() => p.errors.some((e) => e.includes("internal error: handler bug")), { what: "error" });
    } finally {
      p.close();
    }
  });

  Deno.test(`TLS channel (${engine}): garbage and oversized records are one error; quiet after destroy()`, async () => {
    const p = pair([engine, engine]);
    try {
      const junk = new Uint8Array(70000);
      for (let i = 0; i < junk.length; i++) junk[i] = (i * 131 + 7) & 0xff;
      junk.set([22, 3, 3, 0xff, 0xff], 0); // a handshake record claiming 64 KiB
      p.s.feed(junk);
      await until(() => p.errors.length > 0, { what: "error" });
      assert.ok(p.errors.every((e) => /^(server|client): TLS/.test(e)), p.errors.join("; "));
      const serverErrors = () => p.errors.filter((e) => e.startsWith("server"));
      p.s.feed(junk);
      await holds(() => serverErrors().length === 1, 50, "one server error, however much more garbage");
      p.s.destroy();
      p.s.feed(junk);
      p.s.write(junk);
      // Proving an absence: a destroyed channel that still parsed input would report within this time.
      await holds(() => serverErrors().length === 1, 100, "no error after destroy()");
    } finally {
      p.close();
    }
  });

  Deno.test(`TLS channel (${engine}): a handler that destroys the channel ends it cleanly`, async () => {
    const p: Pair = pair([engine, engine], {
      onSecure: () => p.s.destroy(),
      onCiphertext: (b) => setTimeout(() => p.c.feed(b), 0),
    });
    try {
      await until(() => p.info.client, { what: "client secure" });
      assert.equal(p.s.secure, true);
      p.s.feed(new Uint8Array(100)); // ignored: destroyed
      p.s.write(new Uint8Array(100));
      await holds(() => !p.errors.some((e) => e.startsWith("server")), 50, "no server error");
    } finally {
      p.close();
    }
  });

  Deno.test(`TLS channel (${engine}): the peer chains of two sessions share one copy of each chain certificate`, async () => {
    const chains: Uint8Array[][] = [];
    for (let round = 0; round < 2; round++) {
      const p = pair([engine, engine], {}, { onSecure: (info) => chains.push(info.peerChain) });
      try {
        await until(() => chains.length === round + 1, { what: `client secure, round ${round}` });
      } finally {
        p.close();
      }
    }
    assert.ok(chains[0].length >= 1);
    for (let i = 0; i < chains[0].length; i++) assert.equal(chains[1][i], chains[0][i], `certificate ${i}`);
  });
}

Deno.test("TLS channel (openssl): a certificate from an unknown CA completes the handshake; the session decides", async () => {
  // The engine never refuses a certificate itself (the verifier does, src/pki/verify.ts); it reports it.
  const p = pair(["openssl", "openssl"], {}, {}, { server: pki.server, client: pki.foreignClient });
  try {
    await until(() => p.info.server, { what: "server secure" });
    assert.deepEqual(p.info.server!.peerCertificate, decodePem(pki.foreignClient.cert, "CERTIFICATE")[0]);
  } finally {
    p.close();
  }
});

Deno.test("TLS channel (openssl): a key that does not match the certificate is refused at once", () => {
  assert.throws(
    () =>
      createTlsChannel("server", { ...pki.server, key: pki.client.key }, {
        onCiphertext() {},
        onSecure() {},
        onPlaintext() {},
        onError() {},
      }, "openssl"),
    /TLS: .*(private key|key values mismatch)/,
  );
});
