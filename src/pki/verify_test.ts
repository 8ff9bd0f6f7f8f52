import assert from "node:assert/strict";
import { parseCertificate } from "./certificate.ts";
import { decodePem } from "./pem.ts";
import { crlOf, issue, selfSignedCa } from "../testing/pki/certs.ts";
import { noOpenssl, opensslTest, runOpenssl } from "../testing/pki/openssl.ts";
import { pemOf, pemOfCrl } from "../testing/pki/policy.ts";
import { commonNameOfDer, formatUtc, verifyPeerCertificate } from "./verify.ts";

const CNF = `
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = .
database = ./index.txt
new_certs_dir = ./newcerts
serial = ./serial
crlnumber = ./crlnumber
certificate = ./ca.crt
private_key = ./ca.key
default_md = sha256
default_days = 365
default_crl_days = 30
policy = policy_any
unique_subject = no
[ policy_any ]
commonName = supplied
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = placeholder
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ client ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
extendedKeyUsage = clientAuth
[ server ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:vpn.example.com,IP:192.0.2.1
[ noeku ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature
`;

/** A throwaway CA driven by the openssl CLI, as easy-rsa does it. */
class OpensslCa {
  constructor(readonly dir: string, readonly keyArgs: string[]) {}

  static async create(cn: string, keyArgs: string[]): Promise<OpensslCa> {
    const dir = await Deno.makeTempDir({ prefix: "tsvpn_pki_openssl_" });
    await Deno.writeTextFile(`${dir}/openssl.cnf`, CNF);
    await Deno.writeTextFile(`${dir}/index.txt`, "");
    await Deno.writeTextFile(`${dir}/serial`, "1000\n");
    await Deno.writeTextFile(`${dir}/crlnumber`, "01\n");
    await Deno.mkdir(`${dir}/newcerts`);
    await runOpenssl([
      "req",
      "-config",
      "openssl.cnf",
      "-x509",
      "-extensions",
      "v3_ca",
      "-nodes",
      ...keyArgs,
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-subj",
      `/CN=${cn}`,
      "-days",
      "3650",
    ], dir);
    return new OpensslCa(dir, keyArgs);
  }

  /** A subordinate CA whose ca.crt this CA signs. */
  async subordinate(cn: string): Promise<OpensslCa> {
    const sub = await OpensslCa.create(cn, this.keyArgs);
    await runOpenssl([
      "req",
      "-config",
      "openssl.cnf",
      "-new",
      "-key",
      `${sub.dir}/ca.key`,
      "-out",
      `${sub.dir}/ca.csr`,
      "-subj",
      `/CN=${cn}`,
    ], this.dir);
    await this.#sign(`${sub.dir}/ca.csr`, `${sub.dir}/ca.crt`, "v3_ca");
    return sub;
  }

  /** Signs the request CSR into the certificate CRT with an extension section of the config. */
  async #sign(csr: string, crt: string, extensions: string, dates: string[] = []): Promise<void> {
    await runOpenssl([
      "ca",
      "-config",
      "openssl.cnf",
      "-batch",
      "-notext",
      "-extensions",
      extensions,
      "-in",
      csr,
      "-out",
      crt,
      ...dates,
    ], this.dir);
  }

  async caPem(): Promise<string> {
    return await Deno.readTextFile(`${this.dir}/ca.crt`);
  }

  /** Issues NAME with an extension section; dates are openssl's YYMMDDHHMMSSZ. */
  async issue(name: string, ext: string, dates: string[] = []): Promise<Uint8Array> {
    await runOpenssl([
      "req",
      "-config",
      "openssl.cnf",
      "-new",
      "-nodes",
      ...this.keyArgs,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${name}`,
    ], this.dir);
    await this.#sign(`${name}.csr`, `${name}.crt`, ext, dates);
    return decodePem(await Deno.readTextFile(`${this.dir}/${name}.crt`), "CERTIFICATE")[0];
  }

  async serialOf(name: string): Promise<string> {
    const out = await runOpenssl(["x509", "-in", `${name}.crt`, "-noout", "-serial"], this.dir);
    return out.trim().replace(/^serial=/, "");
  }

  async revoke(name: string): Promise<void> {
    await runOpenssl(["ca", "-config", "openssl.cnf", "-batch", "-revoke", `${name}.crt`], this.dir);
  }

  async crlPem(): Promise<string> {
    await runOpenssl(["ca", "-config", "openssl.cnf", "-batch", "-gencrl", "-out", "crl.pem"], this.dir);
    return await Deno.readTextFile(`${this.dir}/crl.pem`);
  }

  async remove(): Promise<void> {
    await Deno.remove(this.dir, { recursive: true });
  }
}

/** A test with a throwaway OpensslCa made from `create`'s arguments, removed afterwards. */
function opensslCaTest(name: string, create: [string, string[]], fn: (ca: OpensslCa) => Promise<void>): void {
  Deno.test(name, { ignore: noOpenssl }, async () => {
    const ca = await OpensslCa.create(...create);
    try {
      await fn(ca);
    } finally {
      await ca.remove();
    }
  });
}

const RSA = ["-newkey", "rsa:2048"];
const P384 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"];
const P256 = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];

opensslCaTest("verifyPeerCertificate() accepts a client certificate from an openssl RSA CA", [
  "Test RSA CA",
  RSA,
], async (ca) => {
  const der = await ca.issue("alice", "client");
  const r = await verifyPeerCertificate(der, { ca: await ca.caPem(), usage: "clientAuth" });
  assert.deepEqual(r, { ok: true, commonName: "alice", serial: await ca.serialOf("alice") });
});

Deno.test("verifyPeerCertificate() accepts ECDSA P-384 and P-256 chains made by openssl", {
  ignore: noOpenssl,
}, async () => {
  for (const keyArgs of [P384, P256]) {
    const ca = await OpensslCa.create("Test EC CA", keyArgs);
    try {
      const der = await ca.issue("bob", "client");
      const r = await verifyPeerCertificate(der, { ca: await ca.caPem(), usage: "clientAuth" });
      assert.equal(r.ok, true, JSON.stringify(r));
    } finally {
      await ca.remove();
    }
  }
});

Deno.test("verifyPeerCertificate() refuses a certificate from a foreign CA, even one with the same name", {
  ignore: noOpenssl,
}, async () => {
  const ca = await OpensslCa.create("Test CA", P256);
  const impostor = await OpensslCa.create("Test CA", P256);
  const other = await OpensslCa.create("Other CA", RSA);
  try {
    await ca.issue("x", "client");
    for (const foreign of [impostor, other]) {
      const der = await foreign.issue("mallory", "client");
      const r = await verifyPeerCertificate(der, { ca: await ca.caPem(), usage: "clientAuth" });
      assert.deepEqual(r, { ok: false, reason: "certificate not signed by the configured CA" });
    }
    // A bundle holding several CAs accepts certificates from each of them.
    const bundle = (await other.caPem()) + (await ca.caPem());
    const r = await verifyPeerCertificate(await ca.issue("carol", "client"), {
      ca: bundle,
      usage: "clientAuth",
    });
    assert.equal(r.ok, true, JSON.stringify(r));
  } finally {
    await ca.remove();
    await impostor.remove();
    await other.remove();
  }
});

opensslCaTest(
  "verifyPeerCertificate() refuses an expired and a not-yet-valid certificate",
  ["Test CA", P256],
  async (ca) => {
    const caPem = await ca.caPem();
    const old = await ca.issue("old", "client", ["-startdate", "200101000000Z", "-enddate", "210101000000Z"]);
    assert.deepEqual(await verifyPeerCertificate(old, { ca: caPem, usage: "clientAuth" }), {
      ok: false,
      reason: "certificate expired on 2021-01-01T00:00:00Z",
    });
    const young = await ca.issue("young", "client");
    const r = await verifyPeerCertificate(young, {
      ca: caPem,
      usage: "clientAuth",
      now: new Date(Date.now() + 400 * 86400_000),
    });
    assert.equal(r.ok, false);
    assert.match(
      (r as { reason: string }).reason,
      /^certificate expired on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );
    const future = await ca.issue("future", "client", [
      "-startdate",
      "350101000000Z",
      "-enddate",
      "360101000000Z",
    ]);
    assert.deepEqual(await verifyPeerCertificate(future, { ca: caPem, usage: "clientAuth" }), {
      ok: false,
      reason: "certificate not valid before 2035-01-01T00:00:00Z",
    });
    // Before the CA itself is valid, the CA is named as the problem.
    const early = await verifyPeerCertificate(young, {
      ca: caPem,
      usage: "clientAuth",
      now: new Date(Date.now() - 86400_000),
    });
    assert.match((early as { reason: string }).reason, /^CA certificate Test CA not valid before /);
  },
);

opensslCaTest(
  "verifyPeerCertificate() checks the extended key usage like remote-cert-tls",
  ["Test CA", RSA],
  async (ca) => {
    const caPem = await ca.caPem();
    const client = await ca.issue("client1", "client");
    const server = await ca.issue("server1", "server");
    const noEku = await ca.issue("plain", "noeku");
    assert.deepEqual(await verifyPeerCertificate(client, { ca: caPem, usage: "serverAuth" }), {
      ok: false,
      reason: "certificate lacks extended key usage TLS Web Server Authentication",
    });
    assert.deepEqual(await verifyPeerCertificate(server, { ca: caPem, usage: "clientAuth" }), {
      ok: false,
      reason: "certificate lacks extended key usage TLS Web Client Authentication",
    });
    assert.deepEqual(await verifyPeerCertificate(noEku, { ca: caPem, usage: "clientAuth" }), {
      ok: false,
      reason: "certificate lacks extended key usage TLS Web Client Authentication",
    });
    assert.equal((await verifyPeerCertificate(server, { ca: caPem, usage: "serverAuth" })).ok, true);
  },
);

opensslCaTest(
  "verifyPeerCertificate() matches expectedName against the CN and the SANs",
  ["Test CA", P256],
  async (ca) => {
    const caPem = await ca.caPem();
    const server = await ca.issue("server1", "server");
    for (const name of ["server1", "vpn.example.com", "VPN.Example.com", "192.0.2.1"]) {
      const r = await verifyPeerCertificate(server, { ca: caPem, usage: "serverAuth", expectedName: name });
      assert.equal(r.ok, true, `${name}: ${JSON.stringify(r)}`);
    }
    assert.deepEqual(
      await verifyPeerCertificate(server, {
        ca: caPem,
        usage: "serverAuth",
        expectedName: "evil.example.com",
      }),
      { ok: false, reason: "certificate name server1 does not match expected name evil.example.com" },
    );
  },
);

Deno.test("verifyPeerCertificate() refuses a certificate revoked in an openssl CRL", {
  ignore: noOpenssl,
}, async () => {
  const ca = await OpensslCa.create("Test RSA CA", RSA);
  const impostor = await OpensslCa.create("Test RSA CA", RSA);
  try {
    const caPem = await ca.caPem();
    const good = await ca.issue("good", "client");
    const bad = await ca.issue("bad", "client");
    await ca.revoke("bad");
    const crl = await ca.crlPem();
    const serial = await ca.serialOf("bad");
    assert.deepEqual(await verifyPeerCertificate(bad, { ca: caPem, crl, usage: "clientAuth" }), {
      ok: false,
      reason: `certificate revoked (serial ${serial})`,
    });
    assert.equal((await verifyPeerCertificate(good, { ca: caPem, crl, usage: "clientAuth" })).ok, true);
    // A CRL that names the CA but carries someone else's signature is refused, not ignored.
    const forged = await impostor.crlPem();
    assert.deepEqual(await verifyPeerCertificate(good, { ca: caPem, crl: forged, usage: "clientAuth" }), {
      ok: false,
      reason: "CRL is not signed by the certificate's issuer Test RSA CA",
    });
  } finally {
    await ca.remove();
    await impostor.remove();
  }
});

Deno.test("verifyPeerCertificate() returns a reason for garbage input instead of throwing", async () => {
  const r = await verifyPeerCertificate(new Uint8Array([0x30, 0x03, 1, 2, 3]), {
    ca: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    usage: "clientAuth",
  });
  assert.equal(r.ok, false);
  assert.match((r as { reason: string }).reason, /could not be parsed/);
  const noCa = await verifyPeerCertificate(new Uint8Array(10), { ca: "", usage: "clientAuth" });
  assert.deepEqual(noCa, {
    ok: false,
    reason: "configured CA could not be parsed: CA file holds no certificate",
  });
});

Deno.test("formatUtc() drops milliseconds", () => {
  assert.equal(formatUtc(new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 123))), "2026-01-01T00:00:00Z");
});

Deno.test(
  "verifyPeerCertificate() follows intermediates from the bundle or the peer, but only to a trusted root",
  {
    ignore: noOpenssl,
  },
  async () => {
    const root = await OpensslCa.create("Root CA", P256);
    const sub = await root.subordinate("Issuing CA");
    try {
      const rootPem = await root.caPem();
      const subPem = await sub.caPem();
      const der = await sub.issue("dave", "client");
      const bundled = await verifyPeerCertificate(der, { ca: subPem + rootPem, usage: "clientAuth" });
      assert.equal(bundled.ok, true, JSON.stringify(bundled));
      const sent = await verifyPeerCertificate(der, {
        ca: rootPem,
        usage: "clientAuth",
        intermediates: [decodePem(subPem, "CERTIFICATE")[0]],
      });
      assert.equal(sent.ok, true, JSON.stringify(sent));
      assert.deepEqual(await verifyPeerCertificate(der, { ca: rootPem, usage: "clientAuth" }), {
        ok: false,
        reason: "certificate not signed by the configured CA",
      });
      // A partial bundle (issuing CA without its root) is not a trust anchor, as in OpenSSL.
      assert.deepEqual(await verifyPeerCertificate(der, { ca: subPem, usage: "clientAuth" }), {
        ok: false,
        reason: "certificate not signed by the configured CA",
      });
      // A self-signed root sent by the peer is never trusted.
      const other = await OpensslCa.create("Root CA", P256);
      try {
        const evil = await other.issue("eve", "client");
        assert.deepEqual(
          await verifyPeerCertificate(evil, {
            ca: rootPem,
            usage: "clientAuth",
            intermediates: [decodePem(await other.caPem(), "CERTIFICATE")[0]],
          }),
          { ok: false, reason: "certificate not signed by the configured CA" },
        );
      } finally {
        await other.remove();
      }
    } finally {
      await root.remove();
      await sub.remove();
    }
  },
);

opensslTest("verifyPeerCertificate() accepts RSA-PSS and Ed25519 chains made by openssl", async (dir) => {
  for (const kind of ["pss", "ed25519"]) {
    const ca = await selfSignedCa(dir, `ca-${kind}`, kind);
    const leaf = await issue(dir, `ca-${kind}`, `leaf-${kind}`, { kind });
    const r = await verifyPeerCertificate(leaf.der, { ca: pemOf(ca.der), usage: "clientAuth" });
    assert.equal(r.ok, true, `${kind}: ${JSON.stringify(r)}`);
  }
  // An RSA CA signing with RSASSA-PSS (SHA-384, salt 32).
  const rsa = await selfSignedCa(dir, "ca-rsa", "rsa");
  const pssSigned = await issue(dir, "ca-rsa", "pss-signed", {
    sign: ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32", "-sha384"],
  });
  const r = await verifyPeerCertificate(pssSigned.der, { ca: pemOf(rsa.der), usage: "clientAuth" });
  assert.equal(r.ok, true, JSON.stringify(r));
});

opensslTest(
  "verifyPeerCertificate() refuses a certificate whose signature or signed part was altered",
  async (dir) => {
    const ca = await selfSignedCa(dir, "ca", "p256");
    const leaf = await issue(dir, "ca", "alice");
    const options = { ca: pemOf(ca.der), usage: "clientAuth" as const };
    assert.equal((await verifyPeerCertificate(leaf.der, options)).ok, true);
    const cert = parseCertificate(leaf.der);
    const sigAt = leaf.der.length - cert.signature.length;
    const cnAt = leaf.der.lastIndexOf(0x61); // the "a" of "alice" in the subject
    for (const at of [sigAt + 10, leaf.der.length - 1, cnAt]) {
      const bad = leaf.der.slice();
      bad[at] ^= 0x01;
      const r = await verifyPeerCertificate(bad, options);
      assert.equal(r.ok, false, `byte ${at}`);
    }
  },
);

opensslTest(
  "verifyPeerCertificate() refuses chains through a CA without CA:TRUE or without keyCertSign",
  async (dir) => {
    const root = await selfSignedCa(dir, "root", "p256");
    const notCa = await issue(dir, "root", "not-ca", {
      ext: ["basicConstraints=CA:FALSE", "keyUsage=critical,keyCertSign,cRLSign"],
    });
    const noSign = await issue(dir, "root", "no-sign", {
      ext: ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,digitalSignature,cRLSign"],
    });
    const good = await issue(dir, "root", "good-sub", {
      ext: ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"],
    });
    const ca = pemOf(root.der);
    for (const sub of [notCa, noSign, good]) {
      const leaf = await issue(dir, sub.name, `leaf-of-${sub.name}`);
      const bundled = await verifyPeerCertificate(leaf.der, { ca: pemOf(sub.der) + ca, usage: "clientAuth" });
      const sent = await verifyPeerCertificate(leaf.der, {
        ca,
        usage: "clientAuth",
        intermediates: [sub.der],
      });
      if (sub === good) {
        assert.equal(bundled.ok, true, JSON.stringify(bundled));
        assert.equal(sent.ok, true, JSON.stringify(sent));
      } else {
        const refused = { ok: false, reason: "certificate not signed by the configured CA" };
        assert.deepEqual(bundled, refused, sub.name);
        assert.deepEqual(sent, refused, sub.name);
      }
    }
  },
);

opensslTest("verifyPeerCertificate() refuses a certificate without the key usage extension", async (dir) => {
  const ca = await selfSignedCa(dir, "ca", "p256");
  const leaf = await issue(dir, "ca", "bob", {
    ext: ["basicConstraints=CA:FALSE", "extendedKeyUsage=clientAuth"],
  });
  assert.deepEqual(await verifyPeerCertificate(leaf.der, { ca: pemOf(ca.der), usage: "clientAuth" }), {
    ok: false,
    reason: "certificate lacks the key usage extension",
  });
});

opensslTest("verifyPeerCertificate() refuses every certificate once its CA has expired", async (dir) => {
  const ca = await selfSignedCa(dir, "Old CA", "p256");
  const leaf = await issue(dir, "Old CA", "carol", { days: 7300 });
  const caEnd = parseCertificate(ca.der).notAfter;
  const r = await verifyPeerCertificate(leaf.der, {
    ca: pemOf(ca.der),
    usage: "clientAuth",
    now: new Date(caEnd.getTime() + 1000),
  });
  assert.deepEqual(r, { ok: false, reason: `CA certificate Old CA expired on ${formatUtc(caEnd)}` });
});

opensslTest(
  "verifyPeerCertificate() with a CRL configured refuses a certificate whose issuer has no CRL there",
  async (dir) => {
    const ca = await selfSignedCa(dir, "Issuing CA", "p256");
    await selfSignedCa(dir, "Other CA", "p256");
    const leaf = await issue(dir, "Issuing CA", "dave");
    await issue(dir, "Issuing CA", "erin");
    const otherCrl = pemOfCrl(await crlOf(dir, "Other CA", []));
    assert.deepEqual(
      await verifyPeerCertificate(leaf.der, { ca: pemOf(ca.der), crl: otherCrl, usage: "clientAuth" }),
      { ok: false, reason: "no CRL from the certificate's issuer Issuing CA" },
    );
    // Both CRLs in one file: the issuer's own applies (it revokes erin, not dave).
    const ownCrl = pemOfCrl(await crlOf(dir, "Issuing CA", ["erin"]));
    const both = otherCrl + ownCrl;
    assert.equal(
      (await verifyPeerCertificate(leaf.der, { ca: pemOf(ca.der), crl: both, usage: "clientAuth" })).ok,
      true,
    );
    const erin = decodePem(await Deno.readTextFile(`${dir}/erin.crt`), "CERTIFICATE")[0];
    const r = await verifyPeerCertificate(erin, { ca: pemOf(ca.der), crl: both, usage: "clientAuth" });
    assert.equal(r.ok, false);
    assert.match((r as { reason: string }).reason, /^certificate revoked \(serial [0-9A-F]+\)$/);
  },
);

opensslTest("commonNameOfDer() reads the first CN and returns undefined for garbage", async (dir) => {
  await selfSignedCa(dir, "ca", "p256");
  const leaf = await issue(dir, "ca", "frank", { subject: "/O=Example/CN=frank/CN=second" });
  assert.equal(commonNameOfDer(leaf.der), "frank");
  assert.equal(commonNameOfDer(new Uint8Array([0x30, 0x01, 0x00])), undefined);
});
