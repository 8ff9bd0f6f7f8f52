import assert from "node:assert/strict";
import { parseNumericIp } from "../addr/ip.ts";
import { parsePrefix } from "../addr/prefix.ts";
import { parsePeerInfo } from "../control/peer_info.ts";
import { parseEndpoint } from "./endpoint.ts";
import { encodeMeshMessage, type MeshIntro, type MeshMessage, parseMeshMessage } from "./messages.ts";
import { generateMeshKeyPair } from "./pair_keys.ts";
import {
  choosePairCipher,
  MC_CLOSED,
  MC_INTRODUCED,
  MC_MESSAGE_ERRORS,
  MC_NO_COMMON_CIPHER,
  MC_TABLE_FULL,
  type MeshClientInfo,
  MeshIntroducer,
  RELAYED_BYTES,
  RELAYED_PACKETS,
} from "./pair_table.ts";
import { DEFAULT_MESH_SETTINGS, type MeshSettings } from "./settings.ts";
import { seededBytes } from "../testing/mesh/random.ts";

const TSVPN_PEER_INFO = parsePeerInfo(
  "IV_VER=2.6.14\nIV_TSVPN=1\nIV_CIPHERS=AES-256-GCM:CHACHA20-POLY1305\n",
);
const STOCK_PEER_INFO = parsePeerInfo("IV_VER=2.6.14\nIV_CIPHERS=AES-256-GCM\n");

function client(session: number, name: string, extra: Partial<MeshClientInfo> = {}): MeshClientInfo {
  return {
    session,
    name,
    peerInfo: TSVPN_PEER_INFO,
    meshAllowed: true,
    cipher: "AES-256-GCM",
    publicEndpoint: parseEndpoint(`198.51.100.${session + 1}:${40000 + session}`),
    addresses: [parseNumericIp(`10.8.0.${session + 2}`)],
    iroutes: session === 1 ? [parsePrefix("192.168.50.0/24")] : [],
    ...extra,
  };
}

function rig(settings: Partial<MeshSettings> = {}) {
  const sent: { session: number; m: MeshMessage }[] = [];
  const mesh = new MeshIntroducer({
    settings: { ...DEFAULT_MESH_SETTINGS, enabled: true, ...settings },
    capacity: 16,
    serverCiphers: ["AES-256-GCM", "CHACHA20-POLY1305", "AES-128-GCM"],
    send: (session, text) => sent.push({ session, m: parseMeshMessage(text) }),
  });
  let seed = 1;
  const key = (session: number, epoch = 1) => {
    const k = generateMeshKeyPair(epoch, seededBytes(seed++));
    mesh.onControlMessage(
      session,
      encodeMeshMessage({ kind: "key", epoch, publicKey: k.publicKey, localEndpoints: [] }),
    );
    return k;
  };
  const joinReady = (info: MeshClientInfo) => {
    mesh.join(info);
    return key(info.session);
  };
  const take = (kind?: MeshMessage["kind"]) => {
    const out = sent.splice(0).filter((s) => kind === undefined || s.m.kind === kind);
    return out;
  };
  return { mesh, sent, key, joinReady, take };
}

Deno.test("MeshIntroducer.join() offers the mesh only to eligible sessions", () => {
  const r = rig();
  r.mesh.join(client(0, "alice"));
  r.mesh.join(client(1, "stock", { peerInfo: STOCK_PEER_INFO }));
  r.mesh.join(client(2, "opted-out", { meshAllowed: false }));
  r.mesh.join(client(3, "over-tcp", { publicEndpoint: null }));
  r.mesh.join(client(4, "Mr Spaces"));
  assert.deepEqual(r.take().map((s) => [s.session, s.m.kind]), [[0, "hello"]]);
  const off = rig({ enabled: false });
  off.mesh.join(client(0, "alice"));
  assert.equal(off.take().length, 0, "mesh disabled: no HELLO");
});

Deno.test("MeshIntroducer introduces two ready clients once, on the first relayed packet either way", () => {
  const r = rig();
  const ka = r.joinReady(client(0, "alice"));
  const kb = r.joinReady(client(1, "bob"));
  r.take();
  r.mesh.onRelayed(1, 0, 100);
  const intros = r.take("intro");
  assert.equal(intros.length, 2);
  const toAlice = intros.find((s) => s.session === 0)!.m as MeshIntro;
  const toBob = intros.find((s) => s.session === 1)!.m as MeshIntro;
  assert.equal(toAlice.pairId, toBob.pairId);
  assert.equal(toAlice.peerName, "bob");
  assert.deepEqual(toAlice.peerPublicKey, kb.publicKey);
  assert.deepEqual(toBob.peerPublicKey, ka.publicKey);
  assert.equal(toAlice.publicEndpoint.port, 40001);
  assert.deepEqual(toAlice.iroutes, [parsePrefix("192.168.50.0/24")]);
  assert.equal(toAlice.cipher, "AES-256-GCM");
  r.mesh.onRelayed(0, 1, 100);
  r.mesh.onRelayed(1, 0, 100);
  assert.equal(r.take().length, 0, "introduced once");
  assert.equal(r.mesh.counters[MC_INTRODUCED], 1);
  assert.equal(r.mesh.relayed[RELAYED_PACKETS], 3);
  assert.equal(r.mesh.relayed[RELAYED_BYTES], 300);
});

Deno.test("MeshIntroducer never introduces a client that is not ready, and counts its relayed packets", () => {
  const r = rig();
  r.joinReady(client(0, "alice"));
  r.mesh.join(client(1, "bob")); // offered, no KEY yet
  r.mesh.join(client(2, "stock", { peerInfo: STOCK_PEER_INFO }));
  r.take();
  r.mesh.onRelayed(0, 1, 10);
  r.mesh.onRelayed(0, 2, 10);
  r.mesh.onRelayed(5, 0, 10);
  assert.equal(r.take().length, 0);
  assert.equal(r.mesh.relayed[RELAYED_PACKETS], 3);
});

Deno.test("MeshIntroducer.leave() closes every pair of the session and tells each peer at once", () => {
  const r = rig();
  for (let s = 0; s < 3; s++) r.joinReady(client(s, ["alice", "bob", "carol"][s]));
  r.mesh.onRelayed(0, 1, 1);
  r.mesh.onRelayed(0, 2, 1);
  r.take();
  r.mesh.leave(0, "revoked");
  const closes = r.take();
  assert.deepEqual(closes.map((s) => [s.session, s.m.kind, (s.m as { reason: string }).reason]), [
    [1, "close", "revoked"],
    [2, "close", "revoked"],
  ]);
  assert.equal(r.mesh.counters[MC_CLOSED], 2);
  assert.equal(r.mesh.pairCount, 0);
  assert.deepEqual(r.mesh.pairsOf(1), []);
  // A new session in the same slot is a stranger: introduced afresh.
  r.joinReady(client(0, "dave"));
  r.take();
  r.mesh.onRelayed(0, 1, 1);
  assert.equal(r.take("intro").length, 2);
});

Deno.test("MeshIntroducer: mesh: false (policy reload) closes the client's pairs on both sides", () => {
  const r = rig();
  r.joinReady(client(0, "alice"));
  r.joinReady(client(1, "bob"));
  r.mesh.onRelayed(0, 1, 1);
  r.take();
  r.mesh.update(1, { meshAllowed: false });
  assert.deepEqual(r.take().map((s) => [s.session, s.m.kind]).sort(), [[0, "close"], [1, "close"]]);
  r.mesh.onRelayed(0, 1, 1);
  assert.equal(r.take().length, 0, "not introduced again while opted out");
});

Deno.test("MeshIntroducer re-introduces both sides when a client announces a new key after renegotiating", () => {
  const r = rig();
  r.joinReady(client(0, "alice"));
  r.joinReady(client(1, "bob"));
  r.mesh.onRelayed(0, 1, 1);
  r.take();
  r.key(0, 2);
  assert.equal(r.take().length, 0, "a second KEY without a renegotiation is refused");
  assert.equal(r.mesh.counters[MC_MESSAGE_ERRORS], 1);
  r.mesh.renegotiated(0);
  const k2 = r.key(0, 2);
  const intros = r.take("intro").map((s) => [s.session, s.m as MeshIntro] as const);
  assert.equal(intros.length, 2);
  assert.equal(intros.find(([s]) => s === 0)![1].epoch, 2);
  assert.deepEqual(intros.find(([s]) => s === 1)![1].peerPublicKey, k2.publicKey);
  assert.equal(intros.find(([s]) => s === 1)![1].peerEpoch, 2);
  r.mesh.renegotiated(0);
  r.key(0, 2);
  assert.equal(r.mesh.counters[MC_MESSAGE_ERRORS], 2, "an epoch that does not increase is refused");
  for (let i = 0; i < 5; i++) r.mesh.renegotiated(0);
  r.key(0, 3);
  r.key(0, 4);
  r.key(0, 5);
  assert.equal(r.mesh.counters[MC_MESSAGE_ERRORS], 3, "renegotiations bank at most two keys");
});

Deno.test("MeshIntroducer re-introduces both members when one's endpoint moves (float), with the new endpoint", () => {
  const r = rig();
  r.joinReady(client(0, "alice"));
  r.joinReady(client(1, "bob"));
  r.mesh.onRelayed(0, 1, 1);
  r.take();
  r.mesh.update(0, { publicEndpoint: parseEndpoint("203.0.113.50:6000") });
  const out = r.take();
  assert.deepEqual(out.map((o) => [o.session, o.m.kind]).sort(), [[0, "intro"], [1, "intro"]]);
  assert.equal((out.find((o) => o.session === 1)!.m as MeshIntro).publicEndpoint.port, 6000);
  assert.equal((out.find((o) => o.session === 0)!.m as MeshIntro).peerName, "bob");
});

Deno.test("MeshIntroducer refuses hostile client messages without changing state", () => {
  const r = rig();
  r.joinReady(client(0, "alice"));
  r.joinReady(client(1, "bob"));
  r.mesh.join(client(2, "stock", { peerInfo: STOCK_PEER_INFO }));
  r.take();
  const lowOrder = new Uint8Array(32);
  r.mesh.renegotiated(0);
  const bad = [
    [0, encodeMeshMessage({ kind: "key", epoch: 2, publicKey: lowOrder, localEndpoints: [] })],
    [0, "TSVPN_MESH_KEY,v=1,garbage"],
    [0, encodeMeshMessage({ kind: "close", pairId: 1, reason: "killed" })],
    [0, encodeMeshMessage({ kind: "state", pairId: 99, path: "relayed", endpoint: null, rttMs: null })],
    [2, encodeMeshMessage({ kind: "state", pairId: 1, path: "relayed", endpoint: null, rttMs: null })],
    [9, "TSVPN_MESH_HELLO,v=1,keepalive=1,punch=1,retry=1"],
  ] as const;
  for (const [session, text] of bad) assert.equal(r.mesh.onControlMessage(session, text), true);
  assert.equal(r.mesh.counters[MC_MESSAGE_ERRORS], bad.length);
  assert.equal(r.mesh.onControlMessage(0, "PUSH_REQUEST"), false);
  assert.equal(r.take().length, 0);
  r.mesh.onRelayed(0, 1, 1);
  const intro = r.take("intro").find((s) => s.session === 1)!.m as MeshIntro;
  assert.equal(intro.peerEpoch, 1, "the low-order KEY never replaced alice's key");
});

Deno.test("MeshIntroducer keeps each member's STATE for status", () => {
  const r = rig();
  r.joinReady(client(0, "alice"));
  r.joinReady(client(1, "bob"));
  r.mesh.onRelayed(0, 1, 1);
  const pairId = (r.take("intro")[0].m as MeshIntro).pairId;
  assert.deepEqual(r.mesh.pairsOf(0), [{
    pairId,
    peer: "bob",
    path: "relayed",
    endpoint: null,
    rttMs: null,
  }]);
  r.mesh.onControlMessage(
    0,
    encodeMeshMessage({
      kind: "state",
      pairId,
      path: "direct",
      endpoint: parseEndpoint("198.51.100.2:40001"),
      rttMs: 7,
    }),
  );
  assert.deepEqual(r.mesh.pairsOf(0), [{
    pairId,
    peer: "bob",
    path: "direct",
    endpoint: "198.51.100.2:40001",
    rttMs: 7,
  }]);
  assert.equal(r.mesh.pairsOf(1)[0].path, "relayed", "each member reports its own view");
});

Deno.test("MeshIntroducer bounds the pair table and meshes no two sessions with the same name", () => {
  const r = rig({ maxPairs: 1 });
  for (let s = 0; s < 3; s++) r.joinReady(client(s, `c${s}`));
  r.mesh.onRelayed(0, 1, 1);
  r.mesh.onRelayed(0, 2, 1);
  assert.equal(r.mesh.pairCount, 1);
  assert.equal(r.mesh.counters[MC_TABLE_FULL], 1);

  const d = rig();
  d.joinReady(client(0, "alice"));
  d.joinReady(client(1, "bob"));
  d.mesh.onRelayed(0, 1, 1);
  d.take();
  d.mesh.join(client(2, "bob")); // duplicate_cn: a second bob
  assert.deepEqual(d.take().map((s) => [s.session, s.m.kind]).sort(), [[0, "close"], [1, "close"]]);
  d.mesh.leave(2, "left");
  d.mesh.onRelayed(0, 1, 1);
  assert.equal(d.take("intro").length, 2, "the remaining bob is meshable again");
});

Deno.test("choosePairCipher() prefers the shared negotiated cipher, then the server's order", () => {
  const a = { cipher: "AES-256-GCM" as const, ciphers: ["AES-256-GCM", "CHACHA20-POLY1305"] };
  const b = { cipher: "CHACHA20-POLY1305" as const, ciphers: ["CHACHA20-POLY1305", "AES-256-GCM"] };
  const order = ["CHACHA20-POLY1305", "AES-256-GCM"] as const;
  assert.equal(choosePairCipher(a, { ...a }, order), "AES-256-GCM");
  assert.equal(choosePairCipher(a, b, order), "CHACHA20-POLY1305");
  assert.equal(choosePairCipher(a, b, ["AES-256-GCM"]), "AES-256-GCM");
  assert.equal(choosePairCipher(a, { cipher: "AES-128-GCM", ciphers: ["AES-128-GCM"] }, order), null);
});

Deno.test("MeshIntroducer: clients with no common cipher stay relayed and are not retried per packet", () => {
  const r = rig();
  r.joinReady(client(0, "alice"));
  r.joinReady(
    client(1, "bob", {
      cipher: "AES-128-GCM",
      peerInfo: parsePeerInfo("IV_TSVPN=1\nIV_CIPHERS=AES-128-GCM\n"),
    }),
  );
  r.take();
  for (let i = 0; i < 5; i++) r.mesh.onRelayed(0, 1, 1);
  assert.equal(r.take().length, 0);
  assert.equal(r.mesh.counters[MC_NO_COMMON_CIPHER], 1);
});

Deno.test("MeshIntroducer.onRelayed() allocates nothing for pairs already introduced or not ready", () => {
  const r = rig();
  for (let s = 0; s < 4; s++) r.joinReady(client(s, `c${s}`));
  r.mesh.join(client(4, "stock", { peerInfo: STOCK_PEER_INFO }));
  r.mesh.onRelayed(0, 1, 1);
  r.mesh.onRelayed(2, 3, 1);
  const round = (n: number) => {
    const before = Deno.memoryUsage().heapUsed;
    for (let i = 0; i < n; i++) {
      r.mesh.onRelayed(i & 1, 1 - (i & 1), 1400);
      r.mesh.onRelayed(3, 2, 1400);
      r.mesh.onRelayed(4, i & 3, 60);
    }
    return Deno.memoryUsage().heapUsed - before;
  };
  round(200_000);
  const deltas = [round(200_000), round(200_000), round(200_000)].sort((a, b) => a - b);
  assert.ok(deltas[1] < 64 * 1024, `heap grew by ${deltas.join(", ")} bytes per 600k relayed packets`);
  assert.equal(r.mesh.counters[MC_INTRODUCED], 2);
});
