import assert from "node:assert/strict";
import { runHeapProbe } from "../testing/heap_probe.ts";
import { libcryptoStatus } from "../../ffi/libcrypto.ts";
import type { AeadBackendChoice } from "../data/aead_select.ts";
import { EndpointSlots } from "../device/datagram_socket.ts";
import { parseIpv4 } from "../addr/ip.ts";
import { buildUdp } from "../testing/packet/builders.ts";
import {
  DirectPath,
  type DirectPeer,
  MS_PACKETS_IN,
  MS_PACKETS_OUT,
  MS_REPLIES_LIMITED,
  MS_REPLIES_OUT,
  MS_SEND_FAILED,
  REPLIES_PER_SECOND,
  RX_DELIVER,
  RX_DROPPED,
  RX_HANDLED,
  RX_NOT_MESH,
} from "./direct_path.ts";
import { parseEndpoint, writeEndpointRow } from "./endpoint.ts";
import type { MeshPeerTable } from "./peer_table.ts";
import { directTable, testPairKeys } from "../testing/mesh/keys.ts";
import type { DataKeyMaterial } from "../data/key_material.ts";
import {
  MESH_DROP_MALFORMED,
  MESH_DROP_NOT_INTRODUCED,
  MESH_DROP_UNKNOWN_KEY,
  MESH_DROP_UNSOLICITED,
  MESH_OVERHEAD,
  RECORD_LEN,
  RECORD_PROBE,
  writeRecord,
} from "./wire.ts";

interface Side {
  table: MeshPeerTable<DirectPeer>;
  path: DirectPath<DirectPeer>;
  peer: DirectPeer;
  out: { bytes: Uint8Array; to: string }[];
  other: string[];
  replies: number[];
}

/** alice (10.8.0.2) and bob (10.8.0.3, iroute 172.16.3.0/24) sharing pair 5, each with its own DirectPath. */
function pair(backend: AeadBackendChoice = "noble") {
  let now = 0;
  const keys = testPairKeys("AES-256-GCM", 21, 22);
  const side = (own: DataKeyMaterial, peerName: string, routes: string[]): Side => {
    const { table, peer } = directTable(own, peerName, routes, backend);
    const s = { table, peer, out: [], other: [], replies: [] } as unknown as Side;
    s.path = new DirectPath(table, {
      send: (buf, off, len, to, row) =>
        s.out.push({ bytes: buf.slice(off, off + len), to: to.format(row) }) > 0,
    }, {
      otherSource: (_p, from, row) => void s.other.push(from.format(row)),
      reply: (_p, id) => s.replies.push(id) > 0 && id === 42,
    }, () => now);
    return s;
  };
  const alice = side(keys.aliceKeys, "bob", ["10.8.0.3/32", "172.16.3.0/24"]);
  const bob = side(keys.bobKeys, "alice", ["10.8.0.2/32"]);
  return { alice, bob, setNow: (t: number) => now = t };
}

const FROM = new EndpointSlots(1);
FROM.setIpv4(0, parseIpv4("198.51.100.9"), 1194);

function ipPacket(src: string, dst: string): Uint8Array {
  const pkt = buildUdp({ src, dst, srcPort: 1, dstPort: 2, payload: new Uint8Array(40) });
  const slot = new Uint8Array(MESH_OVERHEAD + pkt.length);
  slot.set(pkt, MESH_OVERHEAD);
  return slot;
}

function deliver(to: Side, bytes: Uint8Array, from = FROM): number {
  return to.path.receive(bytes, 0, bytes.length, from, 0);
}

/** queueData() then flush(): one packet on its way. */
function sendNow(side: Side, slot: Uint8Array): boolean {
  const queued = side.path.queueData(0, slot, MESH_OVERHEAD, slot.length - MESH_OVERHEAD);
  side.path.flush();
  return queued;
}

Deno.test("DirectPath.queueData() seals to the selected endpoint; the peer delivers the packet in place", () => {
  const { alice, bob } = pair();
  const slot = ipPacket("10.8.0.2", "10.8.0.3");
  const plain = slot.slice(MESH_OVERHEAD);
  assert.equal(alice.path.queueData(0, slot, MESH_OVERHEAD, slot.length - MESH_OVERHEAD), true);
  assert.equal(alice.out.length, 0, "queued until flush()");
  alice.path.flush();
  assert.equal(alice.out[0].to, "198.51.100.9:1194");
  const d = alice.out[0].bytes;
  assert.equal(deliver(bob, d), RX_DELIVER);
  assert.equal(bob.path.plainLen, slot.length - MESH_OVERHEAD);
  assert.deepEqual(d.slice(bob.path.plainOff, bob.path.plainOff + bob.path.plainLen), plain);
  assert.equal(bob.path.slot, 0);
  assert.equal(bob.path.stats[MS_PACKETS_IN], 1);
  assert.deepEqual(bob.other, [], "from the selected endpoint: nothing to report");
});

Deno.test("DirectPath.flush() sends a batch with one sendBatch call and counts what the socket refused", () => {
  const { alice } = pair();
  const batches: number[] = [];
  let refuse = 0;
  const path = new DirectPath(
    alice.table,
    {
      send: () => assert.fail("data goes through sendBatch"),
      sendBatch: (_bufs, _offs, _sizes, count) => {
        batches.push(count);
        return count - refuse;
      },
    },
    { otherSource: () => {}, reply: () => false },
    () => 0,
  );
  const slots = Array.from({ length: 70 }, () => ipPacket("10.8.0.2", "10.8.0.3"));
  for (const slot of slots) path.queueData(0, slot, MESH_OVERHEAD, slot.length - MESH_OVERHEAD);
  assert.deepEqual(batches, [64], "a full queue flushes itself");
  refuse = 2;
  path.flush();
  path.flush();
  assert.deepEqual(batches, [64, 6], "an empty queue sends nothing");
  assert.equal(path.stats[MS_PACKETS_OUT], 70);
  assert.equal(path.stats[MS_SEND_FAILED], 2);
});

Deno.test("DirectPath.receive() leaves OpenVPN packets alone and drops unknown pairs, short datagrams, stale keys", () => {
  const { alice, bob } = pair();
  for (const first of [0x48, 0x38, 0x20]) {
    assert.equal(deliver(bob, Uint8Array.of(first, 0, 0, 5, 0, 0, 0, 1)), RX_NOT_MESH);
  }
  assert.equal(deliver(bob, Uint8Array.of(0xfa, 0, 0, 5)), RX_DROPPED);
  assert.equal(bob.path.drops[MESH_DROP_MALFORMED], 1);
  const slot = ipPacket("10.8.0.2", "10.8.0.3");
  sendNow(alice, slot);
  const other = alice.out[0].bytes.slice();
  other[3] = 6;
  assert.equal(deliver(bob, other), RX_DROPPED);
  assert.equal(bob.path.drops[MESH_DROP_NOT_INTRODUCED], 1);
  const stale = alice.out[0].bytes.slice();
  stale[0] = (stale[0] & 0xf8) | 5;
  assert.equal(deliver(bob, stale), RX_DROPPED);
  assert.equal(bob.path.drops[MESH_DROP_UNKNOWN_KEY], 1);
});

Deno.test("DirectPath answers probes to their source, at most REPLIES_PER_SECOND a second per peer", () => {
  const { alice, bob, setNow } = pair();
  const probe = () => {
    const s = new Uint8Array(MESH_OVERHEAD + RECORD_LEN);
    writeRecord(s, MESH_OVERHEAD, RECORD_PROBE, 42, FROM, 0);
    alice.peer.channel.seal(s, MESH_OVERHEAD, RECORD_LEN);
    return s;
  };
  const elsewhere = new EndpointSlots(1);
  writeEndpointRow(elsewhere, 0, parseEndpoint("203.0.113.77:999"));
  for (let i = 0; i < REPLIES_PER_SECOND + 5; i++) assert.equal(deliver(bob, probe(), elsewhere), RX_HANDLED);
  assert.equal(bob.path.stats[MS_REPLIES_OUT], REPLIES_PER_SECOND);
  assert.equal(bob.path.stats[MS_REPLIES_LIMITED], 5);
  assert.ok(bob.out.every((o) => o.to === "203.0.113.77:999"), "replies go to the probe's source");
  assert.equal(bob.other.length, REPLIES_PER_SECOND + 5, "every probe is reported to the path");
  setNow(1000);
  deliver(bob, probe(), elsewhere);
  assert.equal(bob.path.stats[MS_REPLIES_OUT], REPLIES_PER_SECOND + 1, "a new second, a new budget");
  // alice opens the reply and hands it to her path: id 42 is "outstanding" in this rig, others are not.
  assert.equal(deliver(alice, bob.out[0].bytes), RX_HANDLED);
  assert.deepEqual(alice.replies, [42]);
  assert.equal(alice.path.drops[MESH_DROP_UNSOLICITED], 0);
});

Deno.test("DirectPath counts an authenticated reply that answers no probe as unsolicited", () => {
  const { alice, bob } = pair();
  const s = new Uint8Array(MESH_OVERHEAD + RECORD_LEN);
  writeRecord(s, MESH_OVERHEAD, 2, 43, FROM, 0);
  bob.peer.channel.seal(s, MESH_OVERHEAD, RECORD_LEN);
  assert.equal(deliver(alice, s), RX_HANDLED);
  assert.equal(alice.path.drops[MESH_DROP_UNSOLICITED], 1);
});

Deno.test("DirectPath reports a new data source once, not per packet", () => {
  const { alice, bob } = pair();
  const moved = new EndpointSlots(1);
  writeEndpointRow(moved, 0, parseEndpoint("198.51.100.9:2000"));
  for (let i = 0; i < 3; i++) {
    const slot = ipPacket("10.8.0.2", "10.8.0.3");
    sendNow(alice, slot);
    assert.equal(deliver(bob, alice.out[i].bytes, moved), RX_DELIVER);
  }
  assert.deepEqual(bob.other, ["198.51.100.9:2000"]);
});

Deno.test("DirectPath refuses a verified plaintext that is neither an IP packet nor a record", () => {
  const { alice, bob } = pair();
  const s = new Uint8Array(MESH_OVERHEAD + 10).fill(7);
  alice.peer.channel.seal(s, MESH_OVERHEAD, 10);
  assert.equal(deliver(bob, s), RX_DROPPED);
  assert.equal(bob.path.drops[MESH_DROP_MALFORMED], 1);
});

Deno.test({
  name: "DirectPath data seal, send and receive allocate nothing per packet (OpenSSL backend)",
  ignore: libcryptoStatus() !== null,
  async fn() {
    // A child with a fixed 64 MB young generation: no scavenge during the window, so heapUsed growth is the
    // allocation (the method of src/data/aead_openssl_test.ts).
    const url = new URL("../testing/mesh/alloc.ts", import.meta.url).href;
    const script = `import { directPathBytesPerPacket } from ${JSON.stringify(url)};
      console.log(JSON.stringify(directPathBytesPerPacket(100_000)));`;
    const perPacket = await runHeapProbe<number>(script, ["-A"]);
    // Any object per packet costs 16 bytes or more; the probe's own noise reaches ~1 byte (measured 0.3-1.04).
    assert.ok(perPacket < 4, `${perPacket} bytes allocated per packet (seal + send + receive)`);
  },
});
