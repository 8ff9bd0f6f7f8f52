/**
 * The allocation probe behind src/mesh/direct_path_test.ts: alice seals IP packets to
 * bob through DirectPath and bob receives them, as the datapath will, with
 * one receive buffer and a socket that copies without allocating. Run it in
 * a child with a fixed young generation so heapUsed growth is allocation.
 */

import { parseIpv4 } from "../../addr/ip.ts";
import { EndpointSlots } from "../../device/datagram_socket.ts";
import { buildUdp } from "../packet/builders.ts";
import { DirectPath, RX_DELIVER } from "../../mesh/direct_path.ts";
import { directTable, testPairKeys } from "./keys.ts";
import { MESH_OVERHEAD } from "../../mesh/wire.ts";

/** Bytes of heap growth per packet over `n` packets after a warm-up. */
export function directPathBytesPerPacket(n: number): number {
  const keys = testPairKeys("AES-256-GCM", 1, 2);
  const rx = new Uint8Array(2048);
  let rxLen = 0;
  const socket = {
    send: (buf: Uint8Array, off: number, len: number): boolean => {
      for (let i = 0; i < len; i++) rx[i] = buf[off + i];
      rxLen = len;
      return true;
    },
  };
  const events = { otherSource: () => {}, reply: () => false };
  const alice = new DirectPath(
    directTable(keys.aliceKeys, "bob", ["10.8.0.3/32"], "openssl").table,
    socket,
    events,
    () => 0,
  );
  const bob = new DirectPath(
    directTable(keys.bobKeys, "alice", ["10.8.0.2/32"], "openssl").table,
    socket,
    events,
    () => 0,
  );
  const pkt = buildUdp({
    src: "10.8.0.2",
    dst: "10.8.0.3",
    srcPort: 1,
    dstPort: 2,
    payload: new Uint8Array(1200),
  });
  const slots = Array.from({ length: 8 }, () => new Uint8Array(MESH_OVERHEAD + pkt.length));
  const from = new EndpointSlots(1);
  from.setIpv4(0, parseIpv4("198.51.100.9"), 1194);
  const run = (count: number) => {
    for (let i = 0; i < count; i++) {
      const slot = slots[i & 7];
      slot.set(pkt, MESH_OVERHEAD);
      alice.queueData(0, slot, MESH_OVERHEAD, pkt.length);
      alice.flush();
      if (bob.receive(rx, 0, rxLen, from, 0) !== RX_DELIVER) throw new Error("not delivered");
    }
  };
  run(20_000);
  const before = Deno.memoryUsage().heapUsed;
  run(n);
  return (Deno.memoryUsage().heapUsed - before) / n;
}
