/**
 * Key lifetime on the datapath: the batch path (every KEY_CHECK_MS) and
 * Datapath.tick() report worn-out send keys (reneg_bytes either way, packet-id
 * near exhaustion) through onRekeyDue, and
 * a replaced key stops opening packets once its transition window passed.
 */

import assert from "node:assert/strict";
import { DataChannel } from "../data/data_channel.ts";
import { DEFAULT_TRANSITION_WINDOW_MS, PACKET_ID_REKEY_THRESHOLD } from "../data/key_lifetime.ts";
import { dataKeysFromParts } from "../data/key_material.ts";
import { buildIcmpEcho } from "../testing/packet/builders.ts";
import { KEY_CHECK_MS } from "./datapath.ts";
import { Rig, type RigClient } from "../testing/datapath/rig.ts";

/** 100 + 28 bytes of IPv4/ICMP: each packet counts 148 bytes towards reneg_bytes (20 per packet on top). */
const up = (seq: number) => buildIcmpEcho({ src: "10.8.0.2", dst: "10.8.0.1", seq, payloadLen: 100 });
const down = (seq: number) =>
  buildIcmpEcho({ src: "10.8.0.1", dst: "10.8.0.2", seq, payloadLen: 100, reply: true });
const COUNTED = 148;

function rekeyRig(renegBytes: number) {
  const due: number[] = [];
  const rig = new Rig({ mode: "router", channel: { renegBytes }, onRekeyDue: (id) => due.push(id) });
  rig.addClient(["10.8.0.2"]);
  return { rig, due, c: rig.clients[0] };
}

Deno.test("Datapath reports a key that received reneg_bytes from the batch path, at most every KEY_CHECK_MS", async () => {
  const { rig, due, c } = rekeyRig(10 * COUNTED);
  for (let i = 0; i < 9; i++) {
    rig.now += KEY_CHECK_MS;
    await rig.clientSend(0, up(i));
  }
  assert.deepEqual(due, [], "nine packets are below the limit");
  rig.now += KEY_CHECK_MS - 1;
  await rig.clientSend(0, up(9));
  assert.equal(rig.server.dev.take().length, 10);
  assert.equal(c.serverChannel.rekeyReason, "bytes");
  assert.deepEqual(due, [], "the batch path looks only every KEY_CHECK_MS");
  rig.now += 1;
  await rig.clientSend(0, up(10));
  assert.deepEqual(due, [c.id]);
  rig.server.dp.tick();
  assert.deepEqual(due, [c.id, c.id], "and every tick, until a new key is installed");
});

Deno.test("Datapath.tick() reports a key that sent reneg_bytes through onRekeyDue", async () => {
  const { rig, due, c } = rekeyRig(10 * COUNTED);
  for (let i = 0; i < 10; i++) await rig.fromDevice(rig.server, down(i));
  rig.pumpClients();
  assert.equal(c.dev.take().length, 10);
  rig.server.dp.tick();
  assert.deepEqual(due, [c.id]);
  assert.equal(c.serverChannel.keyCounters(0)![3], 0, "the server received nothing: only sent bytes counted");
});

Deno.test("Datapath.tick() reports a key whose packet-id reached the wrap trigger, without reneg_bytes", () => {
  const { rig, due, c } = rekeyRig(0);
  DataChannel.forceSendPacketIdForTest(c.serverChannel, PACKET_ID_REKEY_THRESHOLD - 2);
  rig.server.dp.tick();
  assert.deepEqual(due, []);
  rig.server.dp.sendPing(c.id);
  rig.server.dp.tick();
  assert.deepEqual(due, [], "0xFEFFFFFF used");
  rig.server.dp.sendPing(c.id);
  rig.server.dp.tick();
  assert.deepEqual(due, [c.id]);
  assert.equal(c.serverChannel.rekeyReason, "packet-id");
});

/** Installs fresh key `keyId` on both ends of the client's pair at the rig's time. */
function rekey(rig: Rig, c: RigClient, keyId: number): void {
  const rand = (n: number) => crypto.getRandomValues(new Uint8Array(n));
  const c2s = { key: rand(32), iv: rand(8) };
  const s2c = { key: rand(32), iv: rand(8) };
  const part = (enc: typeof c2s, dec: typeof c2s) =>
    dataKeysFromParts("AES-256-GCM", {
      encryptKey: enc.key,
      encryptIv: enc.iv,
      decryptKey: dec.key,
      decryptIv: dec.iv,
    });
  c.serverChannel.installKey(keyId, part(s2c, c2s), rig.now);
  c.clientChannel.installKey(keyId, part(c2s, s2c), rig.now);
}

Deno.test("Datapath drops and counts a packet under the replaced key once the transition window passed", async () => {
  const { rig, c } = rekeyRig(0);
  // Two datagrams sealed under key 0, delivered late: one inside the window, one after it.
  await rig.fromDevice(c, up(1));
  await rig.fromDevice(c, up(2));
  const [early, late] = rig.server.sock.take();
  const deliver = (bytes: Uint8Array) =>
    rig.server.sock.enqueue({ bytes, fromAddr: c.sock.address, fromPort: c.sock.localPort });
  rekey(rig, c, 1);
  assert.equal(c.serverChannel.previousKeyId, 0);
  rig.now += DEFAULT_TRANSITION_WINDOW_MS - 1;
  rig.server.dp.tick();
  deliver(early);
  rig.pump(rig.server);
  assert.equal(rig.server.dev.take().length, 1, "the old key still opens inside the window");
  rig.now += 1;
  rig.server.dp.tick();
  assert.equal(c.serverChannel.previousKeyId, -1, "dropped at the deadline");
  deliver(late);
  rig.pump(rig.server);
  assert.deepEqual(rig.server.dev.take(), []);
  assert.equal(rig.server.dp.counters.drop("unknown_key_id"), 1);
  await rig.clientSend(0, up(3));
  assert.equal(rig.server.dev.take().length, 1, "the new key carries traffic");
});
