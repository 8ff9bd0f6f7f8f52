import assert from "node:assert/strict";
import { DataChannel } from "./data_channel.ts";
import { DATA_V2_OVERHEAD } from "./data_header.ts";
import type { CompressFraming } from "./framing.ts";
import { dataKeysFromParts } from "./key_material.ts";
import { OPEN_COMPRESSED, OPEN_OK } from "./verdicts.ts";
import { runHeapProbe } from "../testing/heap_probe.ts";

const KEY_A = { key: new Uint8Array(32).fill(1), iv: new Uint8Array(8).fill(2) };
const KEY_B = { key: new Uint8Array(32).fill(3), iv: new Uint8Array(8).fill(4) };

/** A sender and a receiver with matching keys; each side's framing chosen separately. */
function pair(send: CompressFraming, receive: CompressFraming): { tx: DataChannel; rx: DataChannel } {
  const tx = new DataChannel({ peerId: 5, framing: send });
  const rx = new DataChannel({ peerId: 5, framing: receive });
  const keys = (enc: typeof KEY_A, dec: typeof KEY_A) =>
    dataKeysFromParts("AES-256-GCM", {
      encryptKey: enc.key,
      encryptIv: enc.iv,
      decryptKey: dec.key,
      decryptIv: dec.iv,
    });
  tx.installKey(0, keys(KEY_A, KEY_B), 0);
  rx.installKey(0, keys(KEY_B, KEY_A), 0);
  return { tx, rx };
}

/** Seals `payload` (placed with 2 spare bytes of headroom) and opens it; returns the verdict and what came out. */
function carry(tx: DataChannel, rx: DataChannel, payload: number[]): { verdict: number; out: number[] } {
  const slot = new Uint8Array(128);
  const off = DATA_V2_OVERHEAD + 2;
  slot.set(payload, off);
  const n = tx.seal(slot, off, payload.length);
  assert.ok(n > 0, `seal failed: ${n}`);
  const wire = slot.slice(tx.sealOff, tx.sealOff + n);
  const verdict = rx.open(wire, 0, wire.length);
  return { verdict, out: [...wire.subarray(rx.plainOff, rx.plainOff + rx.plainLen)] };
}

const IP = [0x45, 0x00, 0x00, 0x1c, 9, 9, 9];
const MAC_50 = [0x50, 0x11, 0x22, 0x33];

Deno.test("framing: the bytes inside the encryption are OpenVPN's for comp-lzo no, compress stub and stub-v2", () => {
  const raw = (framing: CompressFraming, payload: number[]) => {
    const { tx, rx } = pair(framing, "none");
    const r = carry(tx, rx, payload);
    assert.equal(r.verdict, OPEN_OK);
    return r.out;
  };
  assert.deepEqual(raw("none", IP), IP);
  assert.deepEqual(raw("lzo-no", IP), [0xfa, ...IP]);
  assert.deepEqual(raw("stub", IP), [0xfb, ...IP.slice(1), IP[0]]);
  assert.deepEqual(raw("stub-v2", IP), IP, "stub-v2 adds nothing to an IP packet");
  assert.deepEqual(raw("stub-v2", MAC_50), [0x50, 0x00, ...MAC_50], "a payload starting 0x50 is escaped");
});

Deno.test("framing: each mode reads back what it wrote, one-byte payloads included", () => {
  for (const framing of ["none", "lzo-no", "stub", "stub-v2"] as const) {
    for (const payload of [IP, MAC_50, [0x50], [0xfb], [7]]) {
      const { tx, rx } = pair(framing, framing);
      assert.deepEqual(carry(tx, rx, payload), { verdict: OPEN_OK, out: payload }, `${framing} ${payload}`);
    }
  }
});

Deno.test("framing: a compressed payload (LZO 0x66, LZ4 0x69, v2 0x50 0x01) or a missing framing byte is dropped as compressed", () => {
  const cases: [CompressFraming, number[]][] = [
    ["lzo-no", [0x66, 1, 2]],
    ["lzo-no", IP],
    ["stub", [0x69, 1, 2]],
    ["stub", [0xfa, ...IP]],
    ["stub-v2", [0x50, 0x01, 1, 2]],
    ["stub-v2", [0x50]],
  ];
  for (const [framing, payload] of cases) {
    const { tx, rx } = pair("none", framing);
    assert.equal(carry(tx, rx, payload).verdict, OPEN_COMPRESSED, `${framing} ${payload}`);
    assert.equal(rx.openCounts[OPEN_COMPRESSED], 1);
  }
});

Deno.test("framing: seal refuses a payload without the headroom its framing needs, and uses no packet-id", () => {
  const { tx } = pair("lzo-no", "none");
  const slot = new Uint8Array(64);
  slot.set(IP, DATA_V2_OVERHEAD);
  assert.equal(tx.sealHeadroom(slot, DATA_V2_OVERHEAD), DATA_V2_OVERHEAD + 1);
  assert.ok(tx.seal(slot, DATA_V2_OVERHEAD, IP.length) < 0);
  assert.ok(tx.seal(slot, DATA_V2_OVERHEAD + 1, IP.length) > 0);
  const stub = pair("stub", "none").tx;
  assert.ok(stub.seal(slot, 64 - IP.length, IP.length) < 0, "stub needs one byte after the payload");
  const v2 = pair("stub-v2", "none").tx;
  slot[DATA_V2_OVERHEAD] = 0x50;
  assert.equal(v2.sealHeadroom(slot, DATA_V2_OVERHEAD), DATA_V2_OVERHEAD + 2);
  slot[DATA_V2_OVERHEAD] = 0x45;
  assert.equal(v2.sealHeadroom(slot, DATA_V2_OVERHEAD), DATA_V2_OVERHEAD);
});

Deno.test("framing: seal and open with each framing allocate nothing per packet", async () => {
  const channelUrl = new URL("./data_channel.ts", import.meta.url).href;
  const keysUrl = new URL("./key_material.ts", import.meta.url).href;
  const script = `
    import { DataChannel } from ${JSON.stringify(channelUrl)};
    import { dataKeysFromParts } from ${JSON.stringify(keysUrl)};
    const k = (a, b) => dataKeysFromParts("AES-256-GCM", {
      encryptKey: new Uint8Array(32).fill(a), encryptIv: new Uint8Array(8).fill(a),
      decryptKey: new Uint8Array(32).fill(b), decryptIv: new Uint8Array(8).fill(b),
    });
    const out = {};
    for (const framing of ["lzo-no", "stub", "stub-v2"]) {
      const tx = new DataChannel({ peerId: 1, framing, replayWindow: 65536 });
      const rx = new DataChannel({ peerId: 1, framing, replayWindow: 65536 });
      tx.installKey(0, k(1, 2), 0);
      rx.installKey(0, k(2, 1), 0);
      const slot = new Uint8Array(2048);
      let bad = 0;
      const run = (n) => {
        for (let i = 0; i < n; i++) {
          slot[26] = (i & 1) === 0 ? 0x45 : 0x50;
          const len = tx.seal(slot, 26, 1400);
          if (rx.open(slot, tx.sealOff, len) !== 0 || rx.plainLen !== 1400) bad++;
        }
      };
      run(20_000);
      const h = Deno.memoryUsage().heapUsed;
      run(100_000);
      out[framing] = { perPacket: (Deno.memoryUsage().heapUsed - h) / 100_000, bad };
    }
    console.log(JSON.stringify(out));
  `;
  const r = await runHeapProbe<Record<string, { perPacket: number; bad: number }>>(script, ["-A"]);
  for (const [framing, { perPacket, bad }] of Object.entries(r)) {
    assert.equal(bad, 0, framing);
    // One allocation per packet is >= 12 bytes (V8's smallest heap object); less is the runtime's noise.
    assert.ok(perPacket < 4, `${framing}: ${perPacket} bytes per packet`);
  }
  assert.deepEqual(Object.keys(r), ["lzo-no", "stub", "stub-v2"]);
});
