import assert from "node:assert/strict";
import { buildIcmpEcho } from "../testing/packet/builders.ts";
import { runInsideLoop, runOutsideLoop } from "./loops.ts";
import { Rig } from "../testing/datapath/rig.ts";
import { until } from "../testing/wait.ts";

Deno.test("Datapath.tick() pings a peer after the idle interval and not before", () => {
  const rig = new Rig({ mode: "router", pingIntervalMs: 10_000 });
  rig.addClient(["10.8.0.2"]);
  const c = rig.clients[0];
  rig.now += 9_000;
  rig.server.dp.tick();
  assert.equal(c.sock.pending, 0);
  rig.now += 1_000;
  rig.server.dp.tick();
  assert.equal(c.sock.pending, 1);
  rig.pump(c);
  assert.equal(c.dp.counters.stat("pings_in"), 1);
  assert.deepEqual(c.dev.take(), [], "pings never reach the device");
  rig.server.dp.tick();
  assert.equal(c.sock.pending, 0, "sending reset the idle time");
});

Deno.test("Datapath.tick() reports a peer silent for the timeout", async () => {
  const timedOut: number[] = [];
  const rig = new Rig({ mode: "router", timeoutMs: 120_000, onTimeout: (id) => timedOut.push(id) });
  rig.addClient(["10.8.0.2"]);
  rig.addClient(["10.8.0.3"]);
  rig.now += 100_000;
  await rig.clientSend(1, buildIcmpEcho({ src: "10.8.0.3", dst: "10.8.0.1" }));
  rig.now += 20_000;
  rig.server.dp.tick();
  assert.deepEqual(timedOut, [0]);
});

Deno.test("Datapath.releasePeer() removes the peer's routes, and its packets become unknown", async () => {
  const rig = new Rig({ mode: "router" });
  rig.addClient(["10.8.0.2", "192.168.9.0/24"]);
  assert.equal(rig.server.dp.routes.size, 2);
  rig.server.dp.releasePeer(0);
  assert.equal(rig.server.dp.routes.size, 0);
  await rig.clientSend(0, buildIcmpEcho({ src: "10.8.0.2", dst: "10.8.0.1" }));
  assert.equal(rig.server.dp.counters.drop("unknown_peer"), 1);
  assert.equal(rig.server.dp.reservePeer(), 0, "the id is free again");
});

Deno.test("Datapath.releasePeer() removes a tap peer's port and learned MACs", async () => {
  const rig = new Rig({ mode: "switch" });
  rig.addClient();
  const { buildEthernet } = await import("../testing/packet/builders.ts");
  await rig.clientSend(0, buildEthernet({ dst: "ff:ff:ff:ff:ff:ff", src: "02:00:00:00:00:01", type: 0x806 }));
  assert.equal(rig.server.dp.macs.size, 1);
  rig.server.dp.releasePeer(0);
  assert.equal(rig.server.dp.macs.size, 0);
  assert.equal(rig.server.dp.ports.count, 0);
});

Deno.test("runInsideLoop() and runOutsideLoop() carry packets both ways until the device and socket close", async () => {
  const rig = new Rig({ mode: "router" });
  rig.addClient(["10.8.0.2"]);
  const c = rig.clients[0];
  const loops = [
    runInsideLoop(rig.server.dp),
    runOutsideLoop(rig.server.dp),
    runInsideLoop(c.dp),
    runOutsideLoop(c.dp),
  ];
  const up = buildIcmpEcho({ src: "10.8.0.2", dst: "10.8.0.1" });
  const down = buildIcmpEcho({ src: "10.8.0.1", dst: "10.8.0.2", reply: true });
  c.dev.inject(up);
  rig.server.dev.inject(down);
  await until(() => rig.server.dev.written.length > 0 && c.dev.written.length > 0, {
    what: "a packet written on each side",
  });
  assert.deepEqual(rig.server.dev.take(), [up]);
  assert.deepEqual(c.dev.take(), [down]);
  for (const n of [rig.server, c]) {
    n.dev.close();
    n.sock.close();
  }
  await Promise.all(loops);
});
