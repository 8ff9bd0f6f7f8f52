import assert from "node:assert/strict";
import type { CompressFraming } from "../data/framing.ts";
import { Rig } from "../testing/datapath/rig.ts";
import { buildEthernet, buildIcmpEcho } from "../testing/packet/builders.ts";

const FRAMINGS: CompressFraming[] = ["lzo-no", "stub", "stub-v2"];

function ping(src: string, dst: string, seq = 1): Uint8Array {
  return buildIcmpEcho({ src, dst, seq });
}

Deno.test("compression framing: packets cross client → server device, server → client and client → client relays intact", async () => {
  for (const framing of FRAMINGS) {
    const rig = new Rig({ mode: "router", clientToClient: true, channel: { framing } });
    rig.addClient(["10.8.0.2"]);
    rig.addClient(["10.8.0.3"]);
    const up = ping("10.8.0.2", "10.8.0.1");
    await rig.clientSend(0, up);
    assert.deepEqual(rig.server.dev.take(), [up], framing);
    const down = ping("10.8.0.1", "10.8.0.3");
    await rig.fromDevice(rig.server, down);
    const across = ping("10.8.0.2", "10.8.0.3", 2);
    await rig.clientSend(0, across);
    rig.pumpClients();
    assert.deepEqual(rig.clients[1].dev.take(), [down, across], framing);
    assert.equal(rig.server.dp.counters.stat("client_to_client"), 1, framing);
    assert.equal(rig.server.dp.counters.drop("compressed"), 0);
  }
});

Deno.test("compression framing: keepalive pings and the OCC exit are framed too, and recognised after unframing", () => {
  for (const framing of FRAMINGS) {
    let exited = -1;
    const rig = new Rig({ mode: "router", channel: { framing }, onExit: (id) => exited = id });
    const client = rig.addClient(["10.8.0.2"]);
    assert.ok(rig.server.dp.sendPing(client.id));
    rig.pump(client);
    assert.equal(client.dp.counters.stat("pings_in"), 1, framing);
    assert.ok(client.dp.sendExit(0));
    rig.pump(rig.server);
    assert.equal(exited, client.id, framing);
    assert.deepEqual(client.dev.take(), [], "nothing reached the client's device");
  }
});

Deno.test("compression framing stub-v2 in tap mode: a frame whose first byte is 0x50 is escaped and arrives whole", async () => {
  const rig = new Rig({ mode: "switch", channel: { framing: "stub-v2" } });
  const client = rig.addClient();
  const learn = buildEthernet({
    dst: "ff:ff:ff:ff:ff:ff",
    src: "50:00:00:00:00:0a",
    payload: new Uint8Array(46),
  });
  await rig.clientSend(0, learn);
  assert.deepEqual(rig.server.dev.take(), [learn]);
  const reply = buildEthernet({
    dst: "50:00:00:00:00:0a",
    src: "02:00:00:00:00:01",
    payload: new Uint8Array(46),
  });
  await rig.fromDevice(rig.server, reply);
  rig.pump(client);
  assert.deepEqual(client.dev.take(), [reply]);
});

Deno.test("compression framing: a peer whose framing differs (a compressing client) has its packets dropped as compressed", async () => {
  const rig = new Rig({ mode: "router", channel: { framing: "lzo-no" } });
  const client = rig.addClient(["10.8.0.2"]);
  client.clientChannel.framing = "none";
  await rig.clientSend(0, ping("10.8.0.2", "10.8.0.1"));
  assert.deepEqual(rig.server.dev.take(), []);
  assert.equal(rig.server.dp.counters.drop("compressed"), 1);
});
