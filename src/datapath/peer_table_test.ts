import assert from "node:assert/strict";
import { DataChannel } from "../data/data_channel.ts";
import { EndpointSlots } from "../device/datagram_socket.ts";
import { NO_PEER, PC_BYTES_IN, PC_BYTES_OUT, PEER_COUNTER_STRIDE, PeerTable } from "./peer_table.ts";

Deno.test("PeerTable.reserve() hands out the lowest free id and NO_PEER when full", () => {
  const t = new PeerTable(2);
  assert.equal(t.reserve(), 0);
  assert.equal(t.reserve(), 1);
  assert.equal(t.reserve(), NO_PEER);
  t.release(0);
  assert.equal(t.reserve(), 0);
});

Deno.test("PeerTable.attach() copies the endpoint and starts the clock; release() clears activity", () => {
  const t = new PeerTable(4);
  const id = t.reserve();
  const from = new EndpointSlots(2);
  from.setIpv4(1, 0x0a000001, 5000);
  t.attach(id, new DataChannel(), from, 1, 42);
  assert.equal(t.endpoints.format(id), "10.0.0.1:5000");
  assert.equal(t.lastRx[id], 42);
  assert.equal(t.active[id], 1);
  assert.equal(t.count, 1);
  assert.deepEqual(t.ids(), [id]);
  assert.throws(() => t.attach(id, new DataChannel(), from, 1, 0), /already attached/);
  t.release(id);
  assert.equal(t.active[id], 0);
  assert.equal(t.count, 0);
  assert.throws(() => t.attach(id, new DataChannel(), from, 1, 0), /not reserved/);
});

Deno.test("PeerTable.total() sums a counter over attached peers and every peer released before", () => {
  const t = new PeerTable(4);
  const from = new EndpointSlots(1);
  const a = t.reserve();
  const b = t.reserve();
  t.attach(a, new DataChannel(), from, 0, 0);
  t.attach(b, new DataChannel(), from, 0, 0);
  t.counters[a * PEER_COUNTER_STRIDE + PC_BYTES_IN] = 100;
  t.counters[b * PEER_COUNTER_STRIDE + PC_BYTES_IN] = 20;
  assert.equal(t.total(PC_BYTES_IN), 120);
  t.release(a);
  t.release(a); // twice: counted once
  assert.equal(t.total(PC_BYTES_IN), 120);
  const c = t.reserve();
  t.attach(c, new DataChannel(), from, 0, 0); // a's id again, its cells start at zero
  t.counters[c * PEER_COUNTER_STRIDE + PC_BYTES_IN] = 5;
  assert.equal(t.total(PC_BYTES_IN), 125);
  assert.equal(t.total(PC_BYTES_OUT), 0);
});
