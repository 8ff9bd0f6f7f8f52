import assert from "node:assert/strict";
import { issue, selfSignedCa } from "../testing/pki/certs.ts";
import { openssl, opensslTest } from "../testing/pki/openssl.ts";
import {
  crlWith,
  opensslVerdict,
  pemOf,
  pemOfCrl,
  selfSigned,
  SUB_CA,
  verdict,
} from "../testing/pki/policy.ts";

opensslTest(
  "verifyPeerCertificate() refuses a CRL past its nextUpdate or before its thisUpdate, naming the date",
  async (dir) => {
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
      await opensslVerdict(dir, { anchor: "Root", crl: [expired] }, "alice"),
      "CRL has expired",
    );
    assert.equal(await opensslVerdict(dir, { anchor: "Root", crl: [current] }, "alice"), "ok");
  },
);

opensslTest("verifyPeerCertificate() refuses a CRL whose issuer's key usage lacks cRLSign", async (dir) => {
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
    const ossl = await opensslVerdict(dir, { anchor: name, crl: [crl] }, `leaf-${name}`);
    assert.equal(ossl === "ok", expected === "ok", `${name}: openssl says ${ossl}`);
  }
});

opensslTest("verifyPeerCertificate() checks every CA of the chain against its issuer's CRL", async (dir) => {
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
    await opensslVerdict(
      dir,
      { anchor: "Root", untrusted: ["Sub"], crl: [subCrl, rootRevokingSub] },
      "dave",
    ),
    "certificate revoked",
  );
  assert.equal(
    await opensslVerdict(dir, { anchor: "Root", untrusted: ["Sub"], crl: [subCrl] }, "dave"),
    "unable to get certificate CRL",
  );
  assert.equal(
    await opensslVerdict(dir, { anchor: "Root", untrusted: ["Sub"], crl: [subCrl, rootClean] }, "dave"),
    "ok",
  );
});

opensslTest(
  "verifyPeerCertificate() refuses a CRL with a critical extension, which could narrow what it covers",
  async (dir) => {
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
      await opensslVerdict(dir, { anchor: "Root", crl: [unknown] }, "alice"),
      "unhandled critical CRL extension",
    );
  },
);
