import assert from "node:assert/strict";
import { type Aead, AEAD_TAG_LEN, type CipherName, parseCipherName } from "./aead.ts";
import { NobleAead } from "./aead_noble.ts";
import { NodeAead } from "./aead_node.ts";
import { OpenSslAead } from "./aead_openssl.ts";
import { createAead, defaultAeadBackend } from "./aead_select.ts";
import { WebCryptoAead } from "./aead_webcrypto.ts";
import { fromHex, toHex } from "../testing/data/hex.ts";

interface Vector {
  name: string;
  cipher: CipherName;
  key: string;
  nonce: string;
  aad: string;
  pt: string;
  ct: string;
  tag: string;
}

const GCM_PT = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" +
  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255";

// McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 3, 4, 15, 16.
// RFC 8439 section 2.8.2. "openvpn --test-crypto --verb 9" lines from OpenVPN 2.6.14 (the
// nonce is its printed "ENCRYPT IV", the aad its "ENCRYPT AD", ct and tag cut from "ENCRYPT TO").
const VECTORS: Vector[] = [
  {
    name: "GCM spec test case 3",
    cipher: "AES-128-GCM",
    key: "feffe9928665731c6d6a8f9467308308",
    nonce: "cafebabefacedbaddecaf888",
    aad: "",
    pt: GCM_PT,
    ct: "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e" +
      "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
    tag: "4d5c2af327cd64a62cf35abd2ba6fab4",
  },
  {
    name: "GCM spec test case 4",
    cipher: "AES-128-GCM",
    key: "feffe9928665731c6d6a8f9467308308",
    nonce: "cafebabefacedbaddecaf888",
    aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
    pt: GCM_PT.slice(0, 120),
    ct: "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e" +
      "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
    tag: "5bc94fbc3221a5db94fae95ae7121a47",
  },
  {
    name: "GCM spec test case 15",
    cipher: "AES-256-GCM",
    key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
    nonce: "cafebabefacedbaddecaf888",
    aad: "",
    pt: GCM_PT,
    ct: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" +
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
    tag: "b094dac5d93471bdec1a502270e3cc6c",
  },
  {
    name: "GCM spec test case 16",
    cipher: "AES-256-GCM",
    key: "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
    nonce: "cafebabefacedbaddecaf888",
    aad: "feedfacedeadbeeffeedfacedeadbeefabaddad2",
    pt: GCM_PT.slice(0, 120),
    ct: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" +
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
    tag: "76fc6ece0f4e1768cddf8853bb2d551b",
  },
  {
    name: "RFC 8439 section 2.8.2",
    cipher: "CHACHA20-POLY1305",
    key: "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
    nonce: "070000004041424344454647",
    aad: "50515253c0c1c2c3c4c5c6c7",
    pt: toHex(
      new TextEncoder().encode(
        "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, " +
          "sunscreen would be it.",
      ),
    ),
    ct: "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6" +
      "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" +
      "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" +
      "3ff4def08e4b7a9de576d26586cec64b6116",
    tag: "1ae10b594f09e26a7e902ecbd0600691",
  },
  {
    name: "OpenVPN 2.6.14 test-crypto AES-256-GCM",
    cipher: "AES-256-GCM",
    key: "8dd79bdaf24192760cf1dfdd4e3ea2c4c58258c029d4fcfe74753a2c9dd60ba4",
    nonce: "00000007072be76816596fb6",
    aad: "00000007",
    pt: "d4fadb24585c57",
    ct: "",
    tag: "",
  },
  {
    name: "OpenVPN 2.6.14 test-crypto AES-128-GCM",
    cipher: "AES-128-GCM",
    key: "8dd79bdaf24192760cf1dfdd4e3ea2c4",
    nonce: "0000000746b5bbbee4ff4733",
    aad: "00000007",
    pt: "f871638e68ec9c",
    ct: "",
    tag: "",
  },
  {
    name: "OpenVPN 2.6.14 test-crypto CHACHA20-POLY1305",
    cipher: "CHACHA20-POLY1305",
    key: "8dd79bdaf24192760cf1dfdd4e3ea2c4c58258c029d4fcfe74753a2c9dd60ba4",
    nonce: "00000007f49d1dfafdfe4fb0",
    aad: "00000007",
    pt: "5924056ab62e6a",
    ct: "",
    tag: "",
  },
];

// "ENCRYPT TO" lines: packet-id(4) | tag(16) | ciphertext.
const OPENVPN_WIRE: Record<string, string> = {
  "AES-256-GCM": "0000000770f434ff62c35db35a9d2bc0d70aa0803d3f0defa606a0",
  "AES-128-GCM": "000000072f02204352a064c4c5381ce1255a2fab7ae80a33ae0f5b",
  "CHACHA20-POLY1305": "00000007d3ed028529e7312ee0f9d85eaed9362fddd8cfd88d4c46",
};
for (const v of VECTORS) {
  if (!v.name.startsWith("OpenVPN")) continue;
  const wire = OPENVPN_WIRE[v.cipher];
  v.tag = wire.slice(8, 40);
  v.ct = wire.slice(40);
}

const SYNC_BACKENDS: [string, (c: CipherName, k: Uint8Array) => Aead][] = [
  ["node", (c, k) => new NodeAead(c, k)],
  ["noble", (c, k) => new NobleAead(c, k)],
  ["openssl", (c, k) => new OpenSslAead(c, k)],
];

/** Lays a vector out as on the wire: [aad][tag][data] with some slack around. */
function layout(v: Vector): { buf: Uint8Array; aadOff: number; tagOff: number; off: number; len: number } {
  const aad = fromHex(v.aad);
  const pt = fromHex(v.pt);
  const aadOff = 3;
  const tagOff = aadOff + aad.length;
  const off = tagOff + AEAD_TAG_LEN;
  const buf = new Uint8Array(off + pt.length + 5).fill(0xee);
  buf.set(aad, aadOff);
  buf.set(pt, off);
  return { buf, aadOff, tagOff, off, len: pt.length };
}

for (const [backend, make] of SYNC_BACKENDS) {
  for (const v of VECTORS) {
    Deno.test(`${backend} Aead.seal() reproduces the ${v.name} vector`, () => {
      const aead = make(v.cipher, fromHex(v.key));
      const { buf, aadOff, tagOff, off, len } = layout(v);
      const aadLen = v.aad.length / 2;
      aead.seal(fromHex(v.nonce), buf, aadOff, aadLen, off, len, tagOff);
      assert.equal(toHex(buf.subarray(off, off + len)), v.ct);
      assert.equal(toHex(buf.subarray(tagOff, tagOff + AEAD_TAG_LEN)), v.tag);
      assert.equal(buf[off + len], 0xee, "no write past the data");
      assert.equal(buf[aadOff - 1], 0xee, "no write before the aad");
    });

    Deno.test(`${backend} Aead.open() recovers the ${v.name} plaintext and rejects a flipped tag`, () => {
      const aead = make(v.cipher, fromHex(v.key));
      const { buf, aadOff, tagOff, off, len } = layout(v);
      const aadLen = v.aad.length / 2;
      buf.set(fromHex(v.ct), off);
      buf.set(fromHex(v.tag), tagOff);
      const forged = buf.slice();
      forged[tagOff + 5] ^= 0x01;
      const before = forged.slice();
      assert.equal(aead.open(fromHex(v.nonce), forged, aadOff, aadLen, off, len, tagOff), false);
      assert.deepEqual(forged, before, "a failed open leaves the buffer untouched");
      assert.equal(aead.open(fromHex(v.nonce), buf, aadOff, aadLen, off, len, tagOff), true);
      assert.equal(toHex(buf.subarray(off, off + len)), v.pt);
    });
  }
}

for (const v of VECTORS) {
  if (v.cipher === "CHACHA20-POLY1305") continue;
  Deno.test(`WebCryptoAead.seal() and open() agree with the ${v.name} vector`, async () => {
    const aead = await WebCryptoAead.create(v.cipher, fromHex(v.key));
    const { buf, aadOff, tagOff, off, len } = layout(v);
    const aadLen = v.aad.length / 2;
    await aead.seal(fromHex(v.nonce), buf, aadOff, aadLen, off, len, tagOff);
    assert.equal(toHex(buf.subarray(off, off + len)), v.ct);
    assert.equal(toHex(buf.subarray(tagOff, tagOff + AEAD_TAG_LEN)), v.tag);
    assert.equal(await aead.open(fromHex(v.nonce), buf, aadOff, aadLen, off, len, tagOff), true);
    assert.equal(toHex(buf.subarray(off, off + len)), v.pt);
    buf[aadOff] ^= aadLen > 0 ? 1 : 0;
    buf[tagOff] ^= aadLen > 0 ? 0 : 1;
    assert.equal(await aead.open(fromHex(v.nonce), buf, aadOff, aadLen, off, len, tagOff), false);
  });
}

Deno.test("WebCryptoAead.create() refuses CHACHA20-POLY1305", async () => {
  await assert.rejects(() => WebCryptoAead.create("CHACHA20-POLY1305", new Uint8Array(32)), TypeError);
});

Deno.test("Aead backends produce byte-identical output for random keys, nonces and lengths", async () => {
  let seed = 12345;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  const fill = (n: number) => Uint8Array.from({ length: n }, rnd);
  for (const cipher of ["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"] as const) {
    for (const len of [1, 15, 16, 17, 63, 64, 255, 1400, 1500, 9000]) {
      const key = fill(cipher === "AES-128-GCM" ? 16 : 32);
      const nonce = fill(12);
      const wire = fill(8 + 16 + len);
      const outs: string[] = [];
      for (const [, make] of SYNC_BACKENDS) {
        const buf = wire.slice();
        make(cipher, key).seal(nonce, buf, 0, 8, 24, len, 8);
        outs.push(toHex(buf));
      }
      if (cipher !== "CHACHA20-POLY1305") {
        const buf = wire.slice();
        await (await WebCryptoAead.create(cipher, key)).seal(nonce, buf, 0, 8, 24, len, 8);
        outs.push(toHex(buf));
      }
      for (const o of outs) assert.equal(o, outs[0], `${cipher} len ${len}`);
      // Every backend opens every other backend's output.
      for (const [name, make] of SYNC_BACKENDS) {
        const buf = fromHex(outs[0]);
        assert.equal(make(cipher, key).open(nonce, buf, 0, 8, 24, len, 8), true, name);
        assert.deepEqual(buf.subarray(24), wire.subarray(24));
      }
    }
  }
});

Deno.test("Aead.seal() handles an empty plaintext (tag only) on every backend", () => {
  for (const [, make] of SYNC_BACKENDS) {
    const aead = make("CHACHA20-POLY1305", new Uint8Array(32).fill(1));
    const buf = new Uint8Array(24);
    aead.seal(new Uint8Array(12), buf, 0, 8, 24, 0, 8);
    assert.notDeepEqual(buf.subarray(8, 24), new Uint8Array(16));
    assert.equal(aead.open(new Uint8Array(12), buf, 0, 8, 24, 0, 8), true);
  }
});

Deno.test("Aead constructors reject a key of the wrong length", () => {
  for (const [, make] of SYNC_BACKENDS) {
    assert.throws(() => make("AES-256-GCM", new Uint8Array(16)), RangeError);
    assert.throws(() => make("AES-128-GCM", new Uint8Array(32)), RangeError);
  }
});

Deno.test("Aead.seal() rejects a tag range that overlaps the data", () => {
  const aead = new NodeAead("AES-128-GCM", new Uint8Array(16));
  assert.throws(() => aead.seal(new Uint8Array(12), new Uint8Array(64), 0, 8, 16, 20, 8), RangeError);
});

Deno.test("createAead() defaults to the openssl backend when libcrypto loads and honours an explicit choice", () => {
  assert.equal(createAead("AES-256-GCM", new Uint8Array(32)).backend, "openssl");
  assert.equal(createAead("CHACHA20-POLY1305", new Uint8Array(32), "noble").backend, "noble");
  assert.equal(createAead("AES-128-GCM", new Uint8Array(16), "node").backend, "node");
  assert.equal(defaultAeadBackend("AES-128-GCM"), "openssl");
});

Deno.test("parseCipherName() accepts OpenVPN spellings case-insensitively", () => {
  assert.equal(parseCipherName("aes-256-gcm"), "AES-256-GCM");
  assert.equal(parseCipherName(" ChaCha20-Poly1305 "), "CHACHA20-POLY1305");
  assert.equal(parseCipherName("AES-256-CBC"), null);
});
