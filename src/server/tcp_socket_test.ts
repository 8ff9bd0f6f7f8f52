import assert from "node:assert/strict";
import { EndpointSlots } from "../device/datagram_socket.ts";
import { TcpServerSocket } from "./tcp_socket.ts";

Deno.test("TcpServerSocket delivers length-framed packets with a connection row and answers on it", async () => {
  const closed: number[] = [];
  const sock = new TcpServerSocket({ hostname: "127.0.0.1", port: 0, onClose: (id) => closed.push(id) });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: sock.localPort });
  try {
    // Two frames, the second split across writes.
    await conn.write(Uint8Array.of(0, 3, 1, 2, 3, 0, 2, 9));
    await conn.write(Uint8Array.of(8));
    const bufs = [new Uint8Array(64), new Uint8Array(64)];
    const sizes = new Int32Array(2);
    const from = new EndpointSlots(2);
    let got = 0;
    while (got < 2) got += await sock.receiveBatch(bufs.slice(got), sizes.subarray(got), from, 4);
    assert.deepEqual([...bufs[0].subarray(4, 4 + sizes[0])], [1, 2, 3]);
    const id = TcpServerSocket.connectionOf(from, 0);
    assert.ok(id > 0);
    assert.match(sock.remoteOf(id), /^127\.0\.0\.1:\d+$/);
    assert.equal(sock.send(Uint8Array.of(7, 7, 5, 6), 2, 2, from, 0), true);
    const back = new Uint8Array(16);
    const n = await conn.read(back);
    assert.deepEqual([...back.subarray(0, n!)], [0, 2, 5, 6]);
    const unknown = new EndpointSlots(1);
    unknown.setIpv4(0, 0x7f000001, 1);
    assert.equal(sock.send(Uint8Array.of(1), 0, 1, unknown, 0), false, "a UDP row names no connection");
    conn.close();
    for (let i = 0; i < 100 && closed.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(closed, [id]);
  } finally {
    sock.close();
  }
});
