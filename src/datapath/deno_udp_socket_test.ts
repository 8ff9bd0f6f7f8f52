import assert from "node:assert/strict";
import { EndpointSlots } from "../device/datagram_socket.ts";
import { DenoUdpSocket } from "./deno_udp_socket.ts";

Deno.test("DenoUdpSocket.receiveBatch() delivers a loopback datagram with its source endpoint", async () => {
  const a = DenoUdpSocket.listen("127.0.0.1", 0);
  const b = DenoUdpSocket.listen("127.0.0.1", 0);
  try {
    const to = new EndpointSlots(1);
    to.setIpv4(0, 0x7f000001, b.localPort);
    const slot = new Uint8Array(64);
    slot.set([1, 2, 3, 4], 10);
    assert.equal(a.sendBatch([slot], Int32Array.of(10), Int32Array.of(4), 1, to, Int32Array.of(0)), 1);
    const bufs = [new Uint8Array(100)];
    const sizes = new Int32Array(1);
    const from = new EndpointSlots(1);
    assert.equal(await b.receiveBatch(bufs, sizes, from, 8), 1);
    assert.equal(sizes[0], 4);
    assert.deepEqual([...bufs[0].subarray(8, 12)], [1, 2, 3, 4]);
    assert.equal(from.format(0), `127.0.0.1:${a.localPort}`);
  } finally {
    a.close();
    b.close();
  }
});
