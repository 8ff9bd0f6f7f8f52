import assert from "node:assert/strict";
import { parseIpv4 } from "../addr/ip.ts";
import { MeshRig } from "../testing/mesh/mesh.ts";
import {
  MESH_DROP_BAD_TAG,
  MESH_DROP_NOT_INTRODUCED,
  MESH_DROP_REPLAY,
  MESH_DROP_SPOOFED,
  MESH_OVERHEAD,
  P_MESH,
} from "./wire.ts";

/**
 * alice (behind a cone NAT) and bob (on the internet, so any attacker can
 * reach his socket) direct; carol on the internet; alice and carol never talk.
 */
const BOB = "203.0.113.10";

function directPair() {
  const rig = new MeshRig();
  const alice = rig.addClient({
    name: "alice",
    vpn: "10.8.0.2",
    address: "192.168.1.10",
    nat: rig.net.nat(parseIpv4("198.51.100.1"), "cone"),
  });
  const bob = rig.addClient({ name: "bob", vpn: "10.8.0.3", address: BOB });
  const carol = rig.addClient({
    name: "carol",
    vpn: "10.8.0.4",
    address: "192.0.2.40",
    iroutes: ["172.16.4.0/24"],
  });
  rig.sendIp(alice, "10.8.0.3");
  rig.run(100);
  assert.equal(alice.pathTo("bob"), "direct");
  return { rig, alice, bob, carol };
}

/** Copies of every datagram delivered to `toAddr`:`toPort` from now on. */
function capture(rig: MeshRig, toAddr: string, toPort: number): Uint8Array[] {
  const got: Uint8Array[] = [];
  rig.net.tap = (d) => {
    if (d.toAddr === parseIpv4(toAddr) && d.toPort === toPort) got.push(d.bytes);
  };
  return got;
}

Deno.test("revocation: the server's CLOSE ends bob's pair before any clock tick; alice's direct packets are then dropped", () => {
  const { rig, alice, bob } = directPair();
  const t = rig.clock.t;
  rig.serverDrops(alice, "revoked");
  assert.equal(rig.clock.t, t, "no time passed");
  assert.equal(bob.pathTo("alice"), "none");
  assert.ok(bob.log.some((l) => l.includes("mesh: pair with alice closed (revoked)")));
  const delivered = bob.tun.length;
  assert.equal(rig.sendIp(alice, "10.8.0.3"), "direct", "alice has not heard yet and still tries");
  assert.equal(bob.tun.length, delivered, "nothing arrives");
  assert.equal(bob.agent.direct.drops[MESH_DROP_NOT_INTRODUCED], 1);
  assert.equal(
    rig.sendIp(bob, "10.8.0.2"),
    "no-route",
    "bob no longer sends to alice directly, and she is gone",
  );
});

Deno.test("session end: either side's session ending closes the pair on both sides", () => {
  const { rig, alice, bob } = directPair();
  rig.endSession(bob, "left");
  assert.equal(bob.agent.peers().length, 0);
  assert.equal(alice.pathTo("bob"), "none");
  assert.ok(alice.log.some((l) => l.includes("pair with bob closed (left)")));
  assert.equal(rig.sendIp(alice, "10.8.0.3"), "no-route");
  assert.equal(rig.server.pairCount, 0);
});

Deno.test("a mesh datagram from a peer never introduced is dropped and counted; a forged tag too", () => {
  const { rig, alice, bob, carol } = directPair();
  const to = () => [parseIpv4(BOB), 1194] as const;
  // carol knows the format but was introduced to nobody: any pair id she picks is unknown or not hers.
  const forged = new Uint8Array(MESH_OVERHEAD + 40);
  forged[0] = P_MESH << 3;
  forged[3] = 77;
  rig.net.inject(forged, carol.socket.address, 1194, ...to());
  rig.pump();
  assert.equal(bob.agent.direct.drops[MESH_DROP_NOT_INTRODUCED], 1);
  // Guessing the live pair id (1) gets her no further: her bytes fail bob's tag check, and nothing changes.
  forged[0] = (P_MESH << 3) | bob.agent.table.byName("alice")!.channel.keyId;
  forged[3] = 1;
  forged[7] = 9;
  const before = bob.agent.peers()[0];
  rig.net.inject(forged, carol.socket.address, 1194, ...to());
  rig.pump();
  assert.equal(bob.agent.direct.drops[MESH_DROP_BAD_TAG], 1);
  assert.deepEqual(bob.agent.peers()[0], before, "a forged packet moves no path");
  assert.equal(rig.sendIp(alice, "10.8.0.3"), "direct");
  assert.equal(bob.tun.at(-1)!.via, "direct");
});

Deno.test("an on-path attacker's replays and bit flips are dropped and never move the path", () => {
  const { rig, alice, bob } = directPair();
  const seen = capture(rig, BOB, 1194);
  rig.sendIp(alice, "10.8.0.3");
  rig.run(30_000); // a keepalive probe and reply go by too
  assert.ok(seen.length >= 2);
  rig.net.tap = null;
  const delivered = bob.tun.length;
  const pathBefore = bob.agent.peers()[0];
  for (const d of seen) rig.net.inject(d, parseIpv4("198.51.100.1"), 20000, parseIpv4(BOB), 1194);
  for (const d of seen) rig.net.inject(d, parseIpv4("192.0.2.66"), 4444, parseIpv4(BOB), 1194);
  rig.pump();
  assert.equal(bob.tun.length, delivered, "no replayed data reached bob's tun");
  assert.equal(bob.agent.direct.drops[MESH_DROP_REPLAY], 2 * seen.length);
  // A fresh packet held back by the attacker: a flipped bit is caught, the genuine bytes still open.
  const held: Uint8Array[] = [];
  rig.net.lose = (d) => d.toAddr === parseIpv4(BOB) && d.bytes.length > 2 && held.push(d.bytes.slice()) > 0;
  rig.sendIp(alice, "10.8.0.3");
  rig.net.lose = null;
  const flipped = held[0].slice();
  flipped[MESH_OVERHEAD + 3] ^= 0x40;
  rig.net.inject(flipped, parseIpv4("192.0.2.66"), 4444, parseIpv4(BOB), 1194);
  rig.pump();
  assert.equal(bob.agent.direct.drops[MESH_DROP_BAD_TAG], 1);
  assert.equal(bob.tun.length, delivered);
  assert.deepEqual(
    bob.agent.peers()[0].endpoint,
    pathBefore.endpoint,
    "the attacker's endpoint was never adopted",
  );
  rig.net.inject(held[0], parseIpv4("198.51.100.1"), 20000, parseIpv4(BOB), 1194);
  rig.pump();
  assert.equal(bob.tun.length, delivered + 1);
});

Deno.test("a peer can only speak as itself: a spoofed inner source on the direct path is dropped", () => {
  const { rig, alice, bob } = directPair();
  const delivered = bob.tun.length;
  for (const src of ["10.8.0.4", "10.8.0.77", "172.16.4.1", "10.8.0.3"]) {
    assert.equal(rig.sendIp(alice, "10.8.0.3", src), "direct");
  }
  assert.equal(bob.tun.length, delivered);
  assert.equal(bob.agent.direct.drops[MESH_DROP_SPOOFED], 4);
  rig.sendIp(alice, "10.8.0.3");
  assert.equal(bob.tun.length, delivered + 1);
});

Deno.test("renegotiation: new pair keys under a new key-id, traffic stays direct, in-flight packets still open", () => {
  const { rig, alice, bob } = directPair();
  const keyIdBefore = bob.agent.table.byName("alice")!.channel.keyId;
  const inFlight: Uint8Array[] = [];
  rig.net.lose = (d) =>
    d.toAddr === parseIpv4(BOB) && d.bytes.length > 2 && inFlight.push(d.bytes.slice()) > 0;
  rig.sendIp(alice, "10.8.0.3"); // sealed under the old key, still on the wire
  rig.net.lose = null;
  rig.renegotiate(alice);
  assert.equal(alice.agent.epoch, 2);
  const keyIdAfter = bob.agent.table.byName("alice")!.channel.keyId;
  assert.notEqual(keyIdAfter, keyIdBefore);
  assert.equal(alice.agent.table.byName("bob")!.channel.keyId, keyIdAfter, "both sides agree on the key-id");
  rig.run(100);
  assert.equal(rig.sendIp(alice, "10.8.0.3"), "direct");
  assert.equal(bob.tun.at(-1)!.via, "direct");
  assert.equal(rig.sendIp(bob, "10.8.0.2"), "direct");
  assert.deepEqual(alice.tun.at(-1), { src: "10.8.0.3", dst: "10.8.0.2", via: "direct" });
  assert.equal(inFlight[0][0] & 7, keyIdBefore);
  const delivered = bob.tun.length;
  rig.net.inject(inFlight[0], parseIpv4("198.51.100.1"), 20000, parseIpv4(BOB), 1194);
  rig.pump();
  assert.equal(bob.tun.length, delivered + 1, "the replaced key still opens packets in flight");
});

Deno.test("stock clients and clients with mesh: false are never introduced and stay relayed", () => {
  const rig = new MeshRig();
  const alice = rig.addClient({ name: "alice", vpn: "10.8.0.2", address: "192.0.2.10" });
  const stock = rig.addClient({ name: "stock", vpn: "10.8.0.3", address: "192.0.2.11", tsvpn: false });
  const optedOut = rig.addClient({
    name: "quiet",
    vpn: "10.8.0.4",
    address: "192.0.2.12",
    meshAllowed: false,
  });
  for (let i = 0; i < 3; i++) {
    assert.equal(rig.sendIp(alice, "10.8.0.3"), "relayed");
    assert.equal(rig.sendIp(optedOut, "10.8.0.2"), "relayed");
    rig.run(10_000);
  }
  assert.equal(rig.server.pairCount, 0);
  assert.equal(stock.agent.epoch, 0, "the stock client was never sent HELLO");
  assert.equal(optedOut.agent.epoch, 0);
  assert.equal(alice.agent.peers().length, 0);
  assert.equal(stock.tun.filter((d) => d.via === "relayed").length, 3);
});

Deno.test("idle pairs are not introduced: no relayed packet, no introduction", () => {
  const rig = new MeshRig();
  const alice = rig.addClient({ name: "alice", vpn: "10.8.0.2", address: "192.0.2.10" });
  rig.addClient({ name: "bob", vpn: "10.8.0.3", address: "192.0.2.11" });
  rig.run(120_000);
  assert.equal(rig.server.pairCount, 0);
  assert.equal(alice.agent.peers().length, 0);
});
