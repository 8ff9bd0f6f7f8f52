import assert from "node:assert/strict";
import { dataKeysFromKey2, dataKeysFromParts, KEY2_LEN } from "./key_material.ts";

/** key2[i] = i & 0xff, so every slice names its own offsets. */
function key2(): Uint8Array {
  return Uint8Array.from({ length: KEY2_LEN }, (_, i) => i & 0xff);
}

Deno.test("dataKeysFromKey2() gives the client keys[0] to send and keys[1] to receive", () => {
  const m = dataKeysFromKey2(key2(), { cipher: "AES-256-GCM", role: "client" });
  assert.deepEqual(m.encrypt.key, key2().slice(0, 32));
  assert.deepEqual(m.encrypt.implicitIv, key2().slice(64, 72));
  assert.deepEqual(m.decrypt.key, key2().slice(128, 160));
  assert.deepEqual(m.decrypt.implicitIv, key2().slice(192, 200));
});

Deno.test("dataKeysFromKey2() gives the server the mirror image of the client", () => {
  const c = dataKeysFromKey2(key2(), { cipher: "CHACHA20-POLY1305", role: "client" });
  const s = dataKeysFromKey2(key2(), { cipher: "CHACHA20-POLY1305", role: "server" });
  assert.deepEqual(s.encrypt, c.decrypt);
  assert.deepEqual(s.decrypt, c.encrypt);
});

Deno.test("dataKeysFromKey2() uses the first 16 bytes of the cipher slot for AES-128-GCM", () => {
  const m = dataKeysFromKey2(key2(), { cipher: "AES-128-GCM", role: "server" });
  assert.deepEqual(m.encrypt.key, key2().slice(128, 144));
  assert.deepEqual(m.decrypt.key, key2().slice(0, 16));
});

Deno.test("dataKeysFromKey2() copies, so wiping key2 afterwards keeps the keys", () => {
  const k = key2();
  const m = dataKeysFromKey2(k, { cipher: "AES-256-GCM", role: "client" });
  k.fill(0);
  assert.equal(m.encrypt.key[1], 1);
});

Deno.test("dataKeysFromKey2() rejects a wrong-sized block and an all-zero key", () => {
  assert.throws(
    () => dataKeysFromKey2(new Uint8Array(255), { cipher: "AES-256-GCM", role: "client" }),
    RangeError,
  );
  const k = key2();
  k.fill(0, 128, 160);
  assert.throws(() => dataKeysFromKey2(k, { cipher: "AES-256-GCM", role: "client" }), /all zero/);
});

Deno.test("dataKeysFromParts() validates lengths and copies its inputs", () => {
  const key = new Uint8Array(16).fill(1);
  const iv = new Uint8Array(8).fill(2);
  const m = dataKeysFromParts("AES-128-GCM", {
    encryptKey: key,
    encryptIv: iv,
    decryptKey: key,
    decryptIv: iv,
  });
  key.fill(0);
  assert.equal(m.encrypt.key[0], 1);
  assert.throws(
    () =>
      dataKeysFromParts("AES-256-GCM", { encryptKey: key, encryptIv: iv, decryptKey: key, decryptIv: iv }),
    RangeError,
  );
});
