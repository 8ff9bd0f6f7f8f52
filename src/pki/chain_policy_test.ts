import assert from "node:assert/strict";
import { issue, selfSignedCa } from "../testing/pki/certs.ts";
import { opensslTest } from "../testing/pki/openssl.ts";
import {
  extensionDer,
  opensslVerdict,
  pemOf,
  selfSigned,
  SUB_CA,
  verdict,
  withExtraExtensions,
} from "../testing/pki/policy.ts";
import { verifyPeerCertificate } from "./verify.ts";

const LEAF = ["basicConstraints=CA:FALSE", "keyUsage=digitalSignature", "extendedKeyUsage=clientAuth"];

const CA_KU = "keyUsage=critical,keyCertSign,cRLSign";

opensslTest("verifyPeerCertificate() refuses a chain longer than a pathLenConstraint allows", async (dir) => {
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
  assert.equal(await opensslVerdict(dir, { anchor: "Root0", untrusted: ["Sub0"] }, "below-sub0"), exceeded);
  assert.equal(
    await opensslVerdict(dir, { anchor: "Root1", untrusted: ["SubA", "SubB"] }, "leaf-b"),
    exceeded,
  );
  assert.equal(await opensslVerdict(dir, { anchor: "Root1", untrusted: ["SubA"] }, "leaf-a"), "ok");
});

opensslTest(
  "verifyPeerCertificate() refuses unsupported critical extensions anywhere in the chain",
  async (dir) => {
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
      await opensslVerdict(dir, { anchor: "Root" }, "unknown-critical"),
      "unhandled critical extension",
    );

    // On an intermediate CA, the peer sent it or the bundle holds it.
    const sub = await issue(dir, "Root", "Sub", { ext: [...SUB_CA, "1.2.3.4=critical,DER:05:00"] });
    const leaf = await issue(dir, "Sub", "below-sub");
    const refused = "CA certificate Sub has an unsupported critical extension 1.2.3.4";
    assert.equal(await verdict(leaf.der, { ca, intermediates: [sub.der] }), refused);
    assert.equal(await verdict(leaf.der, { ca: pemOf(sub.der) + ca }), refused);
    assert.equal(
      await opensslVerdict(dir, { anchor: "Root", untrusted: ["Sub"] }, "below-sub"),
      "unhandled critical extension",
    );
  },
);

opensslTest(
  "verifyPeerCertificate() refuses a duplicated or malformed extension in a validly signed certificate",
  async (dir) => {
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
    // A second keyUsage (keyEncipherment only) after the first: the canonical reader refuses it
    // first (certificate.ts), before the chain policy's own duplicate check (extensions.ts) runs.
    assert.equal(
      await verdict(resigned([extensionDer(OID_KU, false, Uint8Array.of(3, 2, 5, 0x20))]), { ca }),
      "certificate could not be parsed: not a canonical DER certificate (extension 2.5.29.15 appears twice)",
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
  },
);

opensslTest(
  "verifyPeerCertificate() refuses a peer certificate that is a CA or whose key usage lacks digitalSignature",
  async (dir) => {
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
  },
);
