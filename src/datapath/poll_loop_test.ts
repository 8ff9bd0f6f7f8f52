import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { openUdp } from "../../ffi/udp.ts";
import { OPEN_OK } from "../data/verdicts.ts";
import { EndpointSlots } from "../device/datagram_socket.ts";
import { buildIcmpEcho } from "../testing/packet/builders.ts";
import { Datapath } from "./datapath.ts";
import { pollLoopCapable, pollLoopFor, runInsideLoop, runOutsideLoop } from "./loops.ts";
import { PollLoop, QUIET_MS, QUIET_SLICE_MS } from "./poll_loop.ts";
import { InsidePipeline } from "./inside.ts";
import { OutsidePipeline } from "./outside.ts";
import type { DatagramSocketHolder } from "../device/pollable.ts";
import { FakeDevice } from "../testing/datapath/fake_device.ts";
import { FakeNetwork } from "../testing/datapath/fake_network.ts";
import {
  attachTestPeer,
  closeSetup,
  endLoops,
  EventfdDevice,
  sealData,
  sendData,
  setup,
} from "../testing/datapath/poll_setup.ts";
import { pause, until } from "../testing/wait.ts";
import type { DatagramSocket } from "../device/datagram_socket.ts";

Deno.test("pollLoopCapable() holds for an fd-backed device and socket, not for in-memory fakes", () => {
  const s = setup();
  try {
    assert.equal(pollLoopCapable(s.dp), true);
    const fake = new Datapath({ mode: "single", device: new FakeDevice(), socket: s.sock });
    assert.equal(pollLoopCapable(fake), false);
  } finally {
    closeSetup(s);
  }
});

Deno.test("runInsideLoop() and runOutsideLoop() share one poll loop that carries packets both ways and ends on close", async () => {
  const s = setup();
  try {
    const inside = runInsideLoop(s.dp);
    const outside = runOutsideLoop(s.dp);
    // Outside → device: the peer seals and sends; the loop opens and writes to the device.
    const up = buildIcmpEcho({ src: "10.8.0.2", dst: "10.8.0.1" });
    for (let i = 0; i < 3; i++) sendData(s, up);
    await until(() => s.dev.written.length === 3, { what: "three packets on the device" });
    for (const p of s.dev.take()) assert.deepEqual(p, up);
    // Device → outside: the host writes into the device; the peer receives a sealed datagram.
    const down = buildIcmpEcho({ src: "10.8.0.1", dst: "10.8.0.2", reply: true });
    s.dev.inject(down);
    const bufs = [new Uint8Array(2048)];
    const sizes = new Int32Array(1);
    const from = new EndpointSlots(1);
    await until(() => s.peer.tryReceiveBatch(bufs, sizes, from, 0) === 1, { what: "a datagram at the peer" });
    assert.equal(s.peerChannel.open(bufs[0], 0, sizes[0]), OPEN_OK);
    assert.deepEqual(
      bufs[0].subarray(s.peerChannel.plainOff, s.peerChannel.plainOff + s.peerChannel.plainLen),
      down,
    );
    const stats = pollLoopFor(s.dp).stats;
    assert.ok(stats.slices > 0);
    // Each direction ends with its own source.
    let insideDone = false;
    inside.then(() => insideDone = true);
    s.dev.close();
    await inside;
    assert.equal(insideDone, true);
    s.sock.close();
    await outside;
  } finally {
    closeSetup(s);
  }
});

Deno.test("PollLoop runs the warm-up it is handed once, before its first slice", async () => {
  const s = setup();
  const seen: { slices: number; written: number }[] = [];
  const loop = new PollLoop(s.dp, (dp) => {
    assert.equal(dp, s.dp);
    seen.push({ slices: loop.stats.slices, written: s.dev.written.length });
  });
  try {
    const inside = loop.runInside(new InsidePipeline(s.dp));
    const outside = loop.runOutside(new OutsidePipeline(s.dp));
    sendData(s, buildIcmpEcho({ src: "10.8.0.2", dst: "10.8.0.1" }));
    await until(() => s.dev.written.length === 1, { what: "a packet on the device" });
    assert.deepEqual(seen, [{ slices: 0, written: 0 }]);
    await endLoops(s, inside, outside);
    assert.equal(seen.length, 1);
  } finally {
    closeSetup(s);
  }
});

Deno.test("PollLoop ends a direction when its AbortSignal aborts", async () => {
  const s = setup();
  try {
    const ctl = new AbortController();
    const inside = runInsideLoop(s.dp, ctl.signal);
    const outside = runOutsideLoop(s.dp);
    ctl.abort();
    await inside;
    // The outside direction keeps working.
    sendData(s, buildIcmpEcho({ src: "10.8.0.2", dst: "10.8.0.1" }));
    await until(() => s.dev.written.length === 1, { what: "a packet on the device" });
    s.sock.close();
    await outside;
  } finally {
    closeSetup(s);
  }
});

/** Sends a (control-looking) datagram to 127.0.0.1:`port` every millisecond for `ms`, from a child process (so JS here can stay blocked). */
function spray(port: number, ms: number): Deno.ChildProcess {
  const code = `const s = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
const end = Date.now() + ${ms};
const junk = new Uint8Array(40).fill(0x20);
while (Date.now() < end) {
  await s.send(junk, { transport: "udp", hostname: "127.0.0.1", port: ${port} });
  await new Promise((r) => setTimeout(r, 1));
}
s.close();`;
  return new Deno.Command(Deno.execPath(), {
    args: ["eval", "--unstable-net", code],
    stdout: "null",
    stderr: "null",
  })
    .spawn();
}

Deno.test("PollLoop lets Deno serve its own sockets while packets keep it polling synchronously", async () => {
  const s = setup();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const sprayer = spray(s.sock.localPort, 3000);
  try {
    const inside = runInsideLoop(s.dp);
    const outside = runOutsideLoop(s.dp);
    const stats = pollLoopFor(s.dp).stats;
    await until(() => s.dp.counters.stat("control_packets") > 20, { what: "sprayed datagrams at the loop" });
    const waitsBefore = stats.asyncWaits;
    // A TCP echo on Deno's own sockets, served by this process while the loop slices.
    const echo = (async () => {
      const c = await listener.accept();
      const b = new Uint8Array(16);
      const n = await c.read(b);
      await c.write(b.subarray(0, n ?? 0));
      c.close();
    })();
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: (listener.addr as Deno.NetAddr).port });
    await conn.write(new TextEncoder().encode("ping"));
    const reply = new Uint8Array(16);
    const n = await conn.read(reply);
    conn.close();
    await echo;
    assert.equal(new TextDecoder().decode(reply.subarray(0, n ?? 0)), "ping");
    assert.ok(stats.ioTurns > 0, JSON.stringify(stats));
    assert.equal(stats.asyncWaits, waitsBefore, "served while the loop stayed synchronous");
    await endLoops(s, inside, outside);
  } finally {
    try {
      sprayer.kill();
    } catch {
      // Already done.
    }
    await sprayer.status;
    listener.close();
    s.dev.close();
    s.sock.close();
    s.peer.close();
  }
});

Deno.test("PollLoop sleeps in long slices while no packets flow and goes back to short ones with traffic", async () => {
  const s = setup();
  const up = buildIcmpEcho({ src: "10.8.0.2", dst: "10.8.0.1" });
  try {
    const inside = runInsideLoop(s.dp);
    const outside = runOutsideLoop(s.dp);
    const stats = pollLoopFor(s.dp).stats;
    sendData(s, up);
    await until(() => s.dev.written.length === 1, { what: "a packet on the device" });
    // Quiet: 400 ms (within IDLE_MS of that packet, so the loop still polls synchronously).
    // Real time is the scenario here: the loop picks its slice length from the wall clock
    // since the last packet, and the test counts the slices it runs in a measured period.
    await pause(QUIET_MS + 30);
    const quiet0 = { ...stats };
    await pause(400);
    const quietSlices = stats.slices - quiet0.slices;
    assert.equal(stats.asyncWaits, quiet0.asyncWaits, "still synchronous");
    // 400 ms in QUIET_SLICE_MS slices is ~8; in SLICE_MS slices it would be ~100.
    assert.ok(quietSlices <= Math.ceil(400 / QUIET_SLICE_MS) * 2, `quiet: ${quietSlices} slices`);
    // Traffic: a data packet every ~2 ms for 200 ms; slices are SLICE_MS long again.
    const busy0 = stats.slices;
    for (let i = 0; i < 100; i++) {
      sendData(s, up);
      await pause(2); // Pacing: traffic spread over ~200 ms of slices, not one burst.
    }
    const busySlices = stats.slices - busy0;
    assert.ok(busySlices > quietSlices, `busy: ${busySlices} slices, quiet: ${quietSlices}`);
    await until(() => s.dev.written.length === 101, { what: "every packet on the device" });
    await endLoops(s, inside, outside);
  } finally {
    closeSetup(s);
  }
});

Deno.test("PollLoop ends a quiet slice at once when a control packet hands work to the event loop", async () => {
  const waits: number[] = [];
  let sentAt = 0;
  const s = setup({
    // As the control plane does: the packet's work continues in the event loop.
    onControl: () => void setImmediate(() => waits.push(performance.now() - sentAt)),
  });
  try {
    const inside = runInsideLoop(s.dp);
    const outside = runOutsideLoop(s.dp);
    const stats = pollLoopFor(s.dp).stats;
    const control = new Uint8Array(40).fill(0x20); // opcode 4 (P_CONTROL_V1), key id 0
    for (let i = 0; i < 5; i++) {
      await pause(QUIET_MS + 30); // Scenario: the loop has gone quiet (long slices) when the packet comes.
      sentAt = performance.now();
      s.peer.send(control, 0, control.length, s.toServer, 0);
      await until(() => waits.length === i + 1, { what: "the control packet's event loop work" });
    }
    assert.equal(stats.handoffs, 5, JSON.stringify(stats));
    // Without the hand-off the work would wait for the quiet slice's end (QUIET_SLICE_MS / 2 on average).
    const sorted = [...waits].sort((a, b) => a - b);
    assert.ok(sorted[2] < QUIET_SLICE_MS / 2, `median wait ${sorted[2].toFixed(1)} ms`);
    await endLoops(s, inside, outside);
  } finally {
    closeSetup(s);
  }
});

Deno.test("PollLoop keeps its slice for a control datagram the control plane refused at once", async () => {
  let refused = 0;
  const s = setup({
    onControl: () => {
      refused++;
      return false;
    },
  });
  try {
    const inside = runInsideLoop(s.dp);
    const outside = runOutsideLoop(s.dp);
    const stats = pollLoopFor(s.dp).stats;
    const control = new Uint8Array(40).fill(0x20); // opcode 4 (P_CONTROL_V1), key id 0
    for (let i = 0; i < 5; i++) s.peer.send(control, 0, control.length, s.toServer, 0);
    await until(() => refused === 5, { what: "five refused control datagrams" });
    assert.equal(stats.handoffs, 0, JSON.stringify(stats));
    assert.equal(s.dp.rejected, 5);
    await endLoops(s, inside, outside);
  } finally {
    closeSetup(s);
  }
});

Deno.test("PollLoop paces its socket reads while junk floods the socket, counts every datagram, and still delivers", async () => {
  const s = setup();
  try {
    const inside = runInsideLoop(s.dp);
    const outside = runOutsideLoop(s.dp);
    const pacer = pollLoopFor(s.dp).pacer;
    // This thread both sends and runs the loop (which blocks it while asleep): a rate it can reach.
    pacer.threshold = 2000;
    // P_DATA_V2 for peer 0 that fails its tag: rejected before authentication.
    const junk = new Uint8Array(40).fill(0x11);
    junk[0] = 0x48;
    junk[1] = junk[2] = junk[3] = 0;
    const burst = 40; // well within the default kernel receive buffer
    let sent = 0;
    // Scenario pacing: a burst every few ms.
    for (let b = 0; b < 100; b++) {
      for (let i = 0; i < burst; i++) if (s.peer.send(junk, 0, junk.length, s.toServer, 0)) sent++;
      await pause(2);
    }
    await until(() => s.dp.rejected === sent, {
      what: `${sent} junk datagrams rejected`,
      detail: () => `${s.dp.rejected} so far`,
    });
    assert.ok(pacer.pacedWindows > 0, "pacing engaged");
    sendData(s, buildIcmpEcho({ src: "10.8.0.2", dst: "10.8.0.1" }));
    await until(() => s.dev.written.length === 1, { what: "a genuine packet after the flood" });
    await until(() => !pacer.paced, { what: "pacing ends once the flood stops" });
    await endLoops(s, inside, outside);
  } finally {
    closeSetup(s);
  }
});

/** A reconnecting socket as the client has one: `current` changes, `closed` ends it. */
class Holder implements DatagramSocketHolder {
  current: DatagramSocket | null = null;
  closed = false;
  get localPort(): number {
    return this.current?.localPort ?? 0;
  }
  receiveBatch(): Promise<number> {
    throw new Error("The poll loop must read the current socket, not the holder");
  }
  send(buf: Uint8Array, offset: number, length: number, to: EndpointSlots, row: number): boolean {
    return this.current?.send(buf, offset, length, to, row) ?? false;
  }
  sendBatch(
    bufs: Uint8Array[],
    offsets: Int32Array,
    sizes: Int32Array,
    count: number,
    to: EndpointSlots,
    rows: Int32Array,
  ): number {
    return this.current?.sendBatch(bufs, offsets, sizes, count, to, rows) ?? 0;
  }
  close(): void {
    this.closed = true;
    this.current?.close();
    this.current = null;
  }
}

Deno.test("PollLoop follows a socket holder: an fd socket read synchronously, then one without an fd, until closed", async () => {
  const dev = new EventfdDevice("tun");
  const holder = new Holder();
  const udp = openUdp({ host: "127.0.0.1", port: 0 });
  const peer = openUdp({ host: "127.0.0.1", port: 0 });
  try {
    const dp = new Datapath({ mode: "single", device: dev, socket: holder, batchSize: 8 });
    assert.equal(pollLoopCapable(dp), true);
    const peerChannel = attachTestPeer(dp, peer.localPort);
    const inside = runInsideLoop(dp);
    const outside = runOutsideLoop(dp);
    const up = buildIcmpEcho({ src: "10.8.0.2", dst: "10.8.0.1" });
    // Between sockets the loop serves the device alone: it keeps slicing.
    await until(() => pollLoopFor(dp).stats.slices >= 2, { what: "poll loop slices with no socket" });
    // An fd-backed socket.
    holder.current = udp;
    const toUdp = new EndpointSlots(1);
    toUdp.setIpv4(0, 0x7f000001, udp.localPort);
    const d1 = sealData(peerChannel, up);
    peer.send(d1, 0, d1.length, toUdp, 0);
    await until(() => dev.written.length === 1, { what: "a packet through the fd socket" });
    // A socket without an fd (as a TCP connection is): served by its own receiveBatch.
    const net = new FakeNetwork();
    const fake = net.socket(0x0a000001, 1194);
    const sender = net.socket(0x0a000002, 5000);
    holder.current = fake;
    udp.close();
    const d2 = sealData(peerChannel, up);
    const to = fake.endpoint();
    sender.send(d2, 0, d2.length, to, 0);
    await until(() => dev.written.length === 2, { what: "a packet through the socket without an fd" });
    assert.ok(pollLoopFor(dp).stats.asyncTurns > 0);
    holder.close();
    await outside;
    dev.close();
    await inside;
  } finally {
    dev.close();
    udp.close();
    peer.close();
  }
});
