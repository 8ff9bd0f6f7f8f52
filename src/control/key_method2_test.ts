import assert from "node:assert/strict";
import {
  decodeKeyMethod2,
  encodeKeyMethod2,
  type KeyMethod2Message,
  randomKeySource,
} from "./key_method2.ts";

const seq = (n: number, s: number) => Uint8Array.from({ length: n }, (_, i) => (s + i) & 0xff);
const client: KeyMethod2Message = {
  keySource: { preMaster: seq(48, 0), random1: seq(32, 48), random2: seq(32, 80) },
  options: "V4,dev-type tun,key-method 2,tls-client",
  username: "",
  password: "",
  peerInfo: "IV_VER=2.6.14\nIV_PROTO=134\n",
};

Deno.test("encodeKeyMethod2() writes zeros, method 2, key source and length-prefixed NUL-terminated strings", () => {
  const b = encodeKeyMethod2(client, true);
  assert.deepEqual([...b.subarray(0, 5)], [0, 0, 0, 0, 2]);
  assert.deepEqual(b.subarray(5, 53), client.keySource.preMaster);
  let p = 5 + 48 + 64;
  const optLen = (b[p] << 8) | b[p + 1];
  assert.equal(optLen, client.options.length + 1);
  assert.equal(new TextDecoder().decode(b.subarray(p + 2, p + 2 + optLen - 1)), client.options);
  assert.equal(b[p + 2 + optLen - 1], 0);
  p += 2 + optLen;
  assert.deepEqual(
    [...b.subarray(p, p + 4)],
    [0, 0, 0, 0],
    "empty username and password are bare zero lengths",
  );
  assert.equal(b.length, p + 4 + 2 + client.peerInfo.length + 1);
});

Deno.test("decodeKeyMethod2() round-trips client and server messages", () => {
  const c = decodeKeyMethod2(encodeKeyMethod2(client, true), true);
  assert.equal(c.status, "ok");
  if (c.status === "ok") assert.deepEqual(c.message, client);
  const server: KeyMethod2Message = {
    keySource: { random1: seq(32, 1), random2: seq(32, 2) },
    options: "V4,tls-server",
    username: "",
    password: "",
    peerInfo: "",
  };
  const enc = encodeKeyMethod2(server, false);
  const s = decodeKeyMethod2(enc, false);
  assert.equal(s.status, "ok");
  if (s.status === "ok") {
    assert.deepEqual(s.message, server);
    assert.equal(s.consumed, enc.length);
  }
});

Deno.test("decodeKeyMethod2() reports incomplete prefixes and invalid headers without throwing", () => {
  const b = encodeKeyMethod2(client, true);
  for (let cut = 0; cut < b.length; cut++) {
    const r = decodeKeyMethod2(b.subarray(0, cut), true);
    // Ending exactly after the password is a complete message without peer-info.
    if (cut === b.length - (2 + client.peerInfo.length + 1)) assert.equal(r.status, "ok");
    else assert.equal(r.status, "incomplete", `cut ${cut}`);
  }
  const bad = b.slice();
  bad[4] = 1;
  assert.equal(decodeKeyMethod2(bad, true).status, "invalid");
  bad[4] = 2;
  bad[0] = 1;
  assert.equal(decodeKeyMethod2(bad, true).status, "invalid");
});

Deno.test("randomKeySource() gives the client a pre-master and the server none", () => {
  const r = (n: number) => new Uint8Array(n).fill(7);
  assert.equal(randomKeySource(r, true).preMaster?.length, 48);
  assert.equal(randomKeySource(r, false).preMaster, undefined);
});
