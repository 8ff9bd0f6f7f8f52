import assert from "node:assert/strict";
import { clampMss, clampMss4, clampMss6, MSS_CLAMPED, MSS_UNCHANGED } from "./mss.ts";
import { buildTcpSyn, buildUdp, transportChecksumOk } from "../testing/packet/builders.ts";

function mssOf(pkt: Uint8Array): number {
  const tcp = pkt[0] >> 4 === 6 ? 40 : 20;
  const end = tcp + ((pkt[tcp + 12] >> 4) << 2);
  for (let p = tcp + 20; p < end;) {
    if (pkt[p] === 0) break;
    if (pkt[p] === 1) {
      p++;
      continue;
    }
    if (pkt[p] === 2) return (pkt[p + 2] << 8) | pkt[p + 3];
    p += pkt[p + 1];
  }
  return -1;
}

const V4 = { src: "10.8.0.6", dst: "93.184.216.34", srcPort: 40000, dstPort: 443 };
const V6 = { src: "fd00:8::1000", dst: "2001:db8::80", srcPort: 40000, dstPort: 443 };

Deno.test("clampMss4() lowers a large MSS in a SYN and keeps the checksum valid", () => {
  const pkt = buildTcpSyn({ ...V4, mss: 1460 });
  assert.equal(transportChecksumOk(pkt), true);
  assert.equal(clampMss4(pkt, 0, pkt.length, 1360), MSS_CLAMPED);
  assert.equal(mssOf(pkt), 1360);
  assert.equal(transportChecksumOk(pkt), true);
});

Deno.test("clampMss4() handles SYN-ACK and an MSS option at an odd offset", () => {
  const synAck = buildTcpSyn({ ...V4, mss: 1460, ack: true, optionsAfter: [1, 3, 3, 7] });
  assert.equal(clampMss4(synAck, 0, synAck.length, 1400), MSS_CLAMPED);
  assert.equal(mssOf(synAck), 1400);
  assert.equal(transportChecksumOk(synAck), true);
  for (let nops = 1; nops <= 3; nops++) {
    const pkt = buildTcpSyn({ ...V4, mss: 0xfff1, optionsBefore: new Array(nops).fill(1) });
    assert.equal(clampMss4(pkt, 0, pkt.length, 0x0102), MSS_CLAMPED);
    assert.equal(mssOf(pkt), 0x0102);
    assert.equal(transportChecksumOk(pkt), true, `${nops} NOPs before MSS`);
  }
});

Deno.test("clampMss4() leaves small MSS, missing MSS, non-SYN, non-TCP and later fragments alone", () => {
  const small = buildTcpSyn({ ...V4, mss: 1200 });
  const copy = small.slice();
  assert.equal(clampMss4(small, 0, small.length, 1360), MSS_UNCHANGED);
  assert.deepEqual(small, copy);
  const none = buildTcpSyn({ ...V4 });
  assert.equal(clampMss4(none, 0, none.length, 1360), MSS_UNCHANGED);
  const notSyn = buildTcpSyn({ ...V4, mss: 1460 });
  notSyn[20 + 13] = 0x10; // ACK only
  assert.equal(clampMss4(notSyn, 0, notSyn.length, 1360), MSS_UNCHANGED);
  const udp = buildUdp({ ...V4 });
  assert.equal(clampMss4(udp, 0, udp.length, 1360), MSS_UNCHANGED);
  const frag = buildTcpSyn({ ...V4, mss: 1460 });
  frag[7] = 1;
  assert.equal(clampMss4(frag, 0, frag.length, 1360), MSS_UNCHANGED);
});

Deno.test("clampMss4() never throws on truncated or corrupt options", () => {
  const base = buildTcpSyn({ ...V4, mss: 1460, optionsAfter: [4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2] });
  for (let len = 0; len <= base.length; len++) {
    const pkt = base.slice();
    assert.doesNotThrow(() => clampMss4(pkt, 0, len, 1000));
  }
  let seed = 99;
  for (let trial = 0; trial < 2000; trial++) {
    const pkt = base.slice();
    for (let i = 40; i < pkt.length; i++) pkt[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    const verdict = clampMss4(pkt, 0, pkt.length, 1000);
    assert.ok(verdict === MSS_CLAMPED || verdict === MSS_UNCHANGED);
    if (verdict === MSS_CLAMPED) assert.equal(transportChecksumOk(pkt), true);
  }
  const badDoff = buildTcpSyn({ ...V4, mss: 1460 });
  badDoff[32] = 0xf0; // 60-byte TCP header in a 44-byte segment
  assert.equal(clampMss4(badDoff, 0, badDoff.length, 1000), MSS_UNCHANGED);
  const zeroLenOpt = buildTcpSyn({ ...V4, optionsBefore: [8, 0], mss: 1460 });
  assert.equal(clampMss4(zeroLenOpt, 0, zeroLenOpt.length, 1000), MSS_UNCHANGED);
});

Deno.test("clampMss6() lowers the MSS of an IPv6 SYN", () => {
  const pkt = buildTcpSyn({ ...V6, mss: 1440 });
  assert.equal(transportChecksumOk(pkt), true);
  assert.equal(clampMss6(pkt, 0, pkt.length, 1340), MSS_CLAMPED);
  assert.equal(mssOf(pkt), 1340);
  assert.equal(transportChecksumOk(pkt), true);
  const hop = buildTcpSyn({ ...V6, mss: 1440 });
  hop[6] = 0; // hop-by-hop header first: not walked, like OpenVPN
  assert.equal(clampMss6(hop, 0, hop.length, 1340), MSS_UNCHANGED);
});

Deno.test("clampMss() applies OpenVPN's mssfix value, 20 less for IPv6", () => {
  const v4 = buildTcpSyn({ ...V4, mss: 1460 });
  const v6 = buildTcpSyn({ ...V6, mss: 1460 });
  assert.equal(clampMss(v4, 0, v4.length, 1400), MSS_CLAMPED);
  assert.equal(clampMss(v6, 0, v6.length, 1400), MSS_CLAMPED);
  assert.equal(mssOf(v4), 1400);
  assert.equal(mssOf(v6), 1380);
  assert.equal(clampMss(new Uint8Array(0), 0, 0, 1400), MSS_UNCHANGED);
  assert.equal(clampMss(new Uint8Array([0x20]), 0, 1, 1400), MSS_UNCHANGED);
});
