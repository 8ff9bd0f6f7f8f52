/**
 * The UDP underlay seen from above the OS layer. Implemented by `ffi/udp.ts`
 * (recvmmsg/sendmmsg on a nonblocking socket) and by in-memory fakes in tests.
 *
 * Endpoints never become strings or objects on the hot path: a received
 * datagram's source is written into a preallocated `EndpointSlots` row, and
 * sends name their destination by a row of another (or the same) table.
 *
 * Contract:
 * - `receiveBatch` waits until at least one datagram is ready, then drains up to
 *   `bufs.length` with synchronous calls. Datagram i lands at
 *   `bufs[i][offset .. offset + sizes[i])`, its source in row i of `from`.
 *   Resolves with the count (0 only once closed). One pending call at a time.
 * - `send` copies nothing and allocates nothing; returns false when the kernel
 *   buffer is full (the datagram is dropped, as on a real network).
 * - `sendBatch` sends `count` datagrams (bufs[i] at offsets[i], sizes[i]) to
 *   the rows `rows[i]` of `to`, in one system call where the platform allows.
 */

import { formatIpv4, formatIpv6 } from "../addr/ip.ts";

/** Bytes per row: family(1) port(2, BE) address(16: IPv4 uses the first 4). */
export const ENDPOINT_ROW_BYTES = 20;
export const FAMILY_INET = 4;
export const FAMILY_INET6 = 6;

/** A table of endpoints in one flat buffer; row i at i * ENDPOINT_ROW_BYTES. */
export class EndpointSlots {
  readonly bytes: Uint8Array;
  readonly rows: number;

  constructor(rows: number) {
    this.rows = rows;
    this.bytes = new Uint8Array(rows * ENDPOINT_ROW_BYTES);
  }

  family(row: number): number {
    return this.bytes[row * ENDPOINT_ROW_BYTES];
  }

  port(row: number): number {
    const o = row * ENDPOINT_ROW_BYTES;
    return (this.bytes[o + 1] << 8) | this.bytes[o + 2];
  }

  /** IPv4 address as u32 (valid when family is FAMILY_INET). */
  ipv4(row: number): number {
    const o = row * ENDPOINT_ROW_BYTES + 3;
    const b = this.bytes;
    return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  }

  setIpv4(row: number, address: number, port: number): void {
    const o = row * ENDPOINT_ROW_BYTES;
    const b = this.bytes;
    b.fill(0, o, o + ENDPOINT_ROW_BYTES);
    b[o] = FAMILY_INET;
    b[o + 1] = port >>> 8;
    b[o + 2] = port & 0xff;
    b[o + 3] = address >>> 24;
    b[o + 4] = (address >>> 16) & 0xff;
    b[o + 5] = (address >>> 8) & 0xff;
    b[o + 6] = address & 0xff;
  }

  setIpv6(row: number, address: Uint8Array, port: number): void {
    const o = row * ENDPOINT_ROW_BYTES;
    const b = this.bytes;
    b[o] = FAMILY_INET6;
    b[o + 1] = port >>> 8;
    b[o + 2] = port & 0xff;
    b.set(address.subarray(0, 16), o + 3);
    b[o + 19] = 0;
  }

  /** Copies row `fromRow` of `src` into row `toRow` of this table. */
  copyRow(toRow: number, src: EndpointSlots, fromRow: number): void {
    const s = fromRow * ENDPOINT_ROW_BYTES;
    this.bytes.set(src.bytes.subarray(s, s + ENDPOINT_ROW_BYTES), toRow * ENDPOINT_ROW_BYTES);
  }

  /** True when row a of this table and row b of `other` name the same endpoint. */
  equals(a: number, other: EndpointSlots, b: number): boolean {
    const x = this.bytes, y = other.bytes;
    let i = a * ENDPOINT_ROW_BYTES, j = b * ENDPOINT_ROW_BYTES;
    for (let k = 0; k < ENDPOINT_ROW_BYTES; k++) if (x[i++] !== y[j++]) return false;
    return true;
  }

  /** "1.2.3.4:1194" or "[fd00::1]:1194"; for logs and status, not the hot path. */
  format(row: number): string {
    const fam = this.family(row);
    if (fam === FAMILY_INET) return `${formatIpv4(this.ipv4(row))}:${this.port(row)}`;
    if (fam === FAMILY_INET6) {
      const o = row * ENDPOINT_ROW_BYTES + 3;
      const b = this.bytes;
      const words = new Uint32Array(4);
      for (let i = 0; i < 4; i++) {
        const p = o + i * 4;
        words[i] = ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
      }
      return `[${formatIpv6(words)}]:${this.port(row)}`;
    }
    return "unset";
  }
}

export interface DatagramSocket {
  /** The bound local port (useful when 0 was requested). */
  readonly localPort: number;
  receiveBatch(bufs: Uint8Array[], sizes: Int32Array, from: EndpointSlots, offset: number): Promise<number>;
  send(buf: Uint8Array, offset: number, length: number, to: EndpointSlots, row: number): boolean;
  sendBatch(
    bufs: Uint8Array[],
    offsets: Int32Array,
    sizes: Int32Array,
    count: number,
    to: EndpointSlots,
    rows: Int32Array,
  ): number;
  close(): void;
}
