import assert from "node:assert/strict";
import { type Peer, PeerTable } from "./peer_table.ts";
import type { ControlSession } from "./session.ts";

/** A peer whose session is never called: the table only stores it. */
function peer(peerId: number, linkKey: string, sidByte: number): Peer {
  return {
    session: {} as ControlSession,
    ctx: { peerId, remote: linkKey, transport: "udp" },
    linkKey,
    reply: () => {},
    clientSid: new Uint8Array(8).fill(sidByte),
  };
}

/** A control packet's first bytes: opcode byte, then the client session id. */
function packetFrom(sidByte: number): Uint8Array {
  const b = new Uint8Array(9).fill(sidByte);
  b[0] = 0x20;
  return b;
}

Deno.test("PeerTable finds a peer by link and client session id, by link, and by peer-id", () => {
  const t = new PeerTable();
  const a = peer(t.allocPeerId(), "10.0.0.1:1194", 1);
  const b = peer(t.allocPeerId(), "10.0.0.1:1194", 2);
  t.add(a);
  t.add(b);
  assert.equal(t.size, 2);
  assert.equal(t.find("10.0.0.1:1194", packetFrom(2), 1), b);
  assert.equal(t.find("10.0.0.2:1194", packetFrom(2), 1), undefined, "same session id, other link");
  assert.deepEqual(t.onLink("10.0.0.1:1194"), [a, b]);
  assert.equal(t.byPeerId(a.ctx.peerId), a);
  assert.deepEqual([...t.peers()], [a, b]);
});

Deno.test("PeerTable.move() floats a peer to a new link and keeps its peer-id; remove() frees only its own id", () => {
  const t = new PeerTable();
  const a = peer(t.allocPeerId(), "10.0.0.1:1194", 1);
  t.add(a);
  t.move(a, "10.0.0.9:5000");
  assert.equal(a.linkKey, "10.0.0.9:5000");
  assert.equal(t.onLink("10.0.0.1:1194"), undefined, "the old link is forgotten");
  assert.equal(t.find("10.0.0.9:5000", packetFrom(1), 1), a);
  assert.equal(t.byPeerId(a.ctx.peerId), a);
  const newer = peer(a.ctx.peerId, "10.0.0.3:1194", 3);
  t.add(newer);
  t.remove(a);
  assert.equal(t.byPeerId(a.ctx.peerId), newer, "a newer holder of the id keeps it");
  assert.equal(t.size, 1);
  t.remove(newer);
  assert.equal(t.byPeerId(newer.ctx.peerId), undefined);
  assert.equal(t.size, 0);
});

Deno.test("PeerTable.allocPeerId() goes round robin and skips ids in use", () => {
  const t = new PeerTable();
  assert.equal(t.allocPeerId(), 0);
  t.add(peer(1, "l", 1));
  assert.equal(t.allocPeerId(), 2, "1 is taken");
  assert.equal(t.allocPeerId(), 3, "an id handed out but not yet added is not handed out again at once");
});

Deno.test("PeerTable.mayHaveSid() is true for every linked client session id and false once none has it", () => {
  const t = new PeerTable();
  const a = peer(t.allocPeerId(), "10.0.0.1:1194", 1);
  const b = peer(t.allocPeerId(), "10.0.0.2:1194", 1); // the same client session id on another link
  assert.equal(t.mayHaveSid(packetFrom(1), 1), false);
  t.add(a);
  t.add(b);
  assert.equal(t.mayHaveSid(packetFrom(1), 1), true);
  assert.equal(t.mayHaveSid(packetFrom(2), 1), false);
  t.move(a, "10.0.0.3:1194");
  assert.equal(t.mayHaveSid(packetFrom(1), 1), true, "a float keeps the id");
  t.remove(a);
  t.remove(a); // a second remove must not take b's share
  assert.equal(t.mayHaveSid(packetFrom(1), 1), true, "b still has it");
  t.remove(b);
  assert.equal(t.mayHaveSid(packetFrom(1), 1), false);
});
