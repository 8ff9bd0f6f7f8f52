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

import { createPrivateKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { Duplex } from "node:stream";
import tls from "node:tls";
import { initCa, issueCertificate } from "../../src/pki/ca.ts";
import { createTestPki } from "../../src/testing/control/pki.ts";
import { pkiVerifier } from "../../src/control/verifier.ts";
import { decodePem } from "../../src/pki/pem.ts";
import { openssl } from "../../src/testing/pki/openssl.ts";
import { MANGLINGS } from "./cert_mangle.ts";
import { type ForgeryOutcome, runForgery } from "./forgery_harness.ts";
import { type ForgeryPlan, Tls13Forger } from "./tls13_forger.ts";

/**
 * A plain node:tls client with rejectUnauthorized: true (what any Deno program gets by default) against
 * a forging server; reports whether the handshake completed and whether node:tls called the peer authorized.
 */
function strictClient(ca: string, plan: ForgeryPlan): Promise<string> {
  return new Promise((resolve) => {
    let done = false;
    const end = (what: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(what);
    };
    const timer = setTimeout(() => end("timed out"), 5000);
    const forger = new Tls13Forger("server", plan, (b) => setTimeout(() => !done && duplex.push(b), 0));
    const duplex = new Duplex({
      read() {},
      write(chunk: Uint8Array, _e: string, cb: () => void) {
        setTimeout(() => !done && forger.receive(new Uint8Array(chunk)), 0);
        cb();
      },
    });
    const socket = tls.connect(
      { socket: duplex, ca, rejectUnauthorized: true, servername: "server" } as never,
    );
    socket.on("secureConnect", () => end(`handshake completed, authorized=${socket.authorized}`));
    socket.on("error", (e: Error) => end(`refused (${e.message})`));
  });
}

function describe(o: ForgeryOutcome): string {
  const tls = o.tlsAccepted ? "TLS completed" : `TLS refused (${o.tlsError ?? `alert ${o.alert}`})`;
  const verdict = o.verdict === null
    ? ""
    : o.verdict.ok
    ? "; verifier: ok"
    : `; verifier: ${o.verdict.reason}`;
  return tls + verdict + (o.forgerFailure ? `; forger: ${o.forgerFailure}` : "");
}

/**
 * The same hole without any real certificate: a CA of the attacker's own with the real CA's name issues
 * "server"; with its outer length re-encoded, a strict node:tls client trusting only the real CA accepts it.
 */
async function probeStrictClient(dir: string, caPem: string, realServer: Uint8Array, forgedKey: KeyObject) {
  const fakeCa = `${dir}/fake-ca`;
  await initCa(fakeCa, { commonName: "tsvpn test CA" });
  const fake = await issueCertificate(fakeCa, { name: "server", type: "server", sans: ["DNS:server"] });
  const fakeDer = decodePem(await Deno.readTextFile(fake.certPath), "CERTIFICATE")[0];
  const fakeKey = createPrivateKey(await Deno.readTextFile(fake.keyPath));
  const longForm = MANGLINGS["outer SEQUENCE length in 4-byte long form"].apply;
  console.log("node:tls client, rejectUnauthorized: true, ca = the real CA only");
  for (
    const [name, plan] of [
      ["real server certificate as issued, unrelated key", { chain: [realServer], signingKey: forgedKey }],
      ["real server certificate, outer length re-encoded, unrelated key", {
        chain: [longForm(realServer)],
        signingKey: forgedKey,
      }],
      ["attacker's certificate from a same-named CA, as issued", { chain: [fakeDer], signingKey: fakeKey }],
      ["attacker's certificate from a same-named CA, outer length re-encoded", {
        chain: [longForm(fakeDer)],
        signingKey: fakeKey,
      }],
    ] as [string, ForgeryPlan][]
  ) console.log(`  ${name}: ${await strictClient(caPem, plan)}`);
}

/** An X.509 v1 certificate (no extensions) signed by the real CA: webpki refuses v1 as UnsupportedCertVersion. */
async function probeV1(pki: Awaited<ReturnType<typeof createTestPki>>, forgedKey: KeyObject) {
  const run = async (args: string[]) => {
    const r = await openssl(args, pki.dir);
    if (!r.ok) throw new Error(r.out);
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await run(["req", "-new", ...ec, "-keyout", "v1.key", "-subj", "/CN=server", "-out", "v1.csr"]);
  await run(["x509", "-req", "-in", "v1.csr", "-CA", "ca/ca.crt", "-CAkey", "ca/ca.key", "-out", "v1.crt"]);
  const der = decodePem(await Deno.readTextFile(`${pki.dir}/v1.crt`), "CERTIFICATE")[0];
  const plan = { chain: [der], signingKey: forgedKey };
  const asServer = await runForgery({
    target: "client",
    credentials: pki.client,
    plan,
    verifier: pkiVerifier({ ca: pki.caPem, usage: "serverAuth", expectedName: "server" }),
  });
  const asClient = await runForgery({
    target: "server",
    credentials: pki.server,
    plan,
    verifier: pkiVerifier({ ca: pki.caPem, crl: pki.crlPem, usage: "clientAuth" }),
  });
  console.log("v1 certificate signed by the real CA, unrelated key");
  console.log(`  forged server → tsvpn client: ${describe(asServer)}`);
  console.log(`  forged client → tsvpn server: ${describe(asClient)}`);
}

if (import.meta.main) {
  const pki = await createTestPki();
  try {
    const forgedKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    const server = {
      der: decodePem(pki.server.cert, "CERTIFICATE")[0],
      key: createPrivateKey(pki.server.key),
    };
    const client = {
      der: decodePem(pki.client.cert, "CERTIFICATE")[0],
      key: createPrivateKey(pki.client.key),
    };
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
    await probeV1(pki, forgedKey);
    await probeStrictClient(pki.dir, pki.caPem, server.der, forgedKey);
  } finally {
    await pki.cleanup();
  }
}
