import assert from "node:assert/strict";
import { EndpointSlots } from "../src/device/datagram_socket.ts";
import type { LoopbackRig } from "../src/device/pollable.ts";
import { libc } from "./libc.ts";
import { openLoopbackRig } from "./loopback_rig.ts";
import { Readiness } from "./readiness.ts";
import { TunDevice } from "./tun.ts";

const lib = libc();

function tunRig(vnetHeader = false): LoopbackRig {
  return openLoopbackRig(
    lib,
    (fd) => new TunDevice(lib, fd, new Readiness(lib, fd), "rig", "tun", 0, vnetHeader),
  );
}

Deno.test("openLoopbackRig() joins the host end to the device and the socket to itself", () => {
  const rig = tunRig();
  try {
    const packet = Uint8Array.of(0x45, 1, 2, 3, 4, 5);
    assert.equal(rig.hostWrite(packet, packet.length), true);
    const bufs = [new Uint8Array(64)];
    const sizes = new Int32Array(1);
    assert.equal(rig.device.tryReadBatch(bufs, sizes, 8), 1);
    assert.deepEqual(bufs[0].subarray(8, 8 + sizes[0]), packet);
    assert.equal(rig.device.write(packet, 0, 4), true);
    const back = new Uint8Array(64);
    assert.equal(rig.hostRead(back), 4);
    assert.deepEqual(back.subarray(0, 4), packet.subarray(0, 4));
    assert.ok(rig.hostRead(back) <= 0, "nothing more waits");
    const self = new EndpointSlots(1);
    self.setIpv4(0, 0x7f000001, rig.socket.localPort);
    assert.equal(rig.socket.send(packet, 0, packet.length, self, 0), true);
    const from = new EndpointSlots(1);
    let got = 0;
    for (let i = 0; i < 100 && got === 0; i++) got = rig.socket.tryReceiveBatch(bufs, sizes, from, 0);
    assert.equal(got, 1);
    assert.deepEqual(bufs[0].subarray(0, sizes[0]), packet);
    assert.equal(from.port(0), rig.socket.localPort);
  } finally {
    rig.close();
  }
  assert.equal(rig.device.closed, true);
  assert.equal(rig.socket.closed, true);
});

Deno.test("TunDevice.openPoller() waits on the device's fd; openLoopbackRig() gives a device of its own class", () => {
  const rig = tunRig(true);
  const twin = rig.device.openLoopbackRig!(true);
  const polls = rig.device.openPoller(2);
  try {
    assert.ok(twin.device instanceof TunDevice);
    assert.equal((twin.device as TunDevice).vnetHeader, true);
    polls.setFd(0, rig.device.fd);
    polls.setFd(1, twin.device.fd);
    assert.equal(polls.waitSync(0), 0);
    // With a virtio-net header the device drops the first 10 bytes it reads.
    const frame = new Uint8Array(10 + 20).fill(0x45, 10);
    assert.equal(twin.hostWrite(frame, frame.length), true);
    assert.equal(polls.waitSync(1000), 1);
    const bufs = [new Uint8Array(64)];
    const sizes = new Int32Array(1);
    assert.equal(twin.device.tryReadBatch(bufs, sizes, 10), 1);
    assert.equal(sizes[0], 20);
  } finally {
    polls.close();
    twin.close();
    rig.close();
  }
});

Deno.test("openLoopbackRig() leaves nothing open when the device cannot be built", () => {
  // Counting /proc/self/fd would race with test files running in parallel in this process:
  // a libc stand-in records what the rig opens and closes instead.
  const closed: number[] = [];
  const recording = {
    socketpair: (_domain: number, _type: number, _protocol: number, pair: Int32Array) => {
      pair[0] = 1000;
      pair[1] = 1001;
      return 0;
    },
    close: (fd: number) => closed.push(fd) && 0,
  } as unknown as typeof lib;
  assert.throws(
    () =>
      openLoopbackRig(recording, () => {
        throw new Error("no device");
      }),
    /no device/,
  );
  assert.deepEqual(closed.sort(), [1000, 1001], "both ends of the socketpair are closed");
});
