/**
 * Data-channel pieces other than the cipher: replay window, header codec,
 * payload detectors, and DataChannel seal+open end to end (default backend).
 *
 *   deno bench -A bench/data_bench.ts
 */

import { DataChannel } from "../src/data/data_channel.ts";
import { peekPeerId, readU32, writeDataV2Header } from "../src/data/data_header.ts";
import { isPing, writePing } from "../src/data/keepalive_ping.ts";
import { dataKeysFromKey2 } from "../src/data/key_material.ts";
import { isOccExit } from "../src/data/occ.ts";
import { REPLAY_OK, ReplayWindow } from "../src/data/replay_window.ts";
import { OPEN_BAD_TAG, OPEN_OK, OPEN_REPLAY } from "../src/data/verdicts.ts";

// ---- replay window ----

{
  const w = new ReplayWindow(1024);
  let id = 0;
  Deno.bench({ name: "ReplayWindow check+commit, in order", group: "replay", baseline: true }, () => {
    id++;
    if (w.check(id) === REPLAY_OK) w.commit(id);
  });
}
{
  const w = new ReplayWindow(1024);
  let base = 0;
  const order = [3, 0, 1, 7, 2, 5, 4, 6];
  Deno.bench({ name: "ReplayWindow check+commit, reordered by up to 7", group: "replay" }, () => {
    base += 8;
    for (let i = 0; i < 8; i++) {
      const id = base + order[i];
      if (w.check(id) === REPLAY_OK) w.commit(id);
    }
  });
}
{
  const w = new ReplayWindow(1024);
  for (let id = 1; id <= 5000; id++) w.commit(id);
  let i = 0;
  Deno.bench({ name: "ReplayWindow check, duplicate (dropped)", group: "replay" }, () => {
    w.check(4000 + (i++ & 511));
  });
}
{
  const w = new ReplayWindow(1024);
  let id = 1;
  Deno.bench({ name: "ReplayWindow check+commit, forward jumps of 5000", group: "replay" }, () => {
    id += 5000;
    if (w.check(id) === REPLAY_OK) w.commit(id);
  });
}

// ---- header codec and payload detectors ----

{
  const buf = new Uint8Array(64);
  let pid = 0;
  Deno.bench({ name: "writeDataV2Header", group: "codec" }, () => {
    writeDataV2Header(buf, 0, 3, 0x00abcd, ++pid);
  });
  writeDataV2Header(buf, 0, 3, 0x00abcd, 1);
  Deno.bench({ name: "peekPeerId + readU32(packet-id)", group: "codec" }, () => {
    if (peekPeerId(buf, 0, 64) < 0 || readU32(buf, 4) === 0) throw new Error("Bad header in bench");
  });
  const ping = new Uint8Array(40);
  writePing(ping, 8);
  Deno.bench({ name: "isPing (hit) + isOccExit (miss)", group: "codec" }, () => {
    if (!isPing(ping, 8, 16) || isOccExit(ping, 8, 16)) throw new Error("Detector mismatch in bench");
  });
}

// ---- DataChannel end to end ----

for (const cipher of ["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"] as const) {
  const key2 = crypto.getRandomValues(new Uint8Array(256));
  const tx = new DataChannel({ peerId: 5 });
  const rx = new DataChannel({ peerId: 5 });
  tx.installKey(0, dataKeysFromKey2(key2, { cipher, role: "client" }), 0);
  rx.installKey(0, dataKeysFromKey2(key2, { cipher, role: "server" }), 0);
  const slot = crypto.getRandomValues(new Uint8Array(24 + 1400));
  Deno.bench({ name: `DataChannel seal+open ${cipher} 1400B`, group: "channel" }, () => {
    const n = tx.seal(slot, 24, 1400);
    if (rx.open(slot, 0, n) !== OPEN_OK) throw new Error("Open failed in bench");
  });
  // Fresh receivers, so the seal+open bench above cannot push these packet-ids out of the window.
  const rxForged = new DataChannel({ peerId: 5 });
  rxForged.installKey(0, dataKeysFromKey2(key2, { cipher, role: "server" }), 0);
  const rxReplay = new DataChannel({ peerId: 5 });
  rxReplay.installKey(0, dataKeysFromKey2(key2, { cipher, role: "server" }), 0);
  const forged = slot.slice();
  const n = tx.seal(forged, 24, 1400);
  forged[30] ^= 1;
  const work = forged.slice();
  Deno.bench({ name: `DataChannel open forged (BAD_TAG) ${cipher} 1400B`, group: "channel" }, () => {
    if (rxForged.open(work, 0, n) !== OPEN_BAD_TAG) throw new Error("Expected BAD_TAG in bench");
  });
  const replayed = slot.slice();
  const m = tx.seal(replayed, 24, 1400);
  if (rxReplay.open(replayed.slice(), 0, m) !== OPEN_OK) throw new Error("Open failed in bench");
  Deno.bench({ name: `DataChannel open replayed (REPLAY) ${cipher} 1400B`, group: "channel" }, () => {
    if (rxReplay.open(replayed, 0, m) !== OPEN_REPLAY) throw new Error("Expected REPLAY in bench");
  });
}
