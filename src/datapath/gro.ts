/**
 * Receive-side coalescing (GRO) of TCP segments on their way to a tun device
 * opened with a virtio-net header: consecutive in-order segments of one flow
 * in a batch become one super-packet written with `writeGso`, so the host's
 * TCP stack handles one packet where it would have handled up to 44. Writing
 * to tun is where most of the receive direction's time went (the write runs
 * the host's whole receive path), and the cost is per packet, not per byte.
 *
 * What merges (the kernel's own GRO rules, simplified): IPv4 without options
 * and not fragmented, or IPv6 with TCP as the next header; TCP flags ACK, or
 * ACK|PSH on the last segment; same addresses, ports, ack number, TCP
 * options, TOS/TTL/DF (IPv4) or traffic class/flow label/hop limit (IPv6);
 * sequence numbers contiguous; every segment but the last exactly the first
 * one's payload size; at most 64 KiB. Anything else is written as it came,
 * and order is kept: a packet that does not merge flushes the pending run
 * before it is written.
 *
 * Checksums: segments are not re-verified (they arrived inside an
 * authenticated tunnel, and their sender computed them); the super-packet's
 * IPv4 header checksum is recomputed and its TCP checksum is left partial
 * (pseudo-header sum, NEEDS_CSUM) for the kernel, as a NIC's GRO would.
 *
 * Buffers: `add` borrows (buf, off, len) until `flush`, which the outside
 * pipeline calls at the end of each batch. Payloads are copied into the
 * super-packet with `copyWithin`, so only packets whose buffer is a view of
 * the `arena` given at construction can merge (the pipeline's slots are);
 * others are written as they are. Nothing is allocated per packet.
 */

import { finishChecksum, ipv4HeaderChecksum, onesComplementSum } from "../packet/checksum.ts";
import { IPPROTO_TCP } from "../packet/ipv4.ts";

/** A device that accepts TCP super-packets (ffi/tun.ts TunDevice with vnetHeader). */
export interface GsoDevice {
  write(buf: Uint8Array, off: number, len: number): boolean;
  writeGso(
    buf: Uint8Array,
    off: number,
    len: number,
    gsoType: number,
    gsoSize: number,
    hdrLen: number,
    csumStart: number,
    csumOffset: number,
  ): boolean;
}

/** True when `device` takes super-packets (a tun opened with vnetHeader). */
export function gsoCapable(device: unknown): device is GsoDevice {
  const d = device as { vnetHeader?: unknown; writeGso?: unknown; kind?: unknown };
  return d.vnetHeader === true && typeof d.writeGso === "function" && d.kind === "tun";
}

/** Largest super-packet: the IPv4 total length / IPv6 payload length limit. */
export const GRO_MAX_BYTES = 65535;
/** Most segments merged into one super-packet. */
export const GRO_MAX_SEGMENTS = 64;
/** Bytes kept free in front of the super-packet for the device's header. */
export const GRO_HEADROOM = 16;
/** Bytes the coalescer needs at the end of its arena. */
export const GRO_AREA_BYTES = GRO_HEADROOM + GRO_MAX_BYTES + 40;

const GSO_TCPV4 = 1;
const GSO_TCPV6 = 4;
const TCP_ACK = 0x10;
const TCP_PSH = 0x08;
const TCP_CHECKSUM_AT = 16;

export class TcpCoalescer {
  /** Super-packets written, segments merged into them, and packets written as they came. */
  readonly stats = { superPackets: 0, mergedSegments: 0, single: 0, failed: 0 };
  readonly #dev: GsoDevice;
  readonly #arena: Uint8Array;
  readonly #base: number; // arena offset of the super-packet's first byte
  // Result of the last #parse (valid when it returned true).
  #p = { ipLen: 0, hdrLen: 0, payload: 0, seq: 0, v6: false, psh: false };
  // The pending run: its first segment (borrowed until a second one merges).
  #count = 0;
  #firstBuf: Uint8Array | null = null;
  #firstOff = 0;
  #firstLen = 0;
  #v6 = false;
  #ipLen = 0;
  #hdrLen = 0;
  #mss = 0;
  #nextSeq = 0;
  #len = 0; // bytes of the super-packet assembled at #base (once #count >= 2)
  #closed = false; // a short or PSH segment ended the run

  /**
   * `arena` is the ArrayBuffer-backed view the pipeline's slots are cut
   * from; its last GRO_AREA_BYTES bytes belong to the coalescer.
   * `onWritten(packets, ok)` counts device writes (ok false: dropped).
   */
  constructor(
    device: GsoDevice,
    arena: Uint8Array,
    readonly onWritten: (packets: number, ok: boolean) => void,
  ) {
    if (arena.length < GRO_AREA_BYTES) throw new RangeError("TcpCoalescer arena is too small");
    this.#dev = device;
    this.#arena = arena;
    this.#base = arena.length - GRO_AREA_BYTES + GRO_HEADROOM;
  }

  /** Queues the IP packet buf[off, off+len) for the device; it is written by now or by `flush`. */
  add(buf: Uint8Array, off: number, len: number): void {
    if (buf.buffer !== this.#arena.buffer || !this.#parse(buf, off, len)) {
      this.flush();
      this.#writeOne(buf, off, len);
      return;
    }
    const p = this.#p;
    if (this.#count > 0 && this.#continues(buf, off)) {
      this.#append(buf, off);
      return;
    }
    this.flush();
    this.#count = 1;
    this.#firstBuf = buf;
    this.#firstOff = off;
    this.#firstLen = len;
    this.#v6 = p.v6;
    this.#ipLen = p.ipLen;
    this.#hdrLen = p.hdrLen;
    this.#mss = p.payload;
    this.#nextSeq = (p.seq + p.payload) >>> 0;
    this.#closed = p.psh;
  }

  /** Writes the pending run, if any. */
  flush(): void {
    const n = this.#count;
    if (n === 0) return;
    this.#count = 0;
    const first = this.#firstBuf!;
    this.#firstBuf = null;
    if (n === 1) {
      this.#writeOne(first, this.#firstOff, this.#firstLen);
      return;
    }
    const a = this.#arena;
    const b = this.#base;
    const total = this.#len;
    let sum: number;
    if (this.#v6) {
      const plen = total - 40;
      a[b + 4] = plen >>> 8;
      a[b + 5] = plen & 0xff;
      sum = onesComplementSum(a, b + 8, 32) + IPPROTO_TCP + plen;
    } else {
      a[b + 2] = total >>> 8;
      a[b + 3] = total & 0xff;
      const c = ipv4HeaderChecksum(a, b);
      a[b + 10] = c >>> 8;
      a[b + 11] = c & 0xff;
      sum = onesComplementSum(a, b + 12, 8) + IPPROTO_TCP + (total - this.#ipLen);
    }
    // Partial checksum: the folded pseudo-header sum, not complemented.
    const partial = ~finishChecksum(sum) & 0xffff;
    const t = b + this.#ipLen + TCP_CHECKSUM_AT;
    a[t] = partial >>> 8;
    a[t + 1] = partial & 0xff;
    const ok = this.#dev.writeGso(
      a,
      b,
      total,
      this.#v6 ? GSO_TCPV6 : GSO_TCPV4,
      this.#mss,
      this.#hdrLen,
      this.#ipLen,
      TCP_CHECKSUM_AT,
    );
    this.stats.superPackets++;
    this.stats.mergedSegments += n;
    if (!ok) this.stats.failed++;
    this.onWritten(n, ok);
  }

  #writeOne(buf: Uint8Array, off: number, len: number): void {
    this.stats.single++;
    this.onWritten(1, this.#dev.write(buf, off, len));
  }

  /** Parses a mergeable TCP segment into #p; false for anything else. */
  #parse(buf: Uint8Array, off: number, len: number): boolean {
    const p = this.#p;
    const v = buf[off] >> 4;
    let ip: number;
    if (v === 4) {
      if (len < 40 || buf[off] !== 0x45 || buf[off + 9] !== IPPROTO_TCP) return false;
      if (((buf[off + 2] << 8) | buf[off + 3]) !== len) return false;
      // No MF flag, no fragment offset (DF may be set).
      if (((buf[off + 6] & 0x3f) | buf[off + 7]) !== 0) return false;
      ip = 20;
      p.v6 = false;
    } else if (v === 6) {
      if (len < 60 || buf[off + 6] !== IPPROTO_TCP) return false;
      if (((buf[off + 4] << 8) | buf[off + 5]) !== len - 40) return false;
      ip = 40;
      p.v6 = true;
    } else {
      return false;
    }
    const t = off + ip;
    const thl = (buf[t + 12] >> 4) << 2;
    const flags = buf[t + 13];
    if (thl < 20 || ip + thl >= len) return false;
    if ((flags & ~TCP_PSH) !== TCP_ACK || (buf[t + 12] & 0x0f) !== 0) return false;
    p.ipLen = ip;
    p.hdrLen = ip + thl;
    p.payload = len - ip - thl;
    p.seq = ((buf[t + 4] << 24) | (buf[t + 5] << 16) | (buf[t + 6] << 8) | buf[t + 7]) >>> 0;
    p.psh = (flags & TCP_PSH) !== 0;
    return true;
  }

  /** True when the parsed segment at buf[off..] extends the pending run. */
  #continues(buf: Uint8Array, off: number): boolean {
    const p = this.#p;
    if (this.#closed || p.v6 !== this.#v6 || p.hdrLen !== this.#hdrLen || p.seq !== this.#nextSeq) {
      return false;
    }
    if (p.payload > this.#mss || this.#count >= GRO_MAX_SEGMENTS) return false;
    const size = this.#count === 1 ? this.#firstLen : this.#len;
    if (size + p.payload > GRO_MAX_BYTES) return false;
    // Compare with the run's first header (in its buffer, or already copied).
    const f = this.#count === 1 ? this.#firstBuf! : this.#arena;
    const fo = this.#count === 1 ? this.#firstOff : this.#base;
    const ip = this.#ipLen;
    if (this.#v6) {
      // Version, traffic class, flow label; hop limit; addresses.
      for (let i = 0; i < 4; i++) if (buf[off + i] !== f[fo + i]) return false;
      if (buf[off + 7] !== f[fo + 7]) return false;
      for (let i = 8; i < 40; i++) if (buf[off + i] !== f[fo + i]) return false;
    } else {
      // TOS; DF; TTL; addresses.
      if (buf[off + 1] !== f[fo + 1] || buf[off + 6] !== f[fo + 6] || buf[off + 8] !== f[fo + 8]) {
        return false;
      }
      for (let i = 12; i < 20; i++) if (buf[off + i] !== f[fo + i]) return false;
    }
    const t = off + ip;
    const ft = fo + ip;
    // Ports; ack number; data offset; then the options.
    for (let i = 0; i < 4; i++) if (buf[t + i] !== f[ft + i]) return false;
    for (let i = 8; i < 13; i++) if (buf[t + i] !== f[ft + i]) return false;
    for (let i = 20; i < this.#hdrLen - ip; i++) if (buf[t + i] !== f[ft + i]) return false;
    return true;
  }

  /** Appends the parsed segment's payload to the run (copying the first segment on the second). */
  #append(buf: Uint8Array, off: number): void {
    const p = this.#p;
    const a = this.#arena;
    if (this.#count === 1) {
      const f = this.#firstBuf!;
      const start = f.byteOffset - a.byteOffset + this.#firstOff;
      a.copyWithin(this.#base, start, start + this.#firstLen);
      this.#len = this.#firstLen;
    }
    const src = buf.byteOffset - a.byteOffset + off + p.hdrLen;
    a.copyWithin(this.#base + this.#len, src, src + p.payload);
    this.#len += p.payload;
    this.#count++;
    this.#nextSeq = (this.#nextSeq + p.payload) >>> 0;
    if (p.psh) {
      a[this.#base + this.#ipLen + 13] |= TCP_PSH;
      this.#closed = true;
    }
    if (p.payload < this.#mss) this.#closed = true;
  }
}
