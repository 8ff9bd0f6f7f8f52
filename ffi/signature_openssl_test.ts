import assert from "node:assert/strict";
import { generateKeyPairSync, sign } from "node:crypto";
import { keptKeyCount, KEY_CACHE_LIMIT, opensslVerify, opensslVerifyUsable } from "./signature_openssl.ts";

const ignore = !opensslVerifyUsable();

function keyPair(type: "ec" | "rsa") {
  const { publicKey, privateKey } = type === "ec"
    ? generateKeyPairSync("ec", { namedCurve: "P-256" })
    : generateKeyPairSync("rsa", { modulusLength: 2048 });
  const spki = new Uint8Array(publicKey.export({ type: "spki", format: "der" }));
  return { spki, privateKey };
}

Deno.test({
  name: "opensslVerify() accepts what node:crypto signed and refuses altered data, signatures and keys",
  ignore,
}, () => {
  const data = new TextEncoder().encode("to be signed: a certificate's tbs bytes");
  for (const type of ["ec", "rsa"] as const) {
    const { spki, privateKey } = keyPair(type);
    const signature = new Uint8Array(sign("sha256", data, privateKey));
    assert.equal(opensslVerify(type, "sha256", spki, data, signature), true, `${type}: genuine`);
    const altered = data.slice();
    altered[3] ^= 1;
    assert.equal(opensslVerify(type, "sha256", spki, altered, signature), false, `${type}: altered data`);
    const badSig = signature.slice();
    badSig[badSig.length - 1] ^= 1;
    assert.equal(opensslVerify(type, "sha256", spki, data, badSig), false, `${type}: altered signature`);
    assert.equal(opensslVerify(type, "sha384", spki, data, signature), false, `${type}: other digest`);
    const other = type === "ec" ? "rsa" : "ec";
    assert.equal(
      opensslVerify(other, "sha256", spki, data, signature),
      false,
      `${type} key used as ${other}`,
    );
    assert.equal(
      opensslVerify(type, "sha256", spki.subarray(0, 20), data, signature),
      false,
      "truncated key",
    );
    assert.equal(opensslVerify(type, "sha256", spki, data, new Uint8Array()), false, "empty signature");
  }
});

Deno.test({ name: "opensslVerify() survives random keys and signatures", ignore }, () => {
  const data = new Uint8Array(64);
  for (let i = 0; i < 2000; i++) {
    const spki = crypto.getRandomValues(new Uint8Array(1 + (i % 200)));
    const signature = crypto.getRandomValues(new Uint8Array(i % 80));
    assert.equal(opensslVerify(i % 2 ? "ec" : "rsa", "sha256", spki, data, signature), false);
  }
});

Deno.test({
  name: "opensslVerify() keeps parsed keys apart by their exact bytes and frees the oldest past the limit",
  ignore,
}, () => {
  const data = new TextEncoder().encode("tbs");
  const pairs = Array.from({ length: KEY_CACHE_LIMIT + 3 }, () => keyPair("ec"));
  const signatures = pairs.map((p) => new Uint8Array(sign("sha256", data, p.privateKey)));
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < pairs.length; i++) {
      const next = (i + 1) % pairs.length;
      assert.equal(opensslVerify("ec", "sha256", pairs[i].spki, data, signatures[i]), true, `key ${i}`);
      assert.equal(
        opensslVerify("ec", "sha256", pairs[next].spki, data, signatures[i]),
        false,
        `key ${next}`,
      );
      assert.ok(keptKeyCount() <= KEY_CACHE_LIMIT);
    }
  }
  // A key that differs in its last byte is another key (or none), never the kept one.
  const altered = pairs[0].spki.slice();
  altered[altered.length - 1] ^= 1;
  assert.equal(opensslVerify("ec", "sha256", altered, data, signatures[0]), false);
  assert.equal(opensslVerify("ec", "sha256", pairs[0].spki, data, signatures[0]), true);
});
