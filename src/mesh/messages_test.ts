import assert from "node:assert/strict";
import { parsePeerInfo } from "../control/peer_info.ts";
import { announcedCiphers, announcedTsvpnVersion, announcesMesh, meshPeerInfoEntry } from "./capability.ts";
import { parseEndpoint } from "./endpoint.ts";
import { KEY, KEY_B64, sampleIntro } from "../testing/mesh/messages.ts";
import {
  encodeMeshMessage,
  isMeshMessage,
  MAX_MESH_MESSAGE,
  type MeshMessage,
  MeshMessageError,
  parseMeshMessage,
  tryParseMeshMessage,
} from "./messages.ts";

const SAMPLES: MeshMessage[] = [
  { kind: "hello", keepaliveS: 25, punchTimeoutS: 5, retryS: 30 },
  { kind: "key", epoch: 3, publicKey: KEY, localEndpoints: [parseEndpoint("192.168.1.10:1194")] },
  { kind: "key", epoch: 1, publicKey: KEY, localEndpoints: [] },
  sampleIntro(),
  { ...sampleIntro(), localEndpoints: [], addresses: [], iroutes: [] },
  { kind: "close", pairId: 17, reason: "revoked" },
  { kind: "state", pairId: 9, path: "direct", endpoint: parseEndpoint("203.0.113.5:5000"), rttMs: 12 },
  { kind: "state", pairId: 9, path: "relayed", endpoint: null, rttMs: null },
];

Deno.test("encodeMeshMessage() output parses back to the same message, for every kind", () => {
  for (const m of SAMPLES) {
    const text = encodeMeshMessage(m);
    assert.ok(isMeshMessage(text));
    assert.deepEqual(parseMeshMessage(text), m);
  }
});

Deno.test("encodeMeshMessage() writes the documented line formats", () => {
  assert.deepEqual(encodeMeshMessage(SAMPLES[0]), "TSVPN_MESH_HELLO,v=1,keepalive=25,punch=5,retry=30");
  assert.deepEqual(
    encodeMeshMessage(SAMPLES[1]),
    `TSVPN_MESH_KEY,v=1,epoch=3,pub=${KEY_B64},local=192.168.1.10:1194`,
  );
  assert.deepEqual(
    encodeMeshMessage(sampleIntro()),
    `TSVPN_MESH_INTRO,v=1,pair=17,peer=bob.example,cipher=AES-256-GCM,epoch=1,peer_epoch=4,pub=${KEY_B64},` +
      "public=198.51.100.7:40001,local=192.168.1.20:1194 [fd00::20]:1194,addr=10.8.0.7 fd00:8::7," +
      "iroute=192.168.50.0/24 fd00:50::/64",
  );
  assert.deepEqual(encodeMeshMessage(SAMPLES[5]), "TSVPN_MESH_CLOSE,v=1,pair=17,reason=revoked");
  assert.deepEqual(
    encodeMeshMessage(SAMPLES[6]),
    "TSVPN_MESH_STATE,v=1,pair=9,path=direct,endpoint=203.0.113.5:5000,rtt=12",
  );
});

const BAD: [string, RegExp][] = [
  ["TSVPN_MESH_HELLO", /without fields/],
  ["TSVPN_MESH_WHAT,v=1", /unknown mesh message/],
  ["TSVPN_MESH_HELLO,keepalive=25,v=1,punch=5,retry=30", /first field must be v/],
  ["TSVPN_MESH_HELLO,v=2,keepalive=25,punch=5,retry=30", /unsupported version 2/],
  ["TSVPN_MESH_HELLO,v=1,keepalive=25,punch=5", /missing field retry/],
  ["TSVPN_MESH_HELLO,v=1,keepalive=25,punch=5,retry=30,extra=1", /unknown field extra/],
  ["TSVPN_MESH_HELLO,v=1,keepalive=25,keepalive=25,punch=5,retry=30", /duplicate field keepalive/],
  ["TSVPN_MESH_HELLO,v=1,keepalive=025,punch=5,retry=30", /whole number/],
  ["TSVPN_MESH_HELLO,v=1,keepalive=0,punch=5,retry=30", /outside 1..3600/],
  ["TSVPN_MESH_KEY,v=1,epoch=1,pub=AAAA", /base64 of 32 bytes/],
  [`TSVPN_MESH_KEY,v=1,epoch=1,pub=${KEY_B64.slice(0, 42)}B=`, /not canonical/],
  [`TSVPN_MESH_KEY,v=1,epoch=0,pub=${KEY_B64}`, /outside/],
  [`TSVPN_MESH_KEY,v=1,epoch=1,pub=${KEY_B64},local=`, /empty item/],
  [`TSVPN_MESH_KEY,v=1,epoch=1,pub=${KEY_B64},local=1.2.3.4:5  1.2.3.5:5`, /empty item/],
  [`TSVPN_MESH_KEY,v=1,epoch=1,pub=${KEY_B64},local=1.2.3.4:5 1.2.3.4:5`, /duplicate item/],
  [`TSVPN_MESH_KEY,v=1,epoch=1,pub=${KEY_B64},local=127.0.0.1:5`, /cannot be probed/],
  [`TSVPN_MESH_KEY,v=1,epoch=1,pub=${KEY_B64},local=224.0.0.1:5`, /cannot be probed/],
  [`TSVPN_MESH_KEY,v=1,epoch=1,pub=${KEY_B64},local=1.2.3.4:0`, /port must be/],
  [`TSVPN_MESH_KEY,v=1,epoch=1,pub=${KEY_B64},local=fd00::1:5`, /brackets/],
  [
    `TSVPN_MESH_KEY,v=1,epoch=1,pub=${KEY_B64},local=${
      Array(9).fill(0).map((_, i) => `10.0.0.${i + 1}:1`).join(" ")
    }`,
    /more than 8/,
  ],
  ["TSVPN_MESH_CLOSE,v=1,pair=0,reason=left", /outside 1\.\.16777214/],
  ["TSVPN_MESH_CLOSE,v=1,pair=16777215,reason=left", /outside/],
  ["TSVPN_MESH_CLOSE,v=1,pair=3,reason=bored", /expected one of/],
  ["TSVPN_MESH_STATE,v=1,pair=3,path=direct", /endpoint is required/],
  ["TSVPN_MESH_STATE,v=1,pair=3,path=relayed,endpoint=1.2.3.4:5", /endpoint is required/],
  ["TSVPN_MESH_STATE,v=1,pair=3,path=relayed,rtt=600001", /outside/],
  ["TSVPN_MESH_CLOSE,v=1,pair=3,reason=left\u0000", /non-printable/],
  ["TSVPN_MESH_CLOSE,v=1,pair=3,,reason=left", /malformed field/],
  ["TSVPN_MESH_CLOSE,v=1,pair=3,Reason=left", /malformed field name/],
  ["PUSH_REPLY,route 10.0.0.0", /not a mesh message/],
];

Deno.test("parseMeshMessage() rejects each malformed message with a one-line MeshMessageError", () => {
  for (const [text, why] of BAD) {
    assert.throws(() => parseMeshMessage(text), (e: Error) => {
      assert.ok(e instanceof MeshMessageError, `${text}: ${e}`);
      assert.match(e.message, why, text);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
});

Deno.test("parseMeshMessage() validates INTRO names, ciphers, addresses and prefixes", () => {
  const good = encodeMeshMessage(sampleIntro());
  const cases: [string, string, RegExp][] = [
    ["peer=bob.example", "peer=bob example", /invalid certificate name/],
    ["peer=bob.example", "peer=-bob", /invalid certificate name/],
    ["cipher=AES-256-GCM", "cipher=BF-CBC", /expected one of/],
    ["addr=10.8.0.7", "addr=10.8.0.300", /Invalid IP address/],
    ["iroute=192.168.50.0/24", "iroute=192.168.50.1/24", /host bits are set/],
    ["public=198.51.100.7:40001", "public=0.0.0.0:40001", /cannot be probed/],
  ];
  for (const [from, to, why] of cases) {
    const text = good.replace(from, to);
    assert.throws(
      () => parseMeshMessage(text),
      (e: Error) => e instanceof MeshMessageError && why.test(e.message),
    );
  }
});

Deno.test("parseMeshMessage() refuses a message over the size limit before looking at it", () => {
  const text = "TSVPN_MESH_CLOSE,v=1,pair=3,reason=left" + ",x=".repeat(MAX_MESH_MESSAGE);
  assert.throws(
    () => parseMeshMessage(text),
    (e: Error) => e instanceof MeshMessageError && /longer than/.test(e.message),
  );
});

Deno.test("tryParseMeshMessage() reports the error instead of throwing", () => {
  const r = tryParseMeshMessage("TSVPN_MESH_CLOSE,v=1,pair=x,reason=left");
  assert.deepEqual(r.ok, false);
  if (!r.ok) assert.ok(r.error.startsWith("pair:"));
});

Deno.test("encodeMeshMessage() refuses values no peer would accept", () => {
  assert.throws(() => encodeMeshMessage({ kind: "close", pairId: 0, reason: "left" }), RangeError);
  assert.throws(() => encodeMeshMessage({ ...sampleIntro(), peerName: "a,b" }), RangeError);
  assert.throws(
    () => encodeMeshMessage({ kind: "state", pairId: 1, path: "direct", endpoint: null, rttMs: null }),
    RangeError,
  );
  assert.throws(
    () => encodeMeshMessage({ ...SAMPLES[1], publicKey: new Uint8Array(31) } as MeshMessage),
    RangeError,
  );
});

Deno.test("announcedTsvpnVersion() reads IV_TSVPN strictly; stock peer-info announces nothing", () => {
  const [k, v] = meshPeerInfoEntry();
  assert.deepEqual(announcedTsvpnVersion(parsePeerInfo(`IV_VER=2.6.14\n${k}=${v}\n`)), 1);
  assert.ok(announcesMesh(parsePeerInfo(`${k}=${v}\n`)));
  assert.ok(!announcesMesh(parsePeerInfo("IV_VER=2.6.14\nIV_PROTO=990\n")));
  for (const bad of ["0", "01", "x", "", "1.0", "99999"]) {
    assert.deepEqual(announcedTsvpnVersion(new Map([["IV_TSVPN", bad]])), 0, bad);
  }
  assert.deepEqual(announcedCiphers(parsePeerInfo("IV_CIPHERS=aes-256-gcm:CHACHA20-POLY1305\n")), [
    "AES-256-GCM",
    "CHACHA20-POLY1305",
  ]);
});
