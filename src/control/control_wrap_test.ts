import assert from "node:assert/strict";
import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256 as sha256b, sha512 } from "@noble/hashes/sha2.js";
import { ctr } from "@noble/ciphers/aes.js";
import { NoWrap, TlsAuthWrap, TlsCryptWrap, WrapResult } from "./control_wrap.ts";
import { DROP_AUTH_FAILED, DROP_MALFORMED, VERDICT_OK } from "./drop_counters.ts";
import { openSslWrapPrimitives } from "./wrap_openssl.ts";
import { nodeWrapPrimitives } from "./wrap_primitives.ts";

const key = new Uint8Array(256);
for (let i = 0; i < 256; i++) key[i] = (i * 7 + 3) & 0xff;
const OSID_BYTES = 9;
const plain = Uint8Array.from([0x38, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0xaa, 0xbb]);

for (const p of [openSslWrapPrimitives, nodeWrapPrimitives]) {
  Deno.test(`${p.backend}: TlsCryptWrap.wrap() produces op|sid|pid|time|tag|ct as an independent implementation computes it`, () => {
    const server = new TlsCryptWrap(key, "server", p);
    const out = new Uint8Array(256);
    const n = server.wrap(plain, plain.length, 1, 0x5f000000, out);
    assert.equal(n, plain.length + server.overhead);
    // Server sends with half 0: cipher key bytes 0..32, HMAC key bytes 64..96.
    const head = Uint8Array.from([...plain.subarray(0, 9), 0, 0, 0, 1, 0x5f, 0, 0, 0]);
    const tag = hmac(sha256b, key.slice(64, 96), Uint8Array.from([...head, ...plain.subarray(9)]));
    const ct = ctr(key.slice(0, 32), tag.slice(0, 16)).encrypt(plain.subarray(9));
    assert.deepEqual([...out.subarray(0, n)], [...head, ...tag, ...ct]);
  });

  Deno.test(`${p.backend}: TlsCryptWrap.wrap() restarts the keystream and the HMAC for each packet`, () => {
    const client = new TlsCryptWrap(key, "client", p);
    const out = new Uint8Array(512);
    // Lengths that end mid-block, so a counter or block position carried over would show.
    for (const [i, restLen] of [37, 100, 5, 300].entries()) {
      const msg = Uint8Array.from({ length: 9 + restLen }, (_, j) => (j * 31 + i) & 0xff);
      const n = client.wrap(msg, msg.length, i + 1, 1000 + i, out);
      // Client sends with half 1: cipher key bytes 128..160, HMAC key bytes 192..224.
      const head = Uint8Array.from([...msg.subarray(0, 9), 0, 0, 0, i + 1, 0, 0, 3, 0xe8 + i]);
      const tag = hmac(sha256b, key.slice(192, 224), Uint8Array.from([...head, ...msg.subarray(9)]));
      const ct = ctr(key.slice(128, 160), tag.slice(0, 16)).encrypt(msg.subarray(9));
      assert.deepEqual([...out.subarray(0, n)], [...head, ...tag, ...ct], `packet ${i}`);
    }
  });

  Deno.test(`${p.backend}: TlsCryptWrap.unwrap() accepts the peer's packets and rejects its own direction and bit flips`, () => {
    const server = new TlsCryptWrap(key, "server", p);
    const client = new TlsCryptWrap(key, "client", p);
    const wire = new Uint8Array(256);
    const n = client.wrap(plain, plain.length, 7, 99, wire);
    const scratch = new Uint8Array(256);
    const res = new WrapResult();
    assert.equal(server.unwrap(wire, 0, n, scratch, res), VERDICT_OK);
    assert.deepEqual(res.buffer.subarray(res.offset, res.offset + res.length), plain);
    assert.equal(res.packetId, 7);
    assert.equal(res.time, 99);
    assert.equal(client.unwrap(wire, 0, n, scratch, res), DROP_AUTH_FAILED, "reflected packet");
    for (let i = 0; i < n; i++) {
      const bad = wire.slice(0, n);
      bad[i] ^= 0x01;
      assert.equal(server.unwrap(bad, 0, n, scratch, res), DROP_AUTH_FAILED, `flip at ${i}`);
    }
    assert.equal(server.unwrap(wire, 0, 48, scratch, res), DROP_MALFORMED);
  });

  Deno.test(`${p.backend}: TlsAuthWrap.wrap() puts HMAC(pid|time|op|sid|rest) after the session id`, () => {
    const srv = new TlsAuthWrap(key, "SHA1", 0, p);
    const out = new Uint8Array(256);
    const n = srv.wrap(plain, plain.length, 3, 77, out);
    assert.equal(n, plain.length + 28);
    const pidTime = Uint8Array.from([0, 0, 0, 3, 0, 0, 0, 77]);
    const mac = hmac(sha1, key.slice(64, 84), Uint8Array.from([...pidTime, ...plain]));
    assert.deepEqual([...out.subarray(0, n)], [
      ...plain.subarray(0, 9),
      ...mac,
      ...pidTime,
      ...plain.subarray(9),
    ]);
  });

  Deno.test(`${p.backend}: TlsAuthWrap with SHA512 matches an independent HMAC and restarts it per packet`, () => {
    const srv = new TlsAuthWrap(key, "SHA512", 0, p);
    const out = new Uint8Array(512);
    for (const id of [1, 2]) {
      const n = srv.wrap(plain, plain.length, id, 5, out);
      const pidTime = Uint8Array.from([0, 0, 0, id, 0, 0, 0, 5]);
      const mac = hmac(sha512, key.slice(64, 128), Uint8Array.from([...pidTime, ...plain]));
      assert.deepEqual([...out.subarray(OSID_BYTES, OSID_BYTES + 64)], [...mac]);
      assert.equal(n, plain.length + 72);
    }
  });

  Deno.test(`${p.backend}: TlsAuthWrap.unwrap() pairs key-direction 0 with 1 and rejects tampering`, () => {
    const srv = new TlsAuthWrap(key, "SHA256", 0, p);
    const cli = new TlsAuthWrap(key, "SHA256", 1, p);
    const wire = new Uint8Array(256);
    const scratch = new Uint8Array(256);
    const res = new WrapResult();
    const n = cli.wrap(plain, plain.length, 9, 1, wire);
    assert.equal(srv.unwrap(wire, 0, n, scratch, res), VERDICT_OK);
    assert.deepEqual(res.buffer.subarray(0, res.length), plain);
    assert.equal(res.packetId, 9);
    assert.equal(cli.unwrap(wire, 0, n, scratch, res), DROP_AUTH_FAILED);
    wire[n - 1] ^= 0x80;
    assert.equal(srv.unwrap(wire, 0, n, scratch, res), DROP_AUTH_FAILED);
    const bidiA = new TlsAuthWrap(key, undefined, undefined, p);
    const bidiB = new TlsAuthWrap(key, undefined, undefined, p);
    const m = bidiA.wrap(plain, plain.length, 1, 1, wire);
    assert.equal(bidiB.unwrap(wire, 0, m, scratch, res), VERDICT_OK);
  });
}

Deno.test("NoWrap.unwrap() passes the packet through without copying", () => {
  const w = new NoWrap();
  const res = new WrapResult();
  assert.equal(w.unwrap(plain, 0, plain.length, new Uint8Array(0), res), VERDICT_OK);
  assert.equal(res.buffer, plain);
  assert.equal(w.unwrap(plain, 0, 4, new Uint8Array(0), res), DROP_MALFORMED);
});
