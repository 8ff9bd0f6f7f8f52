import assert from "node:assert/strict";
import {
  checksumUpdate16,
  finishChecksum,
  ipv4HeaderChecksum,
  onesComplementSum,
  transportChecksum,
} from "./checksum.ts";
import { buildUdp } from "../testing/packet/builders.ts";

Deno.test("onesComplementSum() and finishChecksum() match the RFC 1071 example", () => {
  const bytes = new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
  assert.equal(onesComplementSum(bytes, 0, 8), 0x2ddf0);
  assert.equal(finishChecksum(0x2ddf0), 0x220d);
  // An odd trailing byte counts as the high byte of a zero-padded word.
  assert.equal(onesComplementSum(new Uint8Array([0x12, 0x34, 0x56]), 0, 3), 0x1234 + 0x5600);
});

Deno.test("ipv4HeaderChecksum() reproduces a known header's checksum", () => {
  const hdr = new Uint8Array([
    0x45,
    0x00,
    0x00,
    0x73,
    0x00,
    0x00,
    0x40,
    0x00,
    0x40,
    0x11,
    0xb8,
    0x61,
    0xc0,
    0xa8,
    0x00,
    0x01,
    0xc0,
    0xa8,
    0x00,
    0xc7,
  ]);
  assert.equal(ipv4HeaderChecksum(hdr, 0), 0xb861);
});

Deno.test("checksumUpdate16() equals a full recomputation after a word changes", () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
  for (let trial = 0; trial < 500; trial++) {
    const data = new Uint8Array(32).map(() => rnd() & 0xff);
    const before = finishChecksum(onesComplementSum(data, 0, 32));
    const at = (rnd() % 16) * 2;
    const oldWord = (data[at] << 8) | data[at + 1];
    const newWord = rnd() & 0xffff;
    data[at] = newWord >> 8;
    data[at + 1] = newWord & 0xff;
    const full = finishChecksum(onesComplementSum(data, 0, 32));
    const incremental = checksumUpdate16(before, oldWord, newWord);
    // 0x0000 and 0xffff are the same value in one's complement arithmetic.
    assert.equal(incremental % 0xffff, full % 0xffff, `trial ${trial}`);
  }
});

Deno.test("transportChecksum() matches a reference computed from an explicit pseudo-header", () => {
  for (const [src, dst] of [["10.8.0.2", "192.168.7.9"], ["fd00:8::1000", "2001:db8::77"]]) {
    const pkt = buildUdp({ src, dst, srcPort: 5353, dstPort: 53, payload: new Uint8Array([1, 2, 3, 4, 5]) });
    const v6 = src.includes(":");
    const seg = pkt.subarray(v6 ? 40 : 20);
    const pseudo = v6
      ? [...pkt.subarray(8, 40), 0, 0, 0, seg.length, 0, 0, 0, 17]
      : [...pkt.subarray(12, 20), 0, 17, 0, seg.length];
    const copy = [...seg];
    copy[6] = 0;
    copy[7] = 0;
    const all = new Uint8Array([...pseudo, ...copy]);
    const expected = finishChecksum(onesComplementSum(all, 0, all.length));
    assert.equal(transportChecksum(pkt, 0, 6), expected);
    assert.equal((seg[6] << 8) | seg[7], expected);
  }
});
