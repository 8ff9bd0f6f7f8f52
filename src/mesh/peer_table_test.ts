import assert from "node:assert/strict";
import { parseNumericIp } from "../addr/ip.ts";
import { parsePrefix } from "../addr/prefix.ts";
import { parseEndpoint } from "./endpoint.ts";
import { MeshPeerTable, NO_SLOT, type TablePeer } from "./peer_table.ts";

const v4 = (text: string) => {
  const b = new Uint8Array(4);
  text.split(".").forEach((o, i) => b[i] = Number(o));
  return b;
};

Deno.test("MeshPeerTable routes a direct peer's addresses and iroutes to its slot, relayed peers to nobody", () => {
  const t = new MeshPeerTable<TablePeer>(4);
  const bob = { pairId: 1, name: "bob" };
  const slot = t.add(bob) as number;
  t.setRoutes(bob, [parseNumericIp("10.8.0.3"), parseNumericIp("fd00::3")], [parsePrefix("172.16.3.0/24")]);
  assert.equal(t.directSlot4At(v4("10.8.0.3"), 0), NO_SLOT, "relayed until the path is direct");
  t.setDirect(bob, parseEndpoint("198.51.100.9:1194"));
  assert.equal(t.directSlot4At(v4("10.8.0.3"), 0), slot);
  assert.equal(t.directSlot4At(v4("172.16.3.200"), 0), slot);
  assert.equal(t.directSlot4At(v4("10.8.0.4"), 0), NO_SLOT);
  const v6 = new Uint8Array(16);
  v6.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
  assert.equal(t.directSlot6At(v6, 0), slot);
  assert.equal(t.sendTo.format(slot), "198.51.100.9:1194");
  t.setDirect(bob, null);
  assert.equal(t.directSlot4At(v4("10.8.0.3"), 0), NO_SLOT);
});

Deno.test("MeshPeerTable.allowedSource4At() admits only the peer's own addresses and iroutes", () => {
  const t = new MeshPeerTable<TablePeer>(4);
  const bob = { pairId: 1, name: "bob" }, carol = { pairId: 2, name: "carol" };
  const sb = t.add(bob) as number, sc = t.add(carol) as number;
  t.setRoutes(bob, [parseNumericIp("10.8.0.3")], [parsePrefix("172.16.0.0/16")]);
  t.setRoutes(carol, [parseNumericIp("10.8.0.4")], [parsePrefix("172.16.9.0/24")]);
  assert.ok(t.allowedSource4At(sb, v4("10.8.0.3"), 0));
  assert.ok(t.allowedSource4At(sb, v4("172.16.1.1"), 0));
  assert.ok(!t.allowedSource4At(sb, v4("172.16.9.1"), 0), "a more specific prefix of another peer");
  assert.ok(!t.allowedSource4At(sb, v4("10.8.0.4"), 0));
  assert.ok(t.allowedSource4At(sc, v4("172.16.9.1"), 0));
  assert.ok(!t.allowedSource4At(NO_SLOT, v4("10.8.0.3"), 0));
});

Deno.test("MeshPeerTable keeps a prefix with its first holder and reports the conflict", () => {
  const t = new MeshPeerTable<TablePeer>(4);
  const bob = { pairId: 1, name: "bob" }, eve = { pairId: 2, name: "eve" };
  const sb = t.add(bob) as number;
  t.add(eve);
  t.setRoutes(bob, [parseNumericIp("10.8.0.3")], [parsePrefix("192.168.7.0/24")]);
  const conflicts = t.setRoutes(eve, [parseNumericIp("10.8.0.3")], [parsePrefix("192.168.7.0/24")]);
  assert.equal(conflicts.length, 2);
  assert.equal(t.routes.route4(0xc0a80701), sb);
  t.remove(bob);
  assert.equal(t.routes.route4(0xc0a80701), -1, "the loser does not inherit it later");
});

Deno.test("MeshPeerTable refuses duplicates and a full table, and reuses freed slots with clean state", () => {
  const t = new MeshPeerTable<TablePeer>(2);
  const a = { pairId: 1, name: "a" }, b = { pairId: 2, name: "b" };
  assert.equal(t.add(a), 0);
  assert.match(String(t.add({ pairId: 1, name: "x" })), /already introduced/);
  assert.match(String(t.add({ pairId: 9, name: "a" })), /already exists/);
  assert.equal(t.add(b), 1);
  assert.match(String(t.add({ pairId: 3, name: "c" })), /full/);
  t.setDirect(a, parseEndpoint("198.51.100.9:1194"));
  t.sent[0] = 5;
  assert.equal(t.remove(a), true);
  assert.equal(t.remove(a), false);
  const c = { pairId: 3, name: "c" };
  assert.equal(t.add(c), 0);
  assert.equal(t.direct[0], 0);
  assert.equal(t.sent[0], 0);
  assert.equal(t.byPairId(1), undefined);
  assert.equal(t.byName("c"), c);
  assert.throws(() => new MeshPeerTable(0), RangeError);
});
