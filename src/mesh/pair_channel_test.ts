import assert from "node:assert/strict";
import { P_DATA_V2 } from "../data/data_header.ts";
import { dataKeysFromParts } from "../data/key_material.ts";
import { OPEN_BAD_TAG, OPEN_NOT_DATA, OPEN_OK, OPEN_REPLAY, OPEN_UNKNOWN_KEY_ID } from "../data/verdicts.ts";
import { PairChannel } from "./pair_channel.ts";
import { testPairKeys } from "../testing/mesh/keys.ts";
import { MESH_OVERHEAD, P_MESH, peekPairId } from "./wire.ts";

function pairOfChannels(pairId = 0x123456) {
  const { aliceKeys: ka, bobKeys: kb } = testPairKeys("CHACHA20-POLY1305", 11, 12);
  const alice = new PairChannel(pairId, { backend: "noble" });
  const bob = new PairChannel(pairId, { backend: "noble" });
  alice.install(2, ka, 0);
  bob.install(2, kb, 0);
  return { alice, bob };
}

function sealed(ch: PairChannel, text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const slot = new Uint8Array(MESH_OVERHEAD + payload.length);
  slot.set(payload, MESH_OVERHEAD);
  const n = ch.seal(slot, MESH_OVERHEAD, payload.length);
  assert.equal(n, slot.length);
  return slot;
}

Deno.test("PairChannel.seal() writes the mesh opcode, key-id and pair id; the peer opens it in place", () => {
  const { alice, bob } = pairOfChannels();
  const d = sealed(alice, "hello bob");
  assert.equal(d[0], (P_MESH << 3) | 2);
  assert.equal(peekPairId(d, 0, d.length), 0x123456);
  assert.equal(bob.open(d, 0, d.length), OPEN_OK);
  assert.equal(new TextDecoder().decode(d.subarray(bob.plainOff, bob.plainOff + bob.plainLen)), "hello bob");
  assert.equal(d[0], (P_MESH << 3) | 2, "the first byte is restored after opening");
});

Deno.test("PairChannel.open() refuses a replay, a flipped bit, its own direction and a plain P_DATA_V2", () => {
  const { alice, bob } = pairOfChannels();
  const d = sealed(alice, "once");
  const copy = d.slice();
  assert.equal(bob.open(d, 0, d.length), OPEN_OK);
  assert.equal(bob.open(copy.slice(), 0, copy.length), OPEN_REPLAY);

  const forged = sealed(alice, "twice");
  forged[forged.length - 1] ^= 1;
  const before = forged.slice();
  assert.equal(bob.open(forged, 0, forged.length), OPEN_BAD_TAG);
  assert.deepEqual(forged, before, "a refused datagram is left untouched");

  const fresh = pairOfChannels();
  const reflected = sealed(fresh.bob, "to alice");
  assert.equal(
    fresh.bob.open(reflected, 0, reflected.length),
    OPEN_BAD_TAG,
    "a side cannot open its own direction",
  );

  const plain = sealed(alice, "as data v2");
  plain[0] = (P_DATA_V2 << 3) | 2;
  assert.equal(bob.open(plain, 0, plain.length), OPEN_NOT_DATA);

  const otherPair = sealed(alice, "pair id moved");
  otherPair[3] ^= 1;
  assert.equal(bob.open(otherPair, 0, otherPair.length), OPEN_BAD_TAG, "the pair id is authenticated");
});

Deno.test("PairChannel.install() rekeys under a new key-id; the old key opens until its window passes", () => {
  const { alice, bob } = pairOfChannels();
  const inFlight = sealed(alice, "old key");
  const k = (n: number) => new Uint8Array(32).fill(n);
  const iv = new Uint8Array(8).fill(1);
  const ka = dataKeysFromParts("CHACHA20-POLY1305", {
    encryptKey: k(1),
    encryptIv: iv,
    decryptKey: k(2),
    decryptIv: iv,
  });
  const kb = dataKeysFromParts("CHACHA20-POLY1305", {
    encryptKey: k(2),
    encryptIv: iv,
    decryptKey: k(1),
    decryptIv: iv,
  });
  assert.equal(alice.install(3, ka, 1000), true);
  assert.equal(bob.install(3, kb, 1000), true);
  assert.equal(alice.install(3, ka, 1000), false, "installing live material again changes nothing");
  const fresh = sealed(alice, "new key");
  assert.equal(fresh[0] & 7, 3);
  assert.equal(bob.open(fresh, 0, fresh.length), OPEN_OK);
  assert.equal(bob.open(inFlight.slice(), 0, inFlight.length), OPEN_OK);
  bob.expire(1000 + 60_000);
  assert.equal(bob.open(inFlight, 0, inFlight.length), OPEN_UNKNOWN_KEY_ID);
});

Deno.test("PairChannel refuses pair ids outside 1..0xFFFFFE", () => {
  for (const bad of [0, 0xffffff, -1, 1.5]) assert.throws(() => new PairChannel(bad), RangeError);
});
