import assert from "node:assert/strict";
import type { CipherName } from "./aead.ts";
import { NobleAead } from "./aead_noble.ts";
import { liveOpenSslAeads } from "./aead_openssl.ts";
import { DataChannel } from "./data_channel.ts";
import {
  KEY_BYTES_IN,
  KEY_PACKETS_IN,
  KEY_PACKETS_OUT,
  PACKET_ID_MAX,
  PACKET_ID_REKEY_THRESHOLD,
} from "./key_lifetime.ts";
import { DATA_V2_OVERHEAD, peekPeerId, readU32 } from "./data_header.ts";
import { isPing, writePing } from "./keepalive_ping.ts";
import { type DataKeyMaterial, dataKeysFromKey2, dataKeysFromParts } from "./key_material.ts";
import { fromHex } from "../testing/data/hex.ts";
import {
  OPEN_BAD_PACKET_ID,
  OPEN_BAD_TAG,
  OPEN_NOT_DATA,
  OPEN_OK,
  OPEN_REPLAY,
  OPEN_TOO_OLD,
  OPEN_TOO_SHORT,
  OPEN_UNKNOWN_KEY_ID,
  OPEN_VERDICT_COUNT,
  SEAL_BAD_ARGS,
  SEAL_NO_KEY,
  SEAL_PACKET_ID_EXHAUSTED,
} from "./verdicts.ts";

const CIPHERS: CipherName[] = ["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"];
const BACKENDS = ["node", "noble"] as const;

let seed = 0x5eed;
function rnd(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed >>> 24;
}
function randomBytes(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, rnd);
}

function pair(cipher: CipherName, backend: "node" | "noble" = "node", opts: { replayWindow?: number } = {}) {
  const key2 = randomBytes(256);
  const client = new DataChannel({ peerId: 0x000a0b, backend, ...opts });
  const server = new DataChannel({ peerId: 0x000a0b, backend, ...opts });
  client.installKey(0, dataKeysFromKey2(key2, { cipher, role: "client" }), 0);
  server.installKey(0, dataKeysFromKey2(key2, { cipher, role: "server" }), 0);
  return { client, server, key2 };
}

/** A slot with headroom, payload bytes p at offset 24+extra; returns [slot, datagram offset, datagram length]. */
function sealPayload(dc: DataChannel, payload: Uint8Array, extra = 0): [Uint8Array, number, number] {
  const slot = new Uint8Array(DATA_V2_OVERHEAD + extra + payload.length + 8);
  slot.set(payload, DATA_V2_OVERHEAD + extra);
  const n = dc.seal(slot, DATA_V2_OVERHEAD + extra, payload.length);
  assert.equal(n, DATA_V2_OVERHEAD + payload.length);
  return [slot, extra, n];
}

function countsSnapshot(dc: DataChannel): number[] {
  return Array.from(dc.openCounts);
}

for (const cipher of CIPHERS) {
  for (const backend of BACKENDS) {
    Deno.test(`DataChannel.seal() and open() round-trip ${cipher} on the ${backend} backend both ways`, () => {
      const { client, server } = pair(cipher, backend);
      for (const [from, to] of [[client, server], [server, client]]) {
        for (const size of [1, 20, 64, 1400, 1500]) {
          const payload = randomBytes(size);
          const [slot, off, n] = sealPayload(from, payload, 3);
          assert.equal(to.open(slot, off, n), OPEN_OK);
          assert.equal(to.plainOff, off + DATA_V2_OVERHEAD);
          assert.deepEqual(slot.subarray(to.plainOff, to.plainOff + to.plainLen), payload);
        }
      }
      assert.equal(server.openCounts[OPEN_OK], 5);
      assert.equal(client.openCounts[OPEN_OK], 5);
    });
  }
}

Deno.test("DataChannel.seal() writes opcode 9, key-id, peer-id and packet-ids from 1 upward", () => {
  const { client } = pair("AES-256-GCM");
  client.localPeerId = 0x123456;
  for (let i = 1; i <= 3; i++) {
    const [slot, off] = sealPayload(client, randomBytes(10));
    assert.equal(slot[off], 0x48);
    assert.equal(peekPeerId(slot, off, 34), 0x123456);
    assert.equal(readU32(slot, off + 4), i);
  }
  assert.equal(client.sendPacketId, 3);
  assert.equal(client.keyCounters(0)![KEY_PACKETS_OUT], 3);
});

Deno.test("DataChannel.seal() output opens with an independent AEAD using nonce packet-id || implicit IV", () => {
  const key2 = randomBytes(256);
  const client = new DataChannel({ peerId: 77 });
  const keys = dataKeysFromKey2(key2, { cipher: "CHACHA20-POLY1305", role: "client" });
  client.installKey(2, keys, 0);
  const payload = randomBytes(100);
  const [slot, off, n] = sealPayload(client, payload);
  const nonce = new Uint8Array(12);
  nonce.set(slot.subarray(off + 4, off + 8), 0);
  nonce.set(key2.subarray(64, 72), 4); // keys[0].hmac: the client's send direction
  const aead = new NobleAead("CHACHA20-POLY1305", key2.subarray(0, 32));
  assert.equal(aead.open(nonce, slot, off, 8, off + 24, n - 24, off + 8), true);
  assert.deepEqual(slot.subarray(off + 24, off + n), payload);
});

Deno.test("DataChannel.open() decrypts a P_DATA_V1 packet built from OpenVPN 2.6.14 test-crypto output", () => {
  // "ENCRYPT TO" of openvpn --test-crypto (AES-256-GCM, packet length 7); AAD was the packet-id.
  const dc = new DataChannel();
  const key = fromHex("8dd79bdaf24192760cf1dfdd4e3ea2c4c58258c029d4fcfe74753a2c9dd60ba4");
  const iv = fromHex("072be76816596fb6");
  dc.installKey(
    1,
    dataKeysFromParts("AES-256-GCM", { encryptKey: key, encryptIv: iv, decryptKey: key, decryptIv: iv }),
    0,
  );
  const wire = fromHex("31" + "0000000770f434ff62c35db35a9d2bc0d70aa0803d3f0defa606a0");
  assert.equal(dc.open(wire, 0, wire.length), OPEN_OK);
  assert.deepEqual(wire.subarray(dc.plainOff, dc.plainOff + dc.plainLen), fromHex("d4fadb24585c57"));
  assert.equal(dc.packetId, 7);
  assert.equal(dc.peerId, -1);
});

Deno.test("DataChannel.open() rejects a flip of any header, tag or ciphertext byte without changing state", () => {
  const { client, server } = pair("AES-128-GCM");
  const payload = randomBytes(40);
  const [slot, off, n] = sealPayload(client, payload);
  const genuine = slot.slice();
  for (let i = 0; i < n; i++) {
    for (const bit of [0x01, 0x80]) {
      const forged = genuine.slice();
      forged[off + i] ^= bit;
      const copy = forged.slice();
      const before = countsSnapshot(server);
      const v = server.open(forged, off, n);
      assert.notEqual(v, OPEN_OK, `byte ${i} bit ${bit}`);
      if (i >= 1) {
        assert.equal(
          v,
          i >= 4 && i < 8 && readU32(forged, off + 4) === 0 ? OPEN_BAD_PACKET_ID : OPEN_BAD_TAG,
        );
      }
      assert.deepEqual(forged, copy, "buffer untouched");
      const after = countsSnapshot(server);
      after[v]--;
      assert.deepEqual(after, before, "only the verdict's counter moved");
    }
  }
  assert.equal(server.keyCounters(0)![KEY_PACKETS_IN], 0);
  assert.equal(server.open(genuine, off, n), OPEN_OK, "the window did not advance");
});

Deno.test("DataChannel.open() maps opcode and key-id damage to NOT_DATA and UNKNOWN_KEY_ID", () => {
  const { client, server } = pair("AES-256-GCM");
  const [slot, off, n] = sealPayload(client, randomBytes(30));
  const a = slot.slice();
  a[off] = (4 << 3) | 0; // P_CONTROL_V1
  assert.equal(server.open(a, off, n), OPEN_NOT_DATA);
  const b = slot.slice();
  b[off] = 0x48 | 3;
  assert.equal(server.open(b, off, n), OPEN_UNKNOWN_KEY_ID);
  assert.equal(server.keyId, 3);
});

Deno.test("DataChannel.open() rejects a replayed datagram and one older than the window", () => {
  const { client, server } = pair("CHACHA20-POLY1305", "node", { replayWindow: 64 });
  const first = sealPayload(client, randomBytes(10));
  const firstCopy = first[0].slice();
  assert.equal(server.open(first[0], first[1], first[2]), OPEN_OK);
  assert.equal(server.open(firstCopy.slice(), first[1], first[2]), OPEN_REPLAY);
  const held: [Uint8Array, number, number][] = [];
  for (let i = 0; i < 100; i++) held.push(sealPayload(client, randomBytes(10)));
  // Deliver the newest first, then the rest: ids within 64 of the newest open, older ones are too old.
  const last = held[99];
  assert.equal(server.open(last[0], last[1], last[2]), OPEN_OK);
  assert.equal(server.open(held[50][0], held[50][1], held[50][2]), OPEN_OK, "reordered within the window");
  assert.equal(server.open(held[10][0], held[10][1], held[10][2]), OPEN_TOO_OLD);
  assert.equal(server.openCounts[OPEN_REPLAY], 1);
  assert.equal(server.openCounts[OPEN_TOO_OLD], 1);
});

Deno.test("DataChannel.open() reports TOO_SHORT for datagrams without a payload byte", () => {
  const { client, server } = pair("AES-256-GCM");
  const [slot, off, n] = sealPayload(client, randomBytes(5));
  for (const len of [0, 1, 8, 24]) assert.equal(server.open(slot, off, len), OPEN_TOO_SHORT, `len ${len}`);
  assert.equal(server.open(slot, off, n + 100), OPEN_TOO_SHORT, "length beyond the buffer");
  assert.equal(server.open(slot, off, n), OPEN_OK);
});

Deno.test("DataChannel keeps opening the previous key during the transition window after a soft reset", () => {
  const { client, server } = pair("AES-256-GCM");
  const oldPacket = sealPayload(client, randomBytes(20));
  const key2b = randomBytes(256);
  client.installKey(1, dataKeysFromKey2(key2b, { cipher: "AES-256-GCM", role: "client" }), 1000);
  server.installKey(1, dataKeysFromKey2(key2b, { cipher: "AES-256-GCM", role: "server" }), 1000);
  assert.equal(client.sendKeyId, 1);
  assert.equal(client.previousKeyId, 0);
  assert.equal(server.previousExpiresAtMs, 1000 + 60_000);
  const [slot, off, n] = sealPayload(client, randomBytes(20));
  assert.equal(slot[off] & 7, 1, "sending uses the newest key");
  assert.equal(readU32(slot, off + 4), 1, "packet-ids restart under the new key");
  assert.equal(server.open(slot, off, n), OPEN_OK);
  assert.equal(server.expire(1000 + 59_999), false);
  assert.equal(server.open(oldPacket[0], oldPacket[1], oldPacket[2]), OPEN_OK, "old key still opens");
  assert.equal(server.expire(1000 + 60_000), true);
  const late = sealPayload(client, randomBytes(20));
  assert.equal(server.open(late[0], late[1], late[2]), OPEN_OK);
  assert.equal(server.previousKeyId, -1);
  const stale = oldPacket[0].slice();
  assert.equal(server.open(stale, oldPacket[1], oldPacket[2]), OPEN_UNKNOWN_KEY_ID);
});

Deno.test("DataChannel.installKey() drops the oldest key at once when a third key arrives", () => {
  const dc = new DataChannel();
  for (let id = 0; id < 3; id++) {
    dc.installKey(id, dataKeysFromKey2(randomBytes(256), { cipher: "AES-128-GCM", role: "client" }), id);
  }
  assert.equal(dc.sendKeyId, 2);
  assert.equal(dc.previousKeyId, 1);
  assert.equal(dc.keyCounters(0), null);
});

Deno.test("DataChannel frees a dropped key's OpenSSL contexts at once: 100 renegotiations leave two keys' worth", () => {
  // Left to the garbage collector, every renegotiation's contexts (≈ 11 KB outside the JS heap) waited for
  // a major collection: the server's RSS climbed with the renegotiations between two of them (issue 14).
  const before = liveOpenSslAeads();
  const dc = new DataChannel({ backend: "openssl" });
  for (let i = 0; i < 100; i++) {
    dc.installKey(i & 7, dataKeysFromKey2(randomBytes(256), { cipher: "AES-256-GCM", role: "server" }), i);
  }
  assert.equal(liveOpenSslAeads() - before, 4, "the send key and the previous one, two directions each");
  assert.equal(dc.expire(99 + 60_000), true);
  assert.equal(liveOpenSslAeads() - before, 2, "the expired previous key's contexts are gone");
  dc.clear();
  assert.equal(liveOpenSslAeads() - before, 0);
});

Deno.test("DataChannel.installKey() refuses material that is already live and bad key-ids", () => {
  const dc = new DataChannel();
  const m = dataKeysFromKey2(randomBytes(256), { cipher: "AES-256-GCM", role: "server" });
  dc.installKey(0, m, 0);
  assert.throws(() => dc.installKey(1, m, 0), /already in use/);
  assert.throws(
    () => dc.installKey(8, dataKeysFromKey2(randomBytes(256), { cipher: "AES-256-GCM", role: "server" }), 0),
    RangeError,
  );
});

Deno.test("DataChannel never reuses a packet-id under one key and restarts only with a new key", () => {
  const dc = new DataChannel();
  const seen = new Map<string, Set<number>>();
  for (let k = 0; k < 3; k++) {
    const m: DataKeyMaterial = dataKeysFromKey2(randomBytes(256), {
      cipher: "CHACHA20-POLY1305",
      role: "client",
    });
    dc.installKey(k, m, k);
    const ids = new Set<number>();
    seen.set(Array.from(m.encrypt.key).join(","), ids);
    for (let i = 0; i < 2000; i++) {
      const [slot, off] = sealPayload(dc, Uint8Array.of(i & 0xff));
      const id = readU32(slot, off + 4);
      assert.equal(ids.has(id), false);
      ids.add(id);
    }
  }
  assert.equal(seen.size, 3, "three distinct keys");
});

Deno.test("DataChannel.needsRekey turns true at the threshold and seal() stops at packet-id 2^32-1", () => {
  const dc = new DataChannel({ rekeyThreshold: 5 });
  dc.installKey(0, dataKeysFromKey2(randomBytes(256), { cipher: "AES-256-GCM", role: "client" }), 0);
  for (let i = 0; i < 4; i++) sealPayload(dc, Uint8Array.of(1));
  assert.equal(dc.needsRekey, false);
  sealPayload(dc, Uint8Array.of(1));
  assert.equal(dc.needsRekey, true);
  assert.equal(new DataChannel().needsRekey, false);
  assert.equal(PACKET_ID_REKEY_THRESHOLD, 0xff000000);

  DataChannel.forceSendPacketIdForTest(dc, PACKET_ID_MAX - 1);
  const [slot, off] = sealPayload(dc, Uint8Array.of(1));
  assert.equal(readU32(slot, off + 4), PACKET_ID_MAX);
  const s = new Uint8Array(64);
  assert.equal(dc.seal(s, 24, 10), SEAL_PACKET_ID_EXHAUSTED);
  assert.deepEqual(s, new Uint8Array(64), "nothing written");
  assert.equal(dc.sealCounts[-SEAL_PACKET_ID_EXHAUSTED], 1);
});

for (const direction of ["sent", "received"] as const) {
  Deno.test(`DataChannel.rekeyReason is "bytes" once the send key ${direction} renegBytes, counted as OpenVPN does`, () => {
    // 5 packets of 180 B count 5 × (180 + 20) = 1000 bytes: the limit, reached by the fifth packet.
    const key2 = randomBytes(256);
    const a = new DataChannel({ renegBytes: 1000 });
    const b = new DataChannel({ renegBytes: 1000 });
    a.installKey(0, dataKeysFromKey2(key2, { cipher: "AES-256-GCM", role: "client" }), 0);
    b.installKey(0, dataKeysFromKey2(key2, { cipher: "AES-256-GCM", role: "server" }), 0);
    const counted = direction === "sent" ? a : b;
    for (let i = 0; i < 5; i++) {
      assert.equal(counted.rekeyReason, null, `after ${i} packets`);
      const [slot, off, n] = sealPayload(a, randomBytes(180));
      assert.equal(b.open(slot, off, n), OPEN_OK);
    }
    assert.equal(counted.sendKeyBytes, 1000);
    assert.equal(counted.rekeyReason, "bytes");
    assert.equal(counted.needsRekey, true);
    // A new key starts from zero.
    counted.installKey(1, dataKeysFromKey2(randomBytes(256), { cipher: "AES-256-GCM", role: "client" }), 1);
    assert.equal(counted.sendKeyBytes, 0);
    assert.equal(counted.rekeyReason, null);
  });
}

Deno.test("DataChannel.rekeyReason ignores bytes with renegBytes 0 and prefers the packet-id reason", () => {
  const dc = new DataChannel();
  dc.installKey(0, dataKeysFromKey2(randomBytes(256), { cipher: "AES-128-GCM", role: "client" }), 0);
  for (let i = 0; i < 20; i++) sealPayload(dc, randomBytes(1400));
  assert.equal(dc.rekeyReason, null);
  DataChannel.forceSendPacketIdForTest(dc, PACKET_ID_REKEY_THRESHOLD);
  assert.equal(dc.rekeyReason, "packet-id");
  const both = new DataChannel({ renegBytes: 1 });
  both.installKey(0, dataKeysFromKey2(randomBytes(256), { cipher: "AES-128-GCM", role: "client" }), 0);
  sealPayload(both, randomBytes(10));
  assert.equal(both.rekeyReason, "bytes");
  DataChannel.forceSendPacketIdForTest(both, PACKET_ID_REKEY_THRESHOLD);
  assert.equal(both.rekeyReason, "packet-id");
  assert.throws(() => new DataChannel({ renegBytes: -1 }), RangeError);
});

Deno.test("DataChannel.seal() reports missing keys and bad ranges without writing", () => {
  const dc = new DataChannel();
  const s = new Uint8Array(64);
  assert.equal(dc.seal(s, 24, 10), SEAL_NO_KEY);
  dc.installKey(0, dataKeysFromKey2(randomBytes(256), { cipher: "AES-256-GCM", role: "client" }), 0);
  assert.equal(dc.seal(s, 23, 10), SEAL_BAD_ARGS);
  assert.equal(dc.seal(s, 24, 0), SEAL_BAD_ARGS);
  assert.equal(dc.seal(s, 24, 41), SEAL_BAD_ARGS);
  assert.deepEqual(s, new Uint8Array(64));
  assert.equal(dc.sendPacketId, 0, "no packet-id used");
  assert.equal(dc.seal(s, 24, 40), 64);
});

Deno.test("DataChannel carries the keepalive ping payload through seal and open", () => {
  const { client, server } = pair("AES-256-GCM");
  const slot = new Uint8Array(64);
  const n = client.seal(slot, 24, writePing(slot, 24));
  assert.equal(server.open(slot, 0, n), OPEN_OK);
  assert.equal(isPing(slot, server.plainOff, server.plainLen), true);
});

Deno.test("DataChannel.open() survives random and bit-flipped datagrams: no throw, counted, window unmoved", () => {
  const { client, server } = pair("AES-256-GCM", "node", { replayWindow: 128 });
  const genuine: Uint8Array[] = [];
  for (let i = 0; i < 50; i++) {
    const [slot, off, n] = sealPayload(client, randomBytes(1 + (i * 37) % 300));
    genuine.push(slot.slice(off, off + n));
  }
  let calls = 0;
  const buf = new Uint8Array(2048);
  for (let i = 0; i < 6000; i++) {
    let len: number;
    if (i % 3 === 0) {
      len = rnd() * 8 % 400;
      for (let j = 0; j < len; j++) buf[j] = rnd();
      if (i % 2 === 0) buf[0] = 0x48 | (rnd() & 7); // looks like P_DATA_V2
    } else {
      const g = genuine[i % genuine.length];
      len = g.length;
      buf.set(g, 0);
      const flips = 1 + (rnd() & 3);
      for (let f = 0; f < flips; f++) buf[rnd() % len] ^= 1 << (rnd() & 7);
      if (rnd() < 16) len = rnd() % len; // truncated
      else if (buf.subarray(0, len).every((b, j) => b === g[j])) buf[len - 1] ^= 0x10; // flips cancelled out
    }
    const v = server.open(buf, 0, len);
    calls++;
    assert.notEqual(v, OPEN_OK, `forgery accepted at ${i}`);
  }
  const total = server.openCounts.reduce((a, b) => a + b, 0);
  assert.equal(total, calls);
  assert.equal(server.openCounts.length, OPEN_VERDICT_COUNT);
  assert.equal(server.keyCounters(0)![KEY_BYTES_IN], 0, "no forged byte was accepted");
  for (const g of genuine) {
    assert.equal(server.open(g.slice(), 0, g.length), OPEN_OK, "window never advanced");
  }
});
