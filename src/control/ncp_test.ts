import assert from "node:assert/strict";
import { acceptPushedCipher, normalizeCipher, selectCipher } from "./ncp.ts";

Deno.test("selectCipher() picks the server's first cipher that the client's IV_CIPHERS offers", () => {
  const info = new Map([["IV_CIPHERS", "chacha20-poly1305:AES-128-GCM"]]);
  assert.equal(selectCipher(["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"], info), "AES-128-GCM");
  assert.equal(selectCipher(["CHACHA20-POLY1305", "AES-128-GCM"], info), "CHACHA20-POLY1305");
  assert.equal(selectCipher(["AES-256-GCM"], info), null);
});

Deno.test("selectCipher() falls back to IV_NCP=2 and then the options string cipher", () => {
  assert.equal(selectCipher(["AES-128-GCM"], new Map([["IV_NCP", "2"]])), "AES-128-GCM");
  assert.equal(selectCipher(["AES-256-GCM"], new Map(), "V4,cipher AES-256-GCM,auth SHA1"), "AES-256-GCM");
  assert.equal(selectCipher(["AES-256-GCM"], new Map(), "V4,cipher BF-CBC"), null);
});

Deno.test("acceptPushedCipher() only accepts ciphers the client listed", () => {
  assert.equal(acceptPushedCipher("aes-256-gcm", ["AES-256-GCM"]), "AES-256-GCM");
  assert.equal(acceptPushedCipher("AES-128-GCM", ["AES-256-GCM"]), null);
  assert.equal(normalizeCipher("BF-CBC"), null);
});
