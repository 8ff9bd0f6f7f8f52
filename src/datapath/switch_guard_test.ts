import assert from "node:assert/strict";
import { runHeapProbe } from "../testing/heap_probe.ts";
import { buildEthernet } from "../testing/packet/builders.ts";
import { Rig } from "../testing/datapath/rig.ts";

const BCAST = "ff:ff:ff:ff:ff:ff";
const GATEWAY = "02:00:00:00:00:01";

function arp(src: string, dst = BCAST): Uint8Array {
  return buildEthernet({ dst, src, type: 0x0806, payload: new Uint8Array(28) });
}

function mac(i: number): string {
  return `02:00:00:01:${(i >> 8).toString(16).padStart(2, "0")}:${(i & 0xff).toString(16).padStart(2, "0")}`;
}

Deno.test("switch datapath drops frames from a client's MAC beyond max_macs_per_client, counted as mac_limit", async () => {
  const rig = new Rig({ mode: "switch", maxMacsPerClient: 4 });
  rig.addClient();
  for (let i = 0; i < 4; i++) await rig.clientSend(0, arp(mac(i)));
  assert.equal(rig.server.dev.take().length, 4, "the first four sources are forwarded");
  await rig.clientSend(0, arp(mac(4)), arp(mac(5)));
  assert.deepEqual(rig.server.dev.take(), [], "sources beyond the cap are not forwarded");
  assert.equal(rig.server.dp.counters.drop("mac_limit"), 2);
  assert.equal(rig.server.dp.macs.countOf(1), 4);
  await rig.clientSend(0, arp(mac(2)));
  assert.equal(rig.server.dev.take().length, 1, "known sources still pass");
  // The tap device (the bridged LAN) is not capped.
  for (let i = 100; i < 110; i++) await rig.fromDevice(rig.server, arp(mac(i)));
  assert.equal(rig.server.dp.macs.countOf(0), 10);
  assert.equal(rig.server.dp.counters.drop("mac_limit"), 2);
  // The default follows OpenVPN's max-routes-per-client.
  assert.equal(new Rig({ mode: "switch" }).server.dp.macs.maxPerPort, 256);
});

Deno.test("switch datapath refuses a client claiming the LAN gateway's or another client's MAC (mac_takeover)", async () => {
  const rig = new Rig({ mode: "switch", clientToClient: true });
  rig.addClient();
  rig.addClient();
  await rig.fromDevice(rig.server, arp(GATEWAY));
  rig.pumpClients();
  rig.clients.forEach((c) => c.dev.take());
  await rig.clientSend(0, arp("02:00:00:00:00:0a"));
  rig.pumpClients();
  rig.server.dev.take();
  rig.clients[1].dev.take();

  // Client 1 poses as the gateway: nothing is forwarded and the gateway stays on the tap port.
  await rig.clientSend(1, arp(GATEWAY));
  rig.pumpClients();
  assert.deepEqual(rig.server.dev.take(), []);
  assert.deepEqual(rig.clients[0].dev.take(), []);
  assert.equal(rig.server.dp.macs.lookup(0x020000000001), 0);
  // ... and as client 0.
  await rig.clientSend(1, arp("02:00:00:00:00:0a", GATEWAY));
  assert.deepEqual(rig.server.dev.take(), []);
  assert.equal(rig.server.dp.macs.lookup(0x02000000000a), 1);
  assert.equal(rig.server.dp.counters.drop("mac_takeover"), 2);
  // Frames to the gateway still reach the LAN only, not the impostor.
  const toGateway = arp("02:00:00:00:00:0a", GATEWAY);
  await rig.clientSend(0, toGateway);
  rig.pumpClients();
  assert.deepEqual(rig.server.dev.take(), [toGateway]);
  assert.deepEqual(rig.clients[1].dev.take(), []);
  const snapshotDrops = rig.server.dp.counters.dropRecord();
  assert.equal(snapshotDrops.mac_takeover, 2, "reported with the other drop reasons (status drops)");
});

Deno.test("switch datapath: a client that reconnects gets its MAC back once its old session is released", async () => {
  const rig = new Rig({ mode: "switch" });
  rig.addClient();
  const roaming = arp("02:00:00:00:00:0c");
  await rig.clientSend(0, roaming);
  rig.server.dev.take();
  rig.addClient(); // the same machine, new session, old one not yet gone
  await rig.clientSend(1, roaming);
  assert.deepEqual(rig.server.dev.take(), []);
  assert.equal(rig.server.dp.counters.drop("mac_takeover"), 1);
  rig.server.dp.releasePeer(0); // the old session ends (replaced, exit notification or timeout)
  await rig.clientSend(1, roaming);
  assert.deepEqual(rig.server.dev.take(), [roaming]);
  assert.equal(rig.server.dp.macs.lookup(0x02000000000c), 2);
  // A stale owner (silent for the MAC age) is taken over without release.
  const third = rig.addClient();
  rig.now += rig.server.dp.macs.maxAgeMs + 1;
  await rig.clientSend(2, roaming);
  assert.deepEqual(rig.server.dev.take(), [roaming]);
  assert.equal(rig.server.dp.macs.lookup(0x02000000000c), third.id + 1);
});

Deno.test("switch datapath refuses MAC floods and takeovers without allocating per frame", async () => {
  // A child with a fixed young generation, so heapUsed growth is the allocation (see ffi/README.md).
  const rigUrl = new URL("../testing/datapath/rig.ts", import.meta.url).href;
  const header = new URL("../data/data_header.ts", import.meta.url).href;
  const script = `
    import { Rig } from ${JSON.stringify(rigUrl)};
    // The datagram starts at 0 in the receive slot: its payload sits right after the 24-byte header.
    import { DATA_V2_OVERHEAD as HEADROOM } from ${JSON.stringify(header)};
    const rig = new Rig({ mode: "switch", maxMacsPerClient: 4 });
    const owner = rig.addClient();
    const attacker = rig.addClient();
    const frame = new Uint8Array(14 + 28);
    frame.fill(0xff, 0, 6);
    frame[12] = 0x08; frame[13] = 0x06;
    // The owner's MAC 02:00:00:00:00:0a, learned on its port.
    frame.set([2, 0, 0, 0, 0, 0x0a], 6);
    await rig.clientSend(owner.id, frame);
    const out = rig.server.outside;
    const sock = attacker.sock;
    out.from.setIpv4(0, sock.address, sock.localPort);
    const slot = out.bufs[0];
    // Sources from a counter kept below 2^30: larger numbers are heap objects
    // whenever the loop runs unoptimized, which would be the test's own allocation.
    const run = (n, base) => {
      for (let i = 0; i < n; i++) {
        slot.set(frame, HEADROOM);
        // Odd frames claim the owner's MAC; even ones carry a new source, 02:10:xx:xx:xx:77.
        if ((i & 1) === 0) {
          const k = base + i;
          slot[HEADROOM + 7] = 0x10;
          slot[HEADROOM + 8] = (k >> 16) & 0xff; slot[HEADROOM + 9] = (k >> 8) & 0xff;
          slot[HEADROOM + 10] = k & 0xff; slot[HEADROOM + 11] = 0x77;
        }
        out.sizes[0] = attacker.clientChannel.seal(slot, HEADROOM, frame.length);
        out.process(1);
      }
    };
    run(20_000, 0);
    rig.server.dev.take();
    const h = Deno.memoryUsage().heapUsed;
    run(100_000, 20_000);
    const perFrame = (Deno.memoryUsage().heapUsed - h) / 100_000;
    const c = rig.server.dp.counters;
    console.log(JSON.stringify({
      perFrame, limit: c.drop("mac_limit"), takeover: c.drop("mac_takeover"),
      forwarded: rig.server.dev.take().length,
    }));
  `;
  const r = await runHeapProbe(script, ["-A"]);
  assert.equal(r.takeover, 60_000, "every frame claiming the owner's MAC was refused");
  assert.equal(r.limit, 60_000 - 4, "every fresh source beyond the cap of 4 was refused");
  assert.equal(r.forwarded, 0);
  // One allocation per frame is ≥ 12 bytes (V8's smallest heap object); less is the runtime's own noise.
  assert.ok(r.perFrame < 4, `${r.perFrame} bytes per frame`);
});
