// The poll loop's own behaviour is tested in poll_loop_test.ts; these cover
// what loops.ts decides: which loop runs, and the warm-up it hands over.
// The tests run in order: the warm-up runs once per process.
import assert from "node:assert/strict";
import { libc } from "../../ffi/libc.ts";
import { openLoopbackRig } from "../../ffi/loopback_rig.ts";
import { Readiness } from "../../ffi/readiness.ts";
import { TunDevice } from "../../ffi/tun.ts";
import { openUdp } from "../../ffi/udp.ts";
import { OPEN_OK } from "../data/verdicts.ts";
import { EndpointSlots } from "../device/datagram_socket.ts";
import { buildIcmpEcho } from "../testing/packet/builders.ts";
import { Datapath } from "./datapath.ts";
import { pollLoopCapable, pollLoopFor, runInsideLoop, runOutsideLoop } from "./loops.ts";
import { attachTestPeer, closeSetup, endLoops, setup } from "../testing/datapath/poll_setup.ts";
import { until } from "../testing/wait.ts";
import { warmedUp } from "./warm_up.ts";

Deno.test("runInsideLoop() on a device that opens no loopback rig runs the poll loop without a warm-up", async () => {
  const s = setup();
  try {
    const inside = runInsideLoop(s.dp);
    const outside = runOutsideLoop(s.dp);
    s.dev.inject(buildIcmpEcho({ src: "10.8.0.1", dst: "10.8.0.2" }));
    const bufs = [new Uint8Array(2048)];
    await until(() => s.peer.tryReceiveBatch(bufs, new Int32Array(1), new EndpointSlots(1), 0) === 1, {
      what: "a datagram",
    });
    assert.ok(pollLoopFor(s.dp).stats.slices > 0);
    assert.equal(warmedUp(), false);
    await endLoops(s, inside, outside);
  } finally {
    closeSetup(s);
  }
});

Deno.test("runInsideLoop() on a TunDevice warms the path up over the device's rigs, then carries packets", async () => {
  const lib = libc();
  const rig = openLoopbackRig(lib, (fd) => new TunDevice(lib, fd, new Readiness(lib, fd), "rig", "tun", 0));
  const peer = openUdp({ host: "127.0.0.1", port: 0 });
  try {
    const dp = new Datapath({
      mode: "single",
      device: rig.device,
      socket: rig.socket,
      batchSize: 8,
      slotSize: 2048,
    });
    assert.equal(pollLoopCapable(dp), true);
    const b = attachTestPeer(dp, peer.localPort);
    const inside = runInsideLoop(dp);
    const outside = runOutsideLoop(dp);
    const packet = buildIcmpEcho({ src: "10.8.0.1", dst: "10.8.0.2" });
    assert.equal(rig.hostWrite(packet, packet.length), true);
    const bufs = [new Uint8Array(2048)];
    const sizes = new Int32Array(1);
    await until(() => peer.tryReceiveBatch(bufs, sizes, new EndpointSlots(1), 0) === 1, {
      what: "a datagram at the peer",
    });
    assert.equal(warmedUp(), true);
    assert.equal(b.open(bufs[0], 0, sizes[0]), OPEN_OK);
    assert.deepEqual(bufs[0].subarray(b.plainOff, b.plainOff + b.plainLen), packet);
    rig.device.close();
    rig.socket.close();
    await inside;
    await outside;
  } finally {
    rig.close();
    peer.close();
  }
});
