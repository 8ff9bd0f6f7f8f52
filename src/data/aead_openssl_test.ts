import assert from "node:assert/strict";
import { runHeapProbe } from "../testing/heap_probe.ts";
import type { CipherName } from "./aead.ts";
import { NobleAead } from "./aead_noble.ts";
import { OpenSslAead } from "./aead_openssl.ts";
import { toHex } from "../testing/data/hex.ts";

const CIPHERS: CipherName[] = ["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"];

let seed = 977;
function fill(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  return out;
}

function keyFor(cipher: CipherName): Uint8Array {
  return fill(cipher === "AES-128-GCM" ? 16 : 32);
}

Deno.test("OpenSslAead.seal() matches noble at every offset layout a slot ring uses", () => {
  for (const cipher of CIPHERS) {
    const key = keyFor(cipher);
    const ours = new OpenSslAead(cipher, key);
    const ref = new NobleAead(cipher, key);
    // One buffer sealed at many header positions and lengths: the view cache
    // must hand OpenSSL the right address every time.
    const a = new Uint8Array(2000);
    const b = new Uint8Array(2000);
    for (let h = 0; h < 40; h += 3) {
      for (const len of [1, 16, 100, 1400]) {
        const nonce = fill(12);
        const plain = fill(len);
        a.set(fill(24), h);
        b.set(a.subarray(h, h + 24), h);
        a.set(plain, h + 24);
        b.set(plain, h + 24);
        ours.seal(nonce, a, h, 8, h + 24, len, h + 8);
        ref.seal(nonce, b, h, 8, h + 24, len, h + 8);
        assert.equal(
          toHex(a.subarray(h, h + 24 + len)),
          toHex(b.subarray(h, h + 24 + len)),
          `${cipher} ${h} ${len}`,
        );
        assert.equal(ours.open(nonce, a, h, 8, h + 24, len, h + 8), true);
        assert.deepEqual(a.subarray(h + 24, h + 24 + len), plain);
      }
    }
  }
});

Deno.test("OpenSslAead.open() rejects a flipped bit in the aad, tag or ciphertext and leaves the buffer untouched", () => {
  for (const cipher of CIPHERS) {
    const aead = new OpenSslAead(cipher, keyFor(cipher));
    const nonce = fill(12);
    const sealed = fill(24 + 300);
    aead.seal(nonce, sealed, 0, 8, 24, 300, 8);
    for (const pos of [0, 7, 8, 23, 24, 200, 323]) {
      const forged = sealed.slice();
      forged[pos] ^= 0x80;
      const before = forged.slice();
      assert.equal(aead.open(nonce, forged, 0, 8, 24, 300, 8), false, `${cipher} byte ${pos}`);
      assert.deepEqual(forged, before, `${cipher} byte ${pos}: buffer unchanged`);
    }
    const wrongNonce = nonce.slice();
    wrongNonce[11] ^= 1;
    assert.equal(aead.open(wrongNonce, sealed.slice(), 0, 8, 24, 300, 8), false);
    // The context is fine after failures: the genuine packet still opens.
    const good = sealed.slice();
    assert.equal(aead.open(nonce, good, 0, 8, 24, 300, 8), true);
  }
});

Deno.test("OpenSslAead.open() rejects a packet sealed under another key", () => {
  const a = new OpenSslAead("AES-256-GCM", keyFor("AES-256-GCM"));
  const b = new OpenSslAead("AES-256-GCM", keyFor("AES-256-GCM"));
  const nonce = fill(12);
  const buf = fill(24 + 64);
  a.seal(nonce, buf, 0, 8, 24, 64, 8);
  assert.equal(b.open(nonce, buf, 0, 8, 24, 64, 8), false);
});

Deno.test("OpenSslAead.seal() throws a RangeError for ranges outside the buffer instead of calling C", () => {
  const aead = new OpenSslAead("AES-128-GCM", new Uint8Array(16));
  const buf = new Uint8Array(100);
  assert.throws(() => aead.seal(new Uint8Array(12), buf, 0, 8, 24, 77, 8), RangeError);
  assert.throws(() => aead.open(new Uint8Array(12), buf, 0, 8, 24, 10, 90), RangeError);
  assert.throws(() => aead.seal(new Uint8Array(8), buf, 0, 8, 24, 10, 8), RangeError);
});

Deno.test("OpenSslAead.free() releases the contexts and later use throws", () => {
  const aead = new OpenSslAead("CHACHA20-POLY1305", new Uint8Array(32));
  aead.free();
  aead.free();
  assert.throws(() => aead.seal(new Uint8Array(12), new Uint8Array(40), 0, 8, 24, 16, 8), /after free/);
});

Deno.test("OpenSslAead seal and open allocate nothing per packet after warm-up", async () => {
  // A child with a fixed young generation, so heapUsed growth over the
  // measured window is the allocation (see ffi/README.md).
  const url = new URL("./aead_openssl.ts", import.meta.url).href;
  const script = `
    import { OpenSslAead } from ${JSON.stringify(url)};
    const out = {};
    for (const cipher of ["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"]) {
      const aead = new OpenSslAead(cipher, new Uint8Array(cipher === "AES-128-GCM" ? 16 : 32).fill(3));
      const nonce = new Uint8Array(12);
      const ring = Array.from({ length: 8 }, () => new Uint8Array(24 + 1400));
      const run = (n) => {
        for (let i = 0; i < n; i++) {
          const buf = ring[i & 7];
          nonce[0] = i;
          aead.seal(nonce, buf, 0, 8, 24, 1400, 8);
          if (!aead.open(nonce, buf, 0, 8, 24, 1400, 8)) throw new Error("open failed");
        }
      };
      run(20_000);
      const h = Deno.memoryUsage().heapUsed;
      run(100_000);
      out[cipher] = (Deno.memoryUsage().heapUsed - h) / 100_000;
    }
    console.log(JSON.stringify(out));
  `;
  const perPacket = await runHeapProbe(script, ["-A"]);
  for (const cipher of CIPHERS) {
    assert.ok(perPacket[cipher] < 1, `${cipher}: ${perPacket[cipher]} bytes per seal+open`);
  }
});

Deno.test("OpenSslAead built for one direction does that one and refuses the other", () => {
  for (const cipher of CIPHERS) {
    const key = keyFor(cipher);
    const sealer = new OpenSslAead(cipher, key, "seal");
    const opener = new OpenSslAead(cipher, key, "open");
    const nonce = fill(12);
    const plain = fill(24 + 200);
    const buf = plain.slice();
    sealer.seal(nonce, buf, 0, 8, 24, 200, 8);
    assert.equal(opener.open(nonce, buf, 0, 8, 24, 200, 8), true, cipher);
    assert.deepEqual(buf.subarray(24), plain.subarray(24), cipher);
    assert.throws(() => sealer.open(nonce, buf.slice(), 0, 8, 24, 200, 8), /built for seal, not open/);
    assert.throws(() => opener.seal(nonce, buf.slice(), 0, 8, 24, 200, 8), /built for open, not seal/);
    sealer.free();
    opener.free();
    assert.throws(() => opener.open(nonce, buf, 0, 8, 24, 200, 8), /after free/);
  }
});
