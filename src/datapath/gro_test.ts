import assert from "node:assert/strict";
import { runHeapProbe } from "../testing/heap_probe.ts";
import {
  finishChecksum,
  ipv4HeaderChecksum,
  onesComplementSum,
  transportChecksum,
} from "../packet/checksum.ts";
import { buildUdp, transportChecksumOk } from "../testing/packet/builders.ts";
import { GRO_AREA_BYTES, GRO_MAX_BYTES, gsoCapable, type GsoDevice, TcpCoalescer } from "./gro.ts";

const SLOT = 2048;
const OFF = 24;

interface SegOptions {
  v6?: boolean;
  seq: number;
  payload: number;
  psh?: boolean;
  flags?: number;
  id?: number;
  srcPort?: number;
  ack?: number;
  tsval?: number;
}

/** An IPv4 or IPv6 TCP segment with a timestamp option and valid checksums. */
function segment(o: SegOptions): Uint8Array {
  const ip = o.v6 ? 40 : 20;
  const thl = 32;
  const len = ip + thl + o.payload;
  const p = new Uint8Array(len);
  if (o.v6) {
    p[0] = 0x60;
    p[1] = 0x01; // traffic class / flow label bits
    p[4] = (len - 40) >> 8;
    p[5] = (len - 40) & 0xff;
    p[6] = 6;
    p[7] = 64;
    p.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], 8);
    p.set([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 24);
  } else {
    p[0] = 0x45;
    p[2] = len >> 8;
    p[3] = len & 0xff;
    const id = o.id ?? 0x1000;
    p[4] = id >> 8;
    p[5] = id & 0xff;
    p[6] = 0x40; // DF
    p[8] = 64;
    p[9] = 6;
    p.set([10, 8, 0, 2, 10, 8, 0, 1], 12);
    const c = ipv4HeaderChecksum(p, 0);
    p[10] = c >> 8;
    p[11] = c & 0xff;
  }
  const t = ip;
  const sport = o.srcPort ?? 40000;
  p[t] = sport >> 8;
  p[t + 1] = sport & 0xff;
  p[t + 2] = 0x14;
  p[t + 3] = 0x51;
  const seq = o.seq >>> 0;
  p.set([seq >>> 24, (seq >>> 16) & 0xff, (seq >>> 8) & 0xff, seq & 0xff], t + 4);
  const ack = o.ack ?? 0x01020304;
  p.set([ack >>> 24, (ack >>> 16) & 0xff, (ack >>> 8) & 0xff, ack & 0xff], t + 8);
  p[t + 12] = (thl / 4) << 4;
  p[t + 13] = o.flags ?? (0x10 | (o.psh ? 0x08 : 0));
  p[t + 14] = 0x01;
  p[t + 15] = 0xf5;
  const ts = o.tsval ?? 77;
  p.set([1, 1, 8, 10, 0, 0, ts >> 8, ts & 0xff, 0, 0, 0, 9], t + 20);
  for (let i = 0; i < o.payload; i++) p[ip + thl + i] = (seq + i) & 0xff;
  const c = transportChecksum(p, 0, 16);
  p[t + 16] = c >> 8;
  p[t + 17] = c & 0xff;
  return p;
}

/** A stream of full segments (and a shorter last one) starting at `seq`. */
function stream(n: number, mss: number, seq: number, o: Partial<SegOptions> = {}): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const last = i === n - 1;
    out.push(
      segment({
        ...o,
        seq: seq + i * mss,
        payload: last && o.psh ? mss - 100 : mss,
        id: 0x1000 + i,
        psh: last && o.psh,
      }),
    );
  }
  return out;
}

/**
 * A device that undoes GRO as the kernel's segmentation would, so a test can
 * compare what reached it with what was sent: each super-packet is cut into
 * `gsoSize` segments with sequence numbers, lengths, IPv4 ids and checksums
 * recomputed (the TCP checksum completed from the partial one).
 */
class ResegmentingDevice implements GsoDevice {
  readonly kind = "tun";
  readonly vnetHeader = true;
  readonly out: Uint8Array[] = [];
  readonly gso: number[] = [];

  write(buf: Uint8Array, off: number, len: number): boolean {
    this.out.push(buf.slice(off, off + len));
    return true;
  }

  writeGso(
    buf: Uint8Array,
    off: number,
    len: number,
    gsoType: number,
    gsoSize: number,
    hdrLen: number,
    csumStart: number,
    csumOffset: number,
  ): boolean {
    const p = buf.slice(off, off + len);
    const v6 = p[0] >> 4 === 6;
    assert.equal(gsoType, v6 ? 4 : 1);
    assert.equal(csumStart, v6 ? 40 : 20);
    assert.equal(csumOffset, 16);
    // The partial checksum completes to the full checksum of the super-packet.
    const at = csumStart + csumOffset;
    const partial = (p[at] << 8) | p[at + 1];
    p[at] = 0;
    p[at + 1] = 0;
    const full = finishChecksum(onesComplementSum(p, csumStart, len - csumStart, partial));
    assert.equal(full, transportChecksum(p, 0, 16), "partial checksum is the pseudo-header sum");
    if (!v6) assert.equal((p[10] << 8) | p[11], ipv4HeaderChecksum(p, 0), "IPv4 header checksum");
    this.gso.push(Math.ceil((len - hdrLen) / gsoSize));
    const seq0 =
      ((p[csumStart + 4] << 24) | (p[csumStart + 5] << 16) | (p[csumStart + 6] << 8) | p[csumStart + 7]) >>>
      0;
    const psh = p[csumStart + 13] & 0x08;
    for (let k = 0, pos = hdrLen; pos < len; k++, pos += gsoSize) {
      const n = Math.min(gsoSize, len - pos);
      const s = new Uint8Array(hdrLen + n);
      s.set(p.subarray(0, hdrLen));
      s.set(p.subarray(pos, pos + n), hdrLen);
      const seq = (seq0 + k * gsoSize) >>> 0;
      const t = csumStart;
      s.set([seq >>> 24, (seq >>> 16) & 0xff, (seq >>> 8) & 0xff, seq & 0xff], t + 4);
      s[t + 13] = (s[t + 13] & ~0x08) | (pos + n === len ? psh : 0);
      if (v6) {
        s[4] = (s.length - 40) >> 8;
        s[5] = (s.length - 40) & 0xff;
      } else {
        s[2] = s.length >> 8;
        s[3] = s.length & 0xff;
        const id = ((p[4] << 8) | p[5]) + k;
        s[4] = (id >> 8) & 0xff;
        s[5] = id & 0xff;
        const c = ipv4HeaderChecksum(s, 0);
        s[10] = c >> 8;
        s[11] = c & 0xff;
      }
      const c = transportChecksum(s, 0, 16);
      s[t + 16] = c >> 8;
      s[t + 17] = c & 0xff;
      this.out.push(s);
    }
    return true;
  }
}

function rig(): { dev: ResegmentingDevice; gro: TcpCoalescer; slots: Uint8Array[]; written: number[] } {
  const arena = new Uint8Array(new ArrayBuffer(128 * SLOT + GRO_AREA_BYTES));
  const slots = Array.from({ length: 128 }, (_, i) => arena.subarray(i * SLOT, (i + 1) * SLOT));
  const dev = new ResegmentingDevice();
  const written: number[] = [];
  const gro = new TcpCoalescer(dev, arena, (n, ok) => {
    assert.ok(ok);
    written.push(n);
  });
  return { dev, gro, slots, written };
}

/** Puts each packet in its own slot at OFF and adds it; then flushes. */
function run(r: ReturnType<typeof rig>, packets: Uint8Array[]): void {
  packets.forEach((p, i) => {
    r.slots[i].set(p, OFF);
    r.gro.add(r.slots[i], OFF, p.length);
  });
  r.gro.flush();
}

Deno.test("TcpCoalescer merges an in-order IPv4 stream into one super-packet that resegments to the same packets", () => {
  const r = rig();
  const sent = stream(20, 1400, 0xfffff000, { psh: true });
  run(r, sent);
  assert.deepEqual(r.dev.gso, [20]);
  assert.equal(r.gro.stats.superPackets, 1);
  assert.deepEqual(r.written, [20]);
  assert.deepEqual(r.dev.out, sent);
  for (const s of r.dev.out) assert.ok(transportChecksumOk(s));
});

Deno.test("TcpCoalescer merges IPv6 segments", () => {
  const r = rig();
  const sent = stream(5, 1220, 1000, { v6: true });
  run(r, sent);
  assert.deepEqual(r.dev.gso, [5]);
  assert.deepEqual(r.dev.out, sent);
});

Deno.test("TcpCoalescer keeps order around packets that do not merge", () => {
  const r = rig();
  const a = stream(3, 1400, 0);
  const udp = buildUdp({
    src: "10.8.0.2",
    dst: "10.8.0.1",
    srcPort: 1,
    dstPort: 2,
    payload: new Uint8Array(100),
  });
  const b = stream(3, 1400, 3 * 1400);
  run(r, [...a, udp, ...b]);
  assert.deepEqual(r.dev.gso, [3, 3]);
  assert.deepEqual(r.dev.out, [...a, udp, ...b]);
  assert.equal(r.gro.stats.single, 1);
});

Deno.test("TcpCoalescer starts a new run at a sequence gap, another flow, another ack or options", () => {
  const cases: [string, Uint8Array][] = [
    ["gap", segment({ seq: 4 * 1400 + 1, payload: 1400 })],
    ["other port", segment({ seq: 3 * 1400, payload: 1400, srcPort: 40001 })],
    ["other ack", segment({ seq: 3 * 1400, payload: 1400, ack: 5 })],
    ["other timestamp", segment({ seq: 3 * 1400, payload: 1400, tsval: 78 })],
    ["longer than the first", segment({ seq: 3 * 1400, payload: 1401 })],
    ["FIN", segment({ seq: 3 * 1400, payload: 1400, flags: 0x11 })],
  ];
  for (const [what, odd] of cases) {
    const r = rig();
    const a = stream(3, 1400, 0);
    run(r, [...a, odd]);
    assert.deepEqual(r.dev.gso, [3], what);
    assert.deepEqual(r.dev.out, [...a, odd], what);
  }
});

Deno.test("TcpCoalescer ends a run after a short or PSH segment", () => {
  const r = rig();
  const short = [segment({ seq: 0, payload: 1400 }), segment({ seq: 1400, payload: 500 })];
  const next = segment({ seq: 1900, payload: 1400, id: 0x1002 });
  run(r, [...short, next]);
  assert.deepEqual(r.dev.gso, [2]);
  assert.equal(r.gro.stats.single, 1);
  assert.deepEqual(r.dev.out.length, 3);
});

Deno.test("TcpCoalescer caps a super-packet at 64 KiB", () => {
  const r = rig();
  const sent = stream(60, 1400, 0);
  run(r, sent);
  const first = Math.floor((GRO_MAX_BYTES - 52) / 1400);
  assert.deepEqual(r.dev.gso, [first, 60 - first]);
  assert.deepEqual(r.dev.out, sent);
});

Deno.test("TcpCoalescer writes packets from buffers outside its arena as they are", () => {
  const r = rig();
  const sent = stream(3, 1000, 0);
  for (const p of sent) {
    const own = new Uint8Array(OFF + p.length);
    own.set(p, OFF);
    r.gro.add(own, OFF, p.length);
  }
  r.gro.flush();
  assert.deepEqual(r.dev.gso, []);
  assert.deepEqual(r.dev.out, sent);
  assert.equal(r.gro.stats.single, 3);
});

Deno.test("gsoCapable() holds only for a tun with a virtio-net header and writeGso", () => {
  assert.equal(gsoCapable(new ResegmentingDevice()), true);
  assert.equal(gsoCapable({ kind: "tun", vnetHeader: false, writeGso() {} }), false);
  assert.equal(gsoCapable({ kind: "tap", vnetHeader: true, writeGso() {} }), false);
});

Deno.test("TcpCoalescer.add() and flush() allocate nothing per packet after warm-up", async () => {
  // A child with a fixed young generation, so heapUsed growth is the allocation (see ffi/README.md).
  const url = new URL("./gro.ts", import.meta.url).href;
  const script = `
    import { GRO_AREA_BYTES, TcpCoalescer } from ${JSON.stringify(url)};
    const arena = new Uint8Array(new ArrayBuffer(64 * 2048 + GRO_AREA_BYTES));
    const slots = Array.from({ length: 64 }, (_, i) => arena.subarray(i * 2048, (i + 1) * 2048));
    const dev = { write: () => true, writeGso: () => true };
    let written = 0;
    const gro = new TcpCoalescer(dev, arena, (n) => { written += n; });
    const pkt = new Uint8Array(52 + 1400);
    pkt.set([0x45, 0, (1452 >> 8), 1452 & 0xff, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 8, 0, 2, 10, 8, 0, 1]);
    pkt[32] = 0x80; pkt[33] = 0x10;
    for (let i = 0; i < 64; i++) slots[i].set(pkt, 24);
    let seq = 0;
    const run = (rounds) => {
      for (let r = 0; r < rounds; r++) {
        for (let i = 0; i < 64; i++) {
          const s = slots[i];
          s[24 + 24] = seq >>> 24; s[24 + 25] = (seq >>> 16) & 0xff; s[24 + 26] = (seq >>> 8) & 0xff; s[24 + 27] = seq & 0xff;
          seq = (seq + 1400) >>> 0;
          gro.add(s, 24, 1452);
        }
        gro.flush();
      }
    };
    run(500);
    const h = Deno.memoryUsage().heapUsed;
    run(2000);
    console.log(JSON.stringify({ perPacket: (Deno.memoryUsage().heapUsed - h) / (2000 * 64), supers: gro.stats.superPackets }));
  `;
  const r = await runHeapProbe(script);
  assert.ok(r.supers > 2000, `super-packets: ${r.supers}`);
  // One allocation per packet is ≥ 12 bytes (V8's smallest heap object); less is the runtime's own noise.
  assert.ok(r.perPacket < 4, `${r.perPacket} bytes per packet`);
});
