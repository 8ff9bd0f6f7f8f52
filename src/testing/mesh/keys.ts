/** Pair keys and direct-path tables for the mesh's tests (src/mesh/): alice's and bob's views of one pair, from seeded key pairs. */

import { parsePrefix } from "../../addr/prefix.ts";
import type { CipherName } from "../../data/aead.ts";
import type { AeadBackendChoice } from "../../data/aead_select.ts";
import type { DataKeyMaterial } from "../../data/key_material.ts";
import type { DirectPeer } from "../../mesh/direct_path.ts";
import { parseEndpoint } from "../../mesh/endpoint.ts";
import { PairChannel } from "../../mesh/pair_channel.ts";
import { derivePairKeys, generateMeshKeyPair, type MeshKeyPair } from "../../mesh/pair_keys.ts";
import { MeshPeerTable } from "../../mesh/peer_table.ts";
import { seededBytes } from "./random.ts";

export interface TestPair {
  alice: MeshKeyPair;
  bob: MeshKeyPair;
  /** alice's keys (she sends with `encrypt`). */
  aliceKeys: DataKeyMaterial;
  bobKeys: DataKeyMaterial;
}

export function testPairKeys(cipher: CipherName, seedAlice: number, seedBob: number, bobEpoch = 1): TestPair {
  const alice = generateMeshKeyPair(1, seededBytes(seedAlice));
  const bob = generateMeshKeyPair(bobEpoch, seededBytes(seedBob));
  return {
    alice,
    bob,
    aliceKeys: derivePairKeys({
      own: alice,
      ownName: "alice",
      peerPublicKey: bob.publicKey,
      peerName: "bob",
      cipher,
    }),
    bobKeys: derivePairKeys({
      own: bob,
      ownName: "bob",
      peerPublicKey: alice.publicKey,
      peerName: "alice",
      cipher,
    }),
  };
}

/**
 * One side's peer table holding the other side as pair 5 under `keys`
 * (key-id 2), its path direct via 198.51.100.9:1194, with `routes` as the
 * peer's prefixes.
 */
export function directTable(
  keys: DataKeyMaterial,
  peerName: string,
  routes: readonly string[],
  backend: AeadBackendChoice,
): { table: MeshPeerTable<DirectPeer>; peer: DirectPeer } {
  const channel = new PairChannel(5, { backend });
  channel.install(2, keys, 0);
  const peer: DirectPeer = { pairId: 5, name: peerName, channel };
  const table = new MeshPeerTable<DirectPeer>(4);
  table.add(peer);
  table.setRoutes(peer, [], routes.map((r) => parsePrefix(r)));
  table.setDirect(peer, parseEndpoint("198.51.100.9:1194"));
  return { table, peer };
}
