/**
 * Writes fuzz_chain.pem, the fixed inputs of src/pki/fuzz_test.ts (so its
 * seeded mutants are the same on every run):
 *
 *   deno run --allow-all src/pki/testdata/make_fuzz_chain.ts
 *
 * Certificates, in order: Root; Sub (pathlen 0, nameConstraints); alice (SANs,
 * emailAddress), which the chain accepts; mallory, whom Sub's CRL revokes.
 * CRLs, in order: Sub's (one entry, authorityKeyIdentifier), Root's (empty).
 * Ed25519 throughout: Deno's node:crypto checks it ~12x faster than ECDSA
 * P-256 (135 µs against 1.7 ms per check), which keeps 10^5 full
 * verifications within the test's budget; no check under test depends on
 * the signature algorithm. Everything stays valid until 2099.
 */

import { encodePem } from "../pem.ts";
import { issue } from "../../testing/pki/certs.ts";
import { crlWith, selfSigned } from "../../testing/pki/policy.ts";

const DAYS = 26_000;
const NEXT_UPDATE = "20991231000000Z";

const dir = await Deno.makeTempDir({ prefix: "tsvpn_fuzz_chain_" });
try {
  const root = await selfSigned(dir, "Root", [
    "basicConstraints=critical,CA:TRUE",
    "keyUsage=critical,keyCertSign,cRLSign",
  ], {
    kind: "ed25519",
    days: DAYS,
  });
  const sub = await issue(dir, "Root", "Sub", {
    kind: "ed25519",
    days: DAYS,
    ext: [
      "basicConstraints=critical,CA:TRUE,pathlen:0",
      "keyUsage=critical,keyCertSign,cRLSign",
      "nameConstraints=critical,permitted;DNS:example.com,permitted;IP:192.0.2.0/255.255.255.0," +
      "excluded;email:.bad.example.com,permitted;dirName:dir_sect",
      "[ dir_sect ]",
      "O=Example",
    ],
  });
  const ext = (san: string) => [
    "basicConstraints=CA:FALSE",
    "keyUsage=critical,digitalSignature",
    "extendedKeyUsage=clientAuth,serverAuth",
    "subjectKeyIdentifier=hash",
    "authorityKeyIdentifier=keyid",
    `subjectAltName=${san}`,
  ];
  const alice = await issue(dir, "Sub", "alice", {
    kind: "ed25519",
    days: DAYS,
    subject: "/O=Example/CN=alice/emailAddress=alice@example.com",
    ext: ext("DNS:vpn.example.com,IP:192.0.2.7,email:alice@example.com"),
  });
  const mallory = await issue(dir, "Sub", "mallory", {
    kind: "ed25519",
    days: DAYS,
    subject: "/O=Example/CN=mallory",
    ext: ext("DNS:m.example.com"),
  });
  const subCrl = await crlWith(dir, "Sub", {
    revoked: ["mallory"],
    nextUpdate: NEXT_UPDATE,
    ext: ["authorityKeyIdentifier=keyid"],
  });
  const rootCrl = await crlWith(dir, "Root", { nextUpdate: NEXT_UPDATE });
  const pem = [root, sub, alice, mallory].map((c) => encodePem(c.der, "CERTIFICATE")).join("") +
    [subCrl, rootCrl].map((c) => encodePem(c, "X509 CRL")).join("");
  await Deno.writeTextFile(new URL("./fuzz_chain.pem", import.meta.url), pem);
} finally {
  await Deno.remove(dir, { recursive: true });
}
