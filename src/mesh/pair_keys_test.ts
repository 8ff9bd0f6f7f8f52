import assert from "node:assert/strict";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { CIPHER_NAMES, type CipherName } from "../data/aead.ts";
import { fromHex, toHex } from "../testing/data/hex.ts";
import {
  derivePairKeys,
  generateMeshKeyPair,
  type MeshKeyPair,
  pairKdfInfo,
  PairKeyError,
  pairKeyId,
  sharedSecret,
} from "./pair_keys.ts";
import { seededBytes } from "../testing/mesh/random.ts";
import { testPairKeys } from "../testing/mesh/keys.ts";

function fixedPair(hex: string, epoch = 1): MeshKeyPair {
  return generateMeshKeyPair(epoch, () => fromHex(hex));
}

// RFC 7748 section 6.1.
const ALICE = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
const BOB = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";

Deno.test("generateMeshKeyPair() and sharedSecret() reproduce RFC 7748's X25519 vector", () => {
  const a = fixedPair(ALICE);
  const b = fixedPair(BOB);
  assert.equal(toHex(a.publicKey), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  assert.equal(toHex(b.publicKey), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const k = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  assert.equal(toHex(sharedSecret(a, b.publicKey)), k);
  assert.equal(toHex(sharedSecret(b, a.publicKey)), k);
});

Deno.test("derivePairKeys() gives each side the other's send key as its receive key, for every cipher", () => {
  for (const cipher of CIPHER_NAMES) {
    const { aliceKeys: ka, bobKeys: kb } = testPairKeys(cipher, 1, 2, 7);
    const len = cipher === "AES-128-GCM" ? 16 : 32;
    assert.equal(ka.encrypt.key.length, len);
    assert.equal(ka.encrypt.implicitIv.length, 8);
    assert.deepEqual(ka.encrypt, kb.decrypt);
    assert.deepEqual(ka.decrypt, kb.encrypt);
    assert.notDeepEqual(ka.encrypt.key, ka.decrypt.key);
    assert.equal(ka.cipher, cipher);
  }
});

Deno.test("derivePairKeys() is HKDF-SHA256 over the documented salt and info (cross-checked with @noble/hashes)", () => {
  const a = fixedPair(ALICE);
  const b = fixedPair(BOB);
  // Bob's public key (de9e...) sorts after Alice's (8520...): Alice is "lo".
  const cipher: CipherName = "AES-128-GCM";
  const salt = new Uint8Array([...a.publicKey, ...b.publicKey]);
  const info = new TextEncoder().encode("tsvpn mesh v1\0AES-128-GCM\0alice\0bob");
  assert.deepEqual(pairKdfInfo(cipher, ["alice", "bob"]), info);
  const okm = hkdf(sha256, sharedSecret(a, b.publicKey), salt, info, 48);
  const ka = derivePairKeys({
    own: a,
    ownName: "alice",
    peerPublicKey: b.publicKey,
    peerName: "bob",
    cipher,
  });
  assert.equal(toHex(ka.encrypt.key), toHex(okm.subarray(0, 16)));
  assert.equal(toHex(ka.encrypt.implicitIv), toHex(okm.subarray(16, 24)));
  assert.equal(toHex(ka.decrypt.key), toHex(okm.subarray(24, 40)));
  assert.equal(toHex(ka.decrypt.implicitIv), toHex(okm.subarray(40, 48)));
});

Deno.test("derivePairKeys() binds both names and the cipher: changing any one changes every key", () => {
  const a = generateMeshKeyPair(1, seededBytes(3));
  const b = generateMeshKeyPair(1, seededBytes(4));
  const base = { own: a, ownName: "alice", peerPublicKey: b.publicKey, peerName: "bob" };
  const ref = derivePairKeys({ ...base, cipher: "AES-256-GCM" });
  for (
    const other of [
      derivePairKeys({ ...base, cipher: "CHACHA20-POLY1305" }),
      derivePairKeys({ ...base, ownName: "mallory", cipher: "AES-256-GCM" }),
      derivePairKeys({ ...base, peerName: "bob2", cipher: "AES-256-GCM" }),
      derivePairKeys({ ...base, ownName: "bob", peerName: "alice", cipher: "AES-256-GCM" }),
    ]
  ) {
    assert.notDeepEqual(other.encrypt.key, ref.encrypt.key);
    assert.notDeepEqual(other.decrypt.key, ref.decrypt.key);
  }
});

// Every u coordinate of small order, and the non-canonical encodings of 0 and 1 (p, p + 1).
const LOW_ORDER = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
];

Deno.test("derivePairKeys() refuses low-order peer keys (no shared secret) with a PairKeyError", () => {
  const a = generateMeshKeyPair(1, seededBytes(5));
  for (const hex of LOW_ORDER) {
    assert.throws(
      () =>
        derivePairKeys({
          own: a,
          ownName: "a",
          peerPublicKey: fromHex(hex),
          peerName: "b",
          cipher: "AES-256-GCM",
        }),
      (e: Error) => e instanceof PairKeyError && /low-order/.test(e.message),
      hex,
    );
  }
});

Deno.test("derivePairKeys() refuses our own public key, a short key and unmeshable names", () => {
  const a = generateMeshKeyPair(1, seededBytes(6));
  const b = generateMeshKeyPair(1, seededBytes(7));
  const cases = [
    { own: a, ownName: "a", peerPublicKey: a.publicKey, peerName: "b" },
    { own: a, ownName: "a", peerPublicKey: b.publicKey.subarray(1), peerName: "b" },
    { own: a, ownName: "a b", peerPublicKey: b.publicKey, peerName: "b" },
    { own: a, ownName: "a", peerPublicKey: b.publicKey, peerName: "" },
  ];
  for (const c of cases) assert.throws(() => derivePairKeys({ ...c, cipher: "AES-256-GCM" }), PairKeyError);
});

Deno.test("generateMeshKeyPair() takes its randomness from the injected source", () => {
  const x = generateMeshKeyPair(2, seededBytes(9));
  const y = generateMeshKeyPair(2, seededBytes(9));
  assert.deepEqual(x.publicKey, y.publicKey);
  assert.notDeepEqual(generateMeshKeyPair(2, seededBytes(10)).publicKey, x.publicKey);
  assert.throws(() => generateMeshKeyPair(0, seededBytes(1)), RangeError);
  assert.throws(() => generateMeshKeyPair(1, () => new Uint8Array(31)), RangeError);
});

Deno.test("pairKeyId() is the same on both sides and moves with each side's epoch", () => {
  assert.equal(pairKeyId(3, 9), pairKeyId(9, 3));
  assert.notEqual(pairKeyId(4, 9), pairKeyId(3, 9));
  assert.notEqual(pairKeyId(3, 10), pairKeyId(3, 9));
  assert.equal(pairKeyId(0xffffffff, 1), 0);
});
