import assert from "node:assert/strict";
import { issue, selfSignedCa } from "./testing_certs.ts";
import { noOpenssl, openssl } from "./testing_openssl.ts";
import { crlWith, extensionDer, pemOf, pemOfCrl, selfSigned, withExtraExtensions } from "./testing_policy.ts";
import { verifyPeerCertificate, type VerifyPeerOptions } from "./verify.ts";

const SUB_CA = ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"];
const LEAF = ["basicConstraints=CA:FALSE", "keyUsage=digitalSignature", "extendedKeyUsage=clientAuth"];

async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn_policy_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The refusal reason, or "ok". */
async function verdict(der: Uint8Array, o: Omit<VerifyPeerOptions, "usage">): Promise<string> {
  const r = await verifyPeerCertificate(der, { usage: "clientAuth", ...o });
  return r.ok ? "ok" : r.reason;
}

/** What `openssl verify` (with -crl_check_all when CRLs are given) says: "ok" or its error line. */
async function opensslVerdict(
  dir: string,
  files: { ca: string[]; untrusted?: string[]; crl?: string[] },
  leaf: string,
) {
  const args = ["verify", "-CAfile", `${dir}/${files.ca[0]}.crt`];
  if (files.ca.length > 1) throw new Error("one trust anchor file");
  for (const u of files.untrusted ?? []) args.push("-untrusted", `${dir}/${u}.crt`);
  if (files.crl) {
    const pem = files.crl.join("");
    await Deno.writeTextFile(`${dir}/check-crl.pem`, pem);
    args.push("-crl_check_all", "-CRLfile", `${dir}/check-crl.pem`);
  }
  args.push(`${dir}/${leaf}.crt`);
  const r = await openssl(args, dir);
  return r.ok ? "ok" : (r.out.match(/error \d+ at \d+ depth lookup: (.*)/)?.[1] ?? r.out);
}

Deno.test(
  "verifyPeerCertificate() refuses a CRL past its nextUpdate or before its thisUpdate, naming the date",
  {
    ignore: noOpenssl,
  },
  async () => {
    await inTempDir(async (dir) => {
      const root = await selfSignedCa(dir, "Root", "p256");
      const leaf = await issue(dir, "Root", "alice", { days: 400 });
      const ca = pemOf(root.der);
      const current = pemOfCrl(await crlWith(dir, "Root"));
      assert.equal(await verdict(leaf.der, { ca, crl: current }), "ok");
      const expired = pemOfCrl(
        await crlWith(dir, "Root", { lastUpdate: "20200101000000Z", nextUpdate: "20200201000000Z" }),
      );
      assert.equal(
        await verdict(leaf.der, { ca, crl: expired }),
        "CRL from Root has expired (nextUpdate 2020-02-01T00:00:00Z)",
      );
      const early = await crlWith(dir, "Root", {
        lastUpdate: "20350101000000Z",
        nextUpdate: "20350201000000Z",
      });
      assert.equal(
        await verdict(leaf.der, { ca, crl: pemOfCrl(early) }),
        "CRL from Root is not yet valid (thisUpdate 2035-01-01T00:00:00Z)",
      );
      // The same current CRL, 31 days on (default_crl_days is 30): the verifier's clock decides.
      const later = new Date(Date.now() + 31 * 86_400_000);
      assert.match(
        await verdict(leaf.der, { ca, crl: current, now: later }),
        /^CRL from Root has expired \(nextUpdate /,
      );
      // OpenSSL agrees on both.
      assert.equal(
        await opensslVerdict(dir, { ca: ["Root"], crl: [expired] }, "alice"),
        "CRL has expired",
      );
      assert.equal(await opensslVerdict(dir, { ca: ["Root"], crl: [current] }, "alice"), "ok");
    });
  },
);

Deno.test("verifyPeerCertificate() refuses a CRL whose issuer's key usage lacks cRLSign", {
  ignore: noOpenssl,
}, async () => {
  await inTempDir(async (dir) => {
    const cases: [string, string[], string][] = [
      [
        "NoCrlSign",
        ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign"],
        "CRL from NoCrlSign: its issuer's key usage lacks cRLSign",
      ],
      ["WithCrlSign", ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"], "ok"],
      // Without a key usage extension a CA may sign anything, as in OpenSSL.
      ["NoKeyUsage", ["basicConstraints=critical,CA:TRUE"], "ok"],
    ];
    for (const [name, ext, expected] of cases) {
      const root = await selfSigned(dir, name, ext);
      const leaf = await issue(dir, name, `leaf-${name}`);
      const crl = pemOfCrl(await crlWith(dir, name));
      assert.equal(await verdict(leaf.der, { ca: pemOf(root.der), crl }), expected, name);
      const ossl = await opensslVerdict(dir, { ca: [name], crl: [crl] }, `leaf-${name}`);
      assert.equal(ossl === "ok", expected === "ok", `${name}: openssl says ${ossl}`);
    }
  });
});

Deno.test("verifyPeerCertificate() checks every CA of the chain against its issuer's CRL", {
  ignore: noOpenssl,
}, async () => {
  await inTempDir(async (dir) => {
    const root = await selfSignedCa(dir, "Root", "p256");
    const sub = await issue(dir, "Root", "Sub", { ext: SUB_CA });
    const leaf = await issue(dir, "Sub", "dave");
    const erin = await issue(dir, "Sub", "erin");
    const subCrl = pemOfCrl(await crlWith(dir, "Sub", { revoked: ["erin"] }));
    const rootClean = pemOfCrl(await crlWith(dir, "Root"));
    const rootRevokingSub = pemOfCrl(await crlWith(dir, "Root", { revoked: ["Sub"] }));
    const subSerial = (await openssl(["x509", "-in", "Sub.crt", "-noout", "-serial"], dir)).out.trim().slice(
      7,
    );
    for (const placement of ["sent by the peer", "in the bundle"]) {
      const o = placement === "in the bundle"
        ? { ca: pemOf(sub.der) + pemOf(root.der) }
        : { ca: pemOf(root.der), intermediates: [sub.der] };
      assert.equal(await verdict(leaf.der, { ...o, crl: subCrl + rootClean }), "ok", placement);
      assert.equal(
        await verdict(leaf.der, { ...o, crl: subCrl + rootRevokingSub }),
        `CA certificate Sub revoked (serial ${subSerial})`,
        placement,
      );
      assert.equal(
        await verdict(leaf.der, { ...o, crl: subCrl }),
        "no CRL from Root, the issuer of CA certificate Sub",
        placement,
      );
    }
    assert.match(
      await verdict(erin.der, {
        ca: pemOf(root.der),
        intermediates: [sub.der],
        crl: subCrl + rootClean,
      }),
      /^certificate revoked \(serial [0-9A-F]+\)$/,
    );
    assert.equal(
      await opensslVerdict(dir, { ca: ["Root"], untrusted: ["Sub"], crl: [subCrl, rootRevokingSub] }, "dave"),
      "certificate revoked",
    );
    assert.equal(
      await opensslVerdict(dir, { ca: ["Root"], untrusted: ["Sub"], crl: [subCrl] }, "dave"),
      "unable to get certificate CRL",
    );
    assert.equal(
      await opensslVerdict(dir, { ca: ["Root"], untrusted: ["Sub"], crl: [subCrl, rootClean] }, "dave"),
      "ok",
    );
  });
});

const CA_KU = "keyUsage=critical,keyCertSign,cRLSign";

Deno.test("verifyPeerCertificate() refuses a chain longer than a pathLenConstraint allows", {
  ignore: noOpenssl,
}, async () => {
  await inTempDir(async (dir) => {
    const root0 = await selfSigned(dir, "Root0", ["basicConstraints=critical,CA:TRUE,pathlen:0", CA_KU]);
    const sub0 = await issue(dir, "Root0", "Sub0", { ext: SUB_CA });
    const belowSub0 = await issue(dir, "Sub0", "below-sub0");
    const direct = await issue(dir, "Root0", "direct");
    const ca0 = pemOf(root0.der);
    const tooLong0 =
      "CA certificate Root0 allows 0 intermediate CA(s) below it (pathLenConstraint), the chain has 1";
    assert.equal(await verdict(direct.der, { ca: ca0 }), "ok");
    assert.equal(await verdict(belowSub0.der, { ca: ca0, intermediates: [sub0.der] }), tooLong0);
    assert.equal(await verdict(belowSub0.der, { ca: pemOf(sub0.der) + ca0 }), tooLong0);

    // Root1 (pathlen 1) → SubA (pathlen 0) → SubB → leaf-b: SubA's limit is the one broken.
    const root1 = await selfSigned(dir, "Root1", ["basicConstraints=critical,CA:TRUE,pathlen:1", CA_KU]);
    const subA = await issue(dir, "Root1", "SubA", {
      ext: ["basicConstraints=critical,CA:TRUE,pathlen:0", CA_KU],
    });
    const subB = await issue(dir, "SubA", "SubB", { ext: SUB_CA });
    const leafA = await issue(dir, "SubA", "leaf-a");
    const leafB = await issue(dir, "SubB", "leaf-b");
    const ca1 = pemOf(root1.der);
    assert.equal(await verdict(leafA.der, { ca: ca1, intermediates: [subA.der] }), "ok");
    assert.equal(
      await verdict(leafB.der, { ca: ca1, intermediates: [subB.der, subA.der] }),
      "CA certificate SubA allows 0 intermediate CA(s) below it (pathLenConstraint), the chain has 1",
    );

    const exceeded = "path length constraint exceeded";
    assert.equal(await opensslVerdict(dir, { ca: ["Root0"], untrusted: ["Sub0"] }, "below-sub0"), exceeded);
    assert.equal(
      await opensslVerdict(dir, { ca: ["Root1"], untrusted: ["SubA", "SubB"] }, "leaf-b"),
      exceeded,
    );
    assert.equal(await opensslVerdict(dir, { ca: ["Root1"], untrusted: ["SubA"] }, "leaf-a"), "ok");
  });
});

Deno.test("verifyPeerCertificate() refuses unsupported critical extensions anywhere in the chain", {
  ignore: noOpenssl,
}, async () => {
  await inTempDir(async (dir) => {
    const root = await selfSignedCa(dir, "Root", "p256");
    const ca = pemOf(root.der);
    const cases: [string, string[], string][] = [
      [
        "unknown-critical",
        [...LEAF, "1.2.3.4=critical,DER:05:00"],
        "certificate has an unsupported critical extension 1.2.3.4",
      ],
      ["unknown-plain", [...LEAF, "1.2.3.4=DER:05:00"], "ok"],
      [
        "policies-critical",
        [...LEAF, "certificatePolicies=critical,1.2.3.5"],
        "certificate has an unsupported critical extension certificatePolicies (2.5.29.32)",
      ],
      [
        "known-critical",
        [
          "basicConstraints=critical,CA:FALSE",
          "keyUsage=critical,digitalSignature",
          "extendedKeyUsage=critical,clientAuth",
          "subjectAltName=critical,DNS:vpn.example.com",
        ],
        "ok",
      ],
    ];
    for (const [name, ext, expected] of cases) {
      const leaf = await issue(dir, "Root", name, { ext });
      assert.equal(await verdict(leaf.der, { ca }), expected, name);
    }
    assert.equal(
      await opensslVerdict(dir, { ca: ["Root"] }, "unknown-critical"),
      "unhandled critical extension",
    );

    // On an intermediate CA, the peer sent it or the bundle holds it.
    const sub = await issue(dir, "Root", "Sub", { ext: [...SUB_CA, "1.2.3.4=critical,DER:05:00"] });
    const leaf = await issue(dir, "Sub", "below-sub");
    const refused = "CA certificate Sub has an unsupported critical extension 1.2.3.4";
    assert.equal(await verdict(leaf.der, { ca, intermediates: [sub.der] }), refused);
    assert.equal(await verdict(leaf.der, { ca: pemOf(sub.der) + ca }), refused);
    assert.equal(
      await opensslVerdict(dir, { ca: ["Root"], untrusted: ["Sub"] }, "below-sub"),
      "unhandled critical extension",
    );
  });
});

Deno.test(
  "verifyPeerCertificate() refuses a duplicated or malformed extension in a validly signed certificate",
  {
    ignore: noOpenssl,
  },
  async () => {
    await inTempDir(async (dir) => {
      const root = await selfSignedCa(dir, "Root", "p256");
      const ca = pemOf(root.der);
      const key = await Deno.readTextFile(`${dir}/Root.key`);
      const plain = await issue(dir, "Root", "plain", {
        ext: ["keyUsage=digitalSignature", "extendedKeyUsage=clientAuth"],
      });
      const OID_KU = [0x06, 0x03, 0x55, 0x1d, 0x0f];
      const OID_SAN = [0x06, 0x03, 0x55, 0x1d, 0x11];
      const OID_BC = [0x06, 0x03, 0x55, 0x1d, 0x13];
      const OID_UNKNOWN = [0x06, 0x03, 0x2a, 0x03, 0x04];
      const resigned = (ext: Uint8Array[]) => withExtraExtensions(plain.der, ext, key);
      // Control: re-signing with a harmless extra extension keeps the certificate acceptable.
      assert.equal(
        await verdict(resigned([extensionDer(OID_UNKNOWN, false, Uint8Array.of(5, 0))]), { ca }),
        "ok",
      );
      // A second keyUsage (keyEncipherment only) after the first.
      assert.equal(
        await verdict(resigned([extensionDer(OID_KU, false, Uint8Array.of(3, 2, 5, 0x20))]), { ca }),
        "certificate has a duplicate extension keyUsage (2.5.29.15)",
      );
      // A subjectAltName holding a GeneralName tag that does not exist ([9]).
      assert.equal(
        await verdict(resigned([extensionDer(OID_SAN, false, Uint8Array.of(0x30, 3, 0x89, 1, 0))]), { ca }),
        "certificate has a malformed subjectAltName (2.5.29.17) extension: malformed GeneralName (tag 0x89)",
      );
      // pathLenConstraint on a certificate that is not a CA (OpenSSL marks such a certificate invalid).
      assert.equal(
        await verdict(resigned([extensionDer(OID_BC, false, Uint8Array.of(0x30, 3, 2, 1, 0))]), { ca }),
        "certificate has a pathLenConstraint without CA:TRUE",
      );
    });
  },
);

Deno.test(
  "verifyPeerCertificate() refuses a peer certificate that is a CA or whose key usage lacks digitalSignature",
  {
    ignore: noOpenssl,
  },
  async () => {
    await inTempDir(async (dir) => {
      const root = await selfSignedCa(dir, "Root", "p256");
      const ca = pemOf(root.der);
      const cases: [string, string[], string][] = [
        [
          "ca-leaf",
          [
            "basicConstraints=critical,CA:TRUE",
            "keyUsage=digitalSignature,keyCertSign",
            "extendedKeyUsage=clientAuth",
          ],
          "certificate is a CA certificate (basicConstraints CA:TRUE)",
        ],
        [
          "encipher-only",
          ["basicConstraints=CA:FALSE", "keyUsage=keyEncipherment", "extendedKeyUsage=clientAuth"],
          "certificate key usage lacks digitalSignature",
        ],
        ["easy-rsa-client", LEAF, "ok"],
        [
          "no-basic-constraints",
          ["keyUsage=digitalSignature,keyAgreement", "extendedKeyUsage=clientAuth"],
          "ok",
        ],
      ];
      for (const [name, ext, expected] of cases) {
        const leaf = await issue(dir, "Root", name, { ext });
        assert.equal(await verdict(leaf.der, { ca }), expected, name);
      }
      const server = await issue(dir, "Root", "server", {
        ext: ["basicConstraints=CA:FALSE", "keyUsage=keyEncipherment", "extendedKeyUsage=serverAuth"],
      });
      const r = await verifyPeerCertificate(server.der, { ca, usage: "serverAuth" });
      assert.deepEqual(r, { ok: false, reason: "certificate key usage lacks digitalSignature" });
    });
  },
);

Deno.test(
  "verifyPeerCertificate() refuses a CRL with a critical extension, which could narrow what it covers",
  {
    ignore: noOpenssl,
  },
  async () => {
    await inTempDir(async (dir) => {
      const root = await selfSignedCa(dir, "Root", "p256");
      const leaf = await issue(dir, "Root", "alice");
      const ca = pemOf(root.der);
      const cases: [string[], string][] = [
        [["1.2.3.4=DER:05:00"], "ok"],
        [["1.2.3.4=critical,DER:05:00"], "CRL from Root has an unsupported critical CRL extension 1.2.3.4"],
        [
          ["issuingDistributionPoint=critical,@idp", "[ idp ]", "onlyuser=TRUE"],
          "CRL from Root has an unsupported critical CRL extension issuingDistributionPoint (2.5.29.28)",
        ],
      ];
      for (const [ext, expected] of cases) {
        const crl = pemOfCrl(await crlWith(dir, "Root", { ext }));
        assert.equal(await verdict(leaf.der, { ca, crl }), expected, ext[0]);
      }
      const unknown = pemOfCrl(await crlWith(dir, "Root", { ext: ["1.2.3.4=critical,DER:05:00"] }));
      assert.equal(
        await opensslVerdict(dir, { ca: ["Root"], crl: [unknown] }, "alice"),
        "unhandled critical CRL extension",
      );
    });
  },
);
