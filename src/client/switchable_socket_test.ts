import assert from "node:assert/strict";
import { FakeNetwork } from "../testing/datapath/fake_network.ts";
import { EndpointSlots } from "../device/datagram_socket.ts";
import { SwitchableSocket } from "./switchable_socket.ts";

const A = 0x0a000001, B = 0x0a000002;

function rig() {
  const net = new FakeNetwork();
  const peer = net.socket(B, 1194);
  const to = new EndpointSlots(1);
  to.setIpv4(0, B, 1194);
  const bufs = [new Uint8Array(64)];
  const sizes = new Int32Array(1);
  const from = new EndpointSlots(1);
  return { net, peer, to, bufs, sizes, from };
}

Deno.test("SwitchableSocket drops sends while no socket is in use and sends through the current one", () => {
  const { net, peer, to } = rig();
  const s = new SwitchableSocket();
  assert.equal(s.send(Uint8Array.of(1), 0, 1, to, 0), false);
  assert.equal(
    s.sendBatch([Uint8Array.of(1)], Int32Array.of(0), Int32Array.of(1), 1, to, Int32Array.of(0)),
    0,
  );
  const first = net.socket(A, 40000);
  s.use(first);
  assert.equal(s.localPort, 40000);
  assert.equal(s.send(Uint8Array.of(1, 2), 0, 2, to, 0), true);
  assert.equal(peer.take().length, 1);
  s.close();
});

Deno.test("SwitchableSocket.receiveBatch() waits across a switch and ignores the replaced socket", async () => {
  const { net, peer, bufs, sizes, from } = rig();
  const s = new SwitchableSocket();
  const pending = s.receiveBatch(bufs, sizes, from, 0);
  const first = net.socket(A, 40000);
  s.use(first);
  const second = net.socket(A, 40001);
  s.use(second);
  // A datagram to the replaced socket is not delivered; one to the new socket is.
  const back = new EndpointSlots(1);
  back.setIpv4(0, A, 40000);
  peer.send(Uint8Array.of(1), 0, 1, back, 0);
  back.setIpv4(0, A, 40001);
  peer.send(Uint8Array.of(2, 2), 0, 2, back, 0);
  assert.equal(await pending, 1);
  assert.deepEqual([...bufs[0].subarray(0, sizes[0])], [2, 2]);
  assert.equal(from.port(0), 1194);
  s.close();
  assert.equal(await s.receiveBatch(bufs, sizes, from, 0), 0);
});

Deno.test("SwitchableSocket.drop() closes only the socket it names and close() ends a pending receive", async () => {
  const { net, bufs, sizes, from } = rig();
  const s = new SwitchableSocket();
  const a = net.socket(A, 40000);
  const b = net.socket(A, 40001);
  s.use(a);
  s.drop(b);
  assert.equal(s.current, a);
  s.drop(a);
  assert.equal(s.current, null);
  const pending = s.receiveBatch(bufs, sizes, from, 0);
  s.close();
  assert.equal(await pending, 0);
  const late = net.socket(A, 40002);
  s.use(late);
  assert.equal(s.current, null);
});
