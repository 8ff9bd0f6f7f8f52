import assert from "node:assert/strict";
import { hmac } from "@noble/hashes/hmac.js";
import { md5, sha1 } from "@noble/hashes/legacy.js";
import { libcryptoStatus } from "../../ffi/libcrypto.ts";
import { deriveKey2, openvpnPrf, setPrfBackend, tls1Prf } from "./prf.ts";

/** Runs `fn` as one test per HMAC backend of the PRF (OpenSSL's only where libcrypto loads). */
function bothBackends(name: string, fn: () => void): void {
  for (const backend of ["openssl", "noble"] as const) {
    Deno.test(
      { name: `${name} (${backend})`, ignore: backend === "openssl" && libcryptoStatus() !== null },
      () => {
        const previous = setPrfBackend(backend);
        try {
          fn();
        } finally {
          setPrfBackend(previous);
        }
      },
    );
  }
}

/** A second, deliberately plain TLS 1.0 PRF on @noble/hashes, written from RFC 2246 section 5. */
function referencePrf(secret: Uint8Array, seed: Uint8Array, n: number): Uint8Array {
  const ls = Math.ceil(secret.length / 2);
  const s1 = secret.slice(0, ls);
  const s2 = secret.slice(secret.length - ls);
  const p = (h: typeof md5, s: Uint8Array) => {
    const out: number[] = [];
    let a = seed;
    while (out.length < n) {
      a = hmac(h, s, a);
      out.push(...hmac(h, s, new Uint8Array([...a, ...seed])));
    }
    return out.slice(0, n);
  };
  const x = p(md5, s1);
  const y = p(sha1, s2);
  return Uint8Array.from(x.map((v, i) => v ^ y[i]));
}

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
const seq = (n: number, start = 0) => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);

bothBackends("tls1Prf() matches OpenSSL's TLS1-PRF (MD5-SHA1) known answer", () => {
  // openssl kdf -keylen 64 -kdfopt digest:MD5-SHA1 -kdfopt hexsecret:00..2f
  //   -kdfopt hexseed:<"OpenVPN master secret">a0a1a2a3 TLS1-PRF
  const seed = new Uint8Array([...new TextEncoder().encode("OpenVPN master secret"), 0xa0, 0xa1, 0xa2, 0xa3]);
  const got = tls1Prf(seq(48), seed, 64);
  assert.equal(
    hex(got),
    "31b271093aa92d2e0d7b8fcdbd9ba479175dfd344600984411266553" +
      "5ccf70cb4b902b375ae00c82c1db85ad43c065d78e5546e62b1346d4cd8e17fece611d6c",
  );
});

bothBackends("tls1Prf() agrees with an independent implementation for odd and even secret sizes", () => {
  for (const len of [1, 20, 47, 48, 49]) {
    const secret = seq(len, 7);
    const seed = seq(77, 100);
    assert.deepEqual(tls1Prf(secret, seed, 256), referencePrf(secret, seed, 256), `secret ${len}`);
  }
});

bothBackends("deriveKey2() follows OpenVPN's two-step master secret then key expansion", () => {
  const client = { preMaster: seq(48, 1), random1: seq(32, 50), random2: seq(32, 90) };
  const server = { random1: seq(32, 130), random2: seq(32, 170) };
  const csid = seq(8, 200);
  const ssid = seq(8, 220);
  const enc = new TextEncoder();
  const master = referencePrf(
    client.preMaster,
    new Uint8Array([...enc.encode("OpenVPN master secret"), ...client.random1, ...server.random1]),
    48,
  );
  const want = referencePrf(
    master,
    new Uint8Array([
      ...enc.encode("OpenVPN key expansion"),
      ...client.random2,
      ...server.random2,
      ...csid,
      ...ssid,
    ]),
    256,
  );
  const key2 = deriveKey2(client, server, csid, ssid);
  assert.equal(key2.length, 256);
  assert.deepEqual(key2, want);
  assert.notDeepEqual(deriveKey2(client, server, ssid, csid), key2, "session id order matters");
  assert.deepEqual(
    openvpnPrf(master, "OpenVPN key expansion", client.random2, server.random2, csid, ssid, 256),
    key2,
  );
});
