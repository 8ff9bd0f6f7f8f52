import assert from "node:assert/strict";
import {
  buildClientPeerInfo,
  IV_PROTO_CC_EXIT_NOTIFY,
  IV_PROTO_DATA_V2,
  IV_PROTO_REQUEST_PUSH,
  IV_PROTO_TLS_KEY_EXPORT,
  parsePeerInfo,
  peerIvProto,
} from "./peer_info.ts";

Deno.test("buildClientPeerInfo() announces ciphers and protocol bits but never TLS key export", () => {
  const text = buildClientPeerInfo({ ciphers: ["AES-256-GCM", "CHACHA20-POLY1305"] });
  const m = parsePeerInfo(text);
  assert.equal(m.get("IV_CIPHERS"), "AES-256-GCM:CHACHA20-POLY1305");
  assert.equal(m.get("IV_PLAT"), "linux");
  assert.equal(m.get("IV_TSVPN"), "1");
  assert.equal(m.get("IV_NCP"), "2");
  const proto = peerIvProto(m);
  assert.equal(proto & IV_PROTO_TLS_KEY_EXPORT, 0);
  assert.equal(proto, IV_PROTO_DATA_V2 | IV_PROTO_REQUEST_PUSH | IV_PROTO_CC_EXIT_NOTIFY);
  assert.ok(text.endsWith("\n"));
});

Deno.test("parsePeerInfo() tolerates junk lines and peerIvProto() defaults to 0", () => {
  const m = parsePeerInfo("garbage\n=x\nIV_VER=2.6.14\r\nIV_PROTO=abc\n");
  assert.equal(m.get("IV_VER"), "2.6.14");
  assert.equal(m.size, 2);
  assert.equal(peerIvProto(m), 0);
});
