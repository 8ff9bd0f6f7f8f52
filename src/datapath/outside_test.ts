import assert from "node:assert/strict";
import { buildEthernet, buildIcmpEcho, buildTcpSyn } from "../testing/packet/builders.ts";
import { DATA_V2_OVERHEAD } from "../data/data_header.ts";
import { Rig } from "../testing/datapath/rig.ts";
import { parseIpv4 } from "../addr/ip.ts";

function ping(src: string, dst: string, seq = 1): Uint8Array {
  return buildIcmpEcho({ src, dst, seq });
}

Deno.test("OutsidePipeline.process() writes a routed packet from a client to the device", async () => {
  const rig = new Rig({ mode: "router" });
  rig.addClient(["10.8.0.2"]);
  const pkt = ping("10.8.0.2", "10.8.0.1");
  await rig.clientSend(0, pkt);
  assert.deepEqual(rig.server.dev.take(), [pkt]);
  assert.equal(rig.server.dp.peers.counter(0, 0), 1, "packets in counted");
});

Deno.test("InsidePipeline.process() routes a device packet to the owning client only", async () => {
  const rig = new Rig({ mode: "router" });
  rig.addClient(["10.8.0.2"]);
  rig.addClient(["10.8.0.3", "192.168.50.0/24"]);
  const a = ping("10.8.0.1", "10.8.0.2");
  const b = ping("10.8.0.1", "192.168.50.7");
  const nowhere = ping("10.8.0.1", "10.8.0.99");
  await rig.fromDevice(rig.server, a, b, nowhere);
  rig.pumpClients();
  assert.deepEqual(rig.clients[0].dev.take(), [a]);
  assert.deepEqual(rig.clients[1].dev.take(), [b], "iroute reached through its owner");
  assert.equal(rig.server.dp.counters.drop("no_route"), 1);
});

Deno.test("OutsidePipeline.process() relays client to client inside the process when client_to_client is on", async () => {
  const rig = new Rig({ mode: "router", clientToClient: true });
  rig.addClient(["10.8.0.2"]);
  rig.addClient(["10.8.0.3"]);
  const pkt = ping("10.8.0.2", "10.8.0.3");
  await rig.clientSend(0, pkt);
  assert.deepEqual(rig.server.dev.take(), [], "never touches the device");
  rig.pumpClients();
  assert.deepEqual(rig.clients[1].dev.take(), [pkt]);
  assert.deepEqual(rig.clients[0].dev.take(), []);
  assert.equal(rig.server.dp.counters.stat("client_to_client"), 1);
});

Deno.test("OutsidePipeline.process() hands client-to-client packets to the device when client_to_client is off", async () => {
  const rig = new Rig({ mode: "router", clientToClient: false });
  rig.addClient(["10.8.0.2"]);
  rig.addClient(["10.8.0.3"]);
  const pkt = ping("10.8.0.2", "10.8.0.3");
  await rig.clientSend(0, pkt);
  assert.deepEqual(rig.server.dev.take(), [pkt]);
  rig.pumpClients();
  assert.deepEqual(rig.clients[1].dev.take(), []);
});

Deno.test("OutsidePipeline.process() drops and counts a spoofed source", async () => {
  const rig = new Rig({ mode: "router", clientToClient: true });
  rig.addClient(["10.8.0.2"]);
  rig.addClient(["10.8.0.3"]);
  await rig.clientSend(0, ping("10.8.0.3", "10.8.0.1"), ping("172.16.0.1", "10.8.0.1"));
  assert.deepEqual(rig.server.dev.take(), []);
  assert.equal(rig.server.dp.counters.drop("spoofed"), 2);
});

Deno.test("OutsidePipeline.process() accepts sources inside a client's iroute", async () => {
  const rig = new Rig({ mode: "router" });
  rig.addClient(["10.8.0.2", "192.168.50.0/24"]);
  const pkt = ping("192.168.50.9", "10.8.0.1");
  await rig.clientSend(0, pkt);
  assert.deepEqual(rig.server.dev.take(), [pkt]);
  assert.equal(rig.server.dp.counters.drop("spoofed"), 0);
});

Deno.test("OutsidePipeline.process() routes IPv6 and checks IPv6 sources", async () => {
  const rig = new Rig({ mode: "router", clientToClient: true });
  rig.addClient(["fd00:8::1000"]);
  rig.addClient(["fd00:8::1001"]);
  const good = ping("fd00:8::1000", "fd00:8::1001");
  await rig.clientSend(0, good, ping("fd00:8::1001", "fd00:8::1"));
  rig.pumpClients();
  assert.deepEqual(rig.clients[1].dev.take(), [good]);
  assert.equal(rig.server.dp.counters.drop("spoofed"), 1);
});

Deno.test("OutsidePipeline.process() consumes keepalive pings without touching the device", () => {
  const rig = new Rig({ mode: "router" });
  const c = rig.addClient(["10.8.0.2"]);
  rig.now += 5000;
  assert.equal(c.dp.sendPing(0), true);
  rig.pump(rig.server);
  assert.deepEqual(rig.server.dev.take(), []);
  assert.equal(rig.server.dp.counters.stat("pings_in"), 1);
  assert.equal(rig.server.dp.peers.lastRx[0], rig.now, "liveness refreshed");
});

Deno.test("OutsidePipeline.process() reports an OCC exit from a peer", () => {
  const exits: number[] = [];
  const rig = new Rig({ mode: "router", onExit: (id) => exits.push(id) });
  const c = rig.addClient(["10.8.0.2"]);
  c.dp.sendExit(0);
  rig.pump(rig.server);
  assert.deepEqual(exits, [0]);
  assert.deepEqual(rig.server.dev.take(), []);
});

Deno.test("OutsidePipeline.process() floats a peer only on an authenticated packet", async () => {
  const floats: number[] = [];
  const rig = new Rig({ mode: "router", float: true, onFloat: (id) => floats.push(id) });
  const c = rig.addClient(["10.8.0.2"]);
  const sealed = new Uint8Array(200);
  // A forged datagram from a new address naming the peer changes nothing.
  c.sock.address = parseIpv4("203.0.113.5");
  sealed[0] = 9 << 3;
  sealed[3] = c.id;
  sealed[7] = 1;
  c.sock.send(sealed, 0, 100, rig.server.sock.endpoint(), 0);
  rig.pump(rig.server);
  assert.equal(rig.server.dp.counters.drop("bad_tag"), 1);
  assert.equal(rig.server.dp.peers.endpoints.format(c.id), "198.51.100.10:40000");
  assert.deepEqual(floats, []);
  // An authenticated one moves it, and replies follow.
  await rig.clientSend(0, ping("10.8.0.2", "10.8.0.1"));
  assert.deepEqual(floats, [0]);
  assert.equal(rig.server.dp.peers.endpoints.format(c.id), "203.0.113.5:40000");
  const back = ping("10.8.0.1", "10.8.0.2");
  await rig.fromDevice(rig.server, back);
  rig.pumpClients();
  assert.deepEqual(c.dev.take(), [back]);
});

Deno.test("OutsidePipeline.process() counts replays and unknown peers without forwarding", () => {
  const rig = new Rig({ mode: "router" });
  const c = rig.addClient(["10.8.0.2"]);
  const slot = new Uint8Array(200);
  const pkt = ping("10.8.0.2", "10.8.0.1");
  slot.set(pkt, DATA_V2_OVERHEAD);
  const n = c.clientChannel.seal(slot, DATA_V2_OVERHEAD, pkt.length);
  const dst = rig.server.sock.endpoint();
  c.sock.send(slot, 0, n, dst, 0);
  c.sock.send(slot, 0, n, dst, 0);
  slot[3] = 7; // peer-id nobody holds
  c.sock.send(slot, 0, n, dst, 0);
  rig.pump(rig.server);
  assert.equal(rig.server.dev.take().length, 1);
  assert.equal(rig.server.dp.counters.drop("replay"), 1);
  assert.equal(rig.server.dp.counters.drop("unknown_peer"), 1);
});

Deno.test("OutsidePipeline.process() counts malformed inner packets and keeps going", () => {
  const rig = new Rig({ mode: "router" });
  rig.addClient(["10.8.0.2"]);
  const c = rig.clients[0];
  const bad = ping("10.8.0.2", "10.8.0.1");
  bad[3] = 200; // total length beyond the packet
  const garbage = Uint8Array.of(0x12, 1, 2, 3, 4, 5);
  const good = ping("10.8.0.2", "10.8.0.1", 2);
  for (const p of [bad, garbage, good]) {
    // Sealed directly: the client's own pipeline would already drop the garbage.
    const slot = new Uint8Array(DATA_V2_OVERHEAD + p.length);
    slot.set(p, DATA_V2_OVERHEAD);
    const n = c.clientChannel.seal(slot, DATA_V2_OVERHEAD, p.length);
    c.sock.send(slot, 0, n, rig.server.sock.endpoint(), 0);
  }
  rig.pump(rig.server);
  assert.deepEqual(rig.server.dev.take(), [good]);
  assert.equal(rig.server.dp.counters.drop("malformed"), 2);
});

Deno.test("OutsidePipeline.process() drops multicast in tun mode", async () => {
  const rig = new Rig({ mode: "router" });
  rig.addClient(["10.8.0.2"]);
  await rig.clientSend(0, buildIcmpEcho({ src: "10.8.0.2", dst: "224.0.0.251" }));
  assert.equal(rig.server.dp.counters.drop("multicast_in_tun"), 1);
});

Deno.test("OutsidePipeline.process() passes control packets to onControl with their source", () => {
  const seen: string[] = [];
  const rig = new Rig({
    mode: "router",
    onControl: (buf, off, len, from, row) => void seen.push(`${buf[off] >> 3}:${len}:${from.format(row)}`),
  });
  const c = rig.addClient(["10.8.0.2"]);
  const hardReset = new Uint8Array(14);
  hardReset[0] = 7 << 3;
  c.sock.send(hardReset, 0, 14, rig.server.sock.endpoint(), 0);
  rig.pump(rig.server);
  assert.deepEqual(seen, ["7:14:198.51.100.10:40000"]);
});

Deno.test("OutsidePipeline.process() clamps the MSS of TCP SYNs from clients", async () => {
  const rig = new Rig({ mode: "router", mssfix: 1400 });
  rig.addClient(["10.8.0.2"]);
  await rig.clientSend(
    0,
    buildTcpSyn({ src: "10.8.0.2", dst: "10.8.0.1", srcPort: 1, dstPort: 2, mss: 1460 }),
  );
  const [out] = rig.server.dev.take();
  assert.equal((out[42] << 8) | out[43], 1360);
  assert.equal(rig.server.dp.counters.stat("mss_clamped"), 1);
});

Deno.test("OutsidePipeline.process() switches tap frames: learns, floods, then unicasts", async () => {
  const rig = new Rig({ mode: "switch", clientToClient: true });
  rig.addClient();
  rig.addClient();
  rig.addClient();
  const bcast = buildEthernet({ dst: "ff:ff:ff:ff:ff:ff", src: "02:00:00:00:00:01", type: 0x0806 });
  await rig.clientSend(0, bcast);
  rig.pumpClients();
  assert.deepEqual(rig.server.dev.take(), [bcast], "the tap device always gets floods");
  assert.deepEqual(rig.clients[1].dev.take(), [bcast]);
  assert.deepEqual(rig.clients[2].dev.take(), [bcast]);
  assert.deepEqual(rig.clients[0].dev.take(), [], "never back to the sender");
  const reply = buildEthernet({ dst: "02:00:00:00:00:01", src: "02:00:00:00:00:02", type: 0x0806 });
  await rig.clientSend(1, reply);
  rig.pumpClients();
  assert.deepEqual(rig.clients[0].dev.take(), [reply], "learned MAC gets unicast");
  assert.deepEqual(rig.clients[2].dev.take(), []);
  assert.deepEqual(rig.server.dev.take(), []);
  assert.equal(rig.server.dp.macs.lookup(0x020000000001), 1);
  assert.equal(rig.server.dp.macs.lookup(0x020000000002), 2);
});

Deno.test("OutsidePipeline.process() keeps client frames off other clients without client_to_client", async () => {
  const rig = new Rig({ mode: "switch", clientToClient: false });
  rig.addClient();
  rig.addClient();
  const bcast = buildEthernet({ dst: "ff:ff:ff:ff:ff:ff", src: "02:00:00:00:00:01", type: 0x0806 });
  await rig.clientSend(0, bcast);
  rig.pumpClients();
  assert.deepEqual(rig.server.dev.take(), [bcast]);
  assert.deepEqual(rig.clients[1].dev.take(), []);
});

Deno.test("InsidePipeline.process() floods tap-device broadcasts to every client and unicasts learned MACs", async () => {
  const rig = new Rig({ mode: "switch" });
  rig.addClient();
  rig.addClient();
  const bcast = buildEthernet({ dst: "ff:ff:ff:ff:ff:ff", src: "02:00:00:00:00:aa", type: 0x0806 });
  await rig.fromDevice(rig.server, bcast);
  rig.pumpClients();
  assert.deepEqual(rig.clients[0].dev.take(), [bcast]);
  assert.deepEqual(rig.clients[1].dev.take(), [bcast]);
  const fromB = buildEthernet({ dst: "02:00:00:00:00:aa", src: "02:00:00:00:00:0b", type: 0x0806 });
  await rig.clientSend(1, fromB);
  assert.deepEqual(rig.server.dev.take(), [fromB]);
  const toB = buildEthernet({ dst: "02:00:00:00:00:0b", src: "02:00:00:00:00:aa", type: 0x0806 });
  await rig.fromDevice(rig.server, toB);
  rig.pumpClients();
  assert.deepEqual(rig.clients[1].dev.take(), [toB]);
  assert.deepEqual(rig.clients[0].dev.take(), []);
});
