/**
 * OpenVPN over TCP as a DatagramSocket, so the datapath's outside loop serves
 * TCP clients unchanged: every accepted connection carries length-framed
 * packets (control/tcp_framing.ts), and its endpoint row names the connection
 * rather than an address:
 *
 *   row: [FAMILY_TCP][0][0][connection id, u32 BE][zeros]
 *
 * Received frames are copied into a preallocated ring of slots (one copy; the
 * loop copies once more into its own slots); `send` appends the framed packet
 * to the connection's preallocated output buffer, which one pending write at
 * a time drains (double-buffered), so neither direction allocates per packet.
 * A full ring pauses reading; a full output buffer drops the packet (as a
 * full UDP socket buffer would). Frames above `maxFrame` are skipped.
 */

import { type DatagramSocket, ENDPOINT_ROW_BYTES, type EndpointSlots } from "../device/datagram_socket.ts";
import { FrameReassembler } from "../control/tcp_framing.ts";

export const FAMILY_TCP = 0x74;

const RING_SLOTS = 512;
const SLOT_BYTES = 4096;
const OUT_BYTES = 256 * 1024;

class Connection {
  readonly id: number;
  readonly conn: Deno.Conn;
  readonly remote: string;
  readonly reasm = new FrameReassembler(SLOT_BYTES);
  #out = new Uint8Array(OUT_BYTES);
  #spare = new Uint8Array(OUT_BYTES);
  #outLen = 0;
  #writing = false;
  closed = false;

  constructor(id: number, conn: Deno.Conn) {
    this.id = id;
    this.conn = conn;
    const ra = conn.remoteAddr as Deno.NetAddr;
    this.remote = ra.hostname.includes(":") ? `[${ra.hostname}]:${ra.port}` : `${ra.hostname}:${ra.port}`;
  }

  queue(buf: Uint8Array, off: number, len: number): boolean {
    if (this.closed || this.#outLen + len + 2 > OUT_BYTES) return false;
    const o = this.#out;
    o[this.#outLen] = len >>> 8;
    o[this.#outLen + 1] = len & 0xff;
    o.set(buf.subarray(off, off + len), this.#outLen + 2);
    this.#outLen += len + 2;
    if (!this.#writing) void this.#drain();
    return true;
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#outLen > 0 && !this.closed) {
        const chunk = this.#out;
        const n = this.#outLen;
        this.#out = this.#spare;
        this.#spare = chunk;
        this.#outLen = 0;
        let p = 0;
        while (p < n) p += await this.conn.write(chunk.subarray(p, n));
      }
    } catch {
      this.close();
    } finally {
      this.#writing = false;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }
}

export interface TcpServerSocketOptions {
  hostname: string;
  port: number;
  /** A connection ended (peer closed, error, or closeConnection). */
  onClose?: (id: number, remote: string) => void;
  /** Most concurrent connections. @default 4096 */
  maxConnections?: number;
}

export class TcpServerSocket implements DatagramSocket {
  readonly localPort: number;
  readonly #listener: Deno.TcpListener;
  readonly #conns = new Map<number, Connection>();
  readonly #o: TcpServerSocketOptions;
  readonly #ring: Uint8Array[] = Array.from({ length: RING_SLOTS }, () => new Uint8Array(SLOT_BYTES));
  readonly #ringLen = new Int32Array(RING_SLOTS);
  readonly #ringConn = new Uint32Array(RING_SLOTS);
  #head = 0;
  #count = 0;
  #nextId = 1;
  #waiter: (() => void) | null = null;
  #spaceWaiters: (() => void)[] = [];
  #closed = false;
  /** Frames dropped for size. */
  rejected = 0;

  constructor(o: TcpServerSocketOptions) {
    this.#o = o;
    this.#listener = Deno.listen({ transport: "tcp", hostname: o.hostname, port: o.port });
    this.localPort = (this.#listener.addr as Deno.NetAddr).port;
    void this.#accept();
  }

  /** "addr:port" of a connection, or "" when gone. */
  remoteOf(id: number): string {
    return this.#conns.get(id)?.remote ?? "";
  }

  /** The connection id of an endpoint row, or -1 when the row is not a TCP row. */
  static connectionOf(slots: EndpointSlots, row: number): number {
    const b = slots.bytes;
    const o = row * ENDPOINT_ROW_BYTES;
    if (b[o] !== FAMILY_TCP) return -1;
    return ((b[o + 3] << 24) | (b[o + 4] << 16) | (b[o + 5] << 8) | b[o + 6]) >>> 0;
  }

  closeConnection(id: number): void {
    this.#conns.get(id)?.close();
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        if (this.#closed) {
          conn.close();
          break;
        }
        if (this.#conns.size >= (this.#o.maxConnections ?? 4096)) {
          conn.close();
          continue;
        }
        conn.setNoDelay(true);
        const c = new Connection(this.#nextId++ >>> 0, conn);
        this.#conns.set(c.id, c);
        void this.#read(c);
      }
    } catch {
      // Listener closed.
    }
  }

  async #read(c: Connection): Promise<void> {
    const chunk = new Uint8Array(65536);
    const sink = (b: Uint8Array, off: number, len: number) => this.#push(c.id, b, off, len);
    try {
      for (;;) {
        while (this.#count >= RING_SLOTS && !this.#closed) {
          await new Promise<void>((r) => this.#spaceWaiters.push(r));
        }
        if (this.#closed || c.closed) break;
        const n = await c.conn.read(chunk);
        if (n === null) break;
        c.reasm.feed(chunk.subarray(0, n), sink);
        this.rejected += c.reasm.rejected;
        c.reasm.rejected = 0;
      }
    } catch {
      // Reset or closed.
    } finally {
      c.close();
      this.#conns.delete(c.id);
      if (!this.#closed) this.#o.onClose?.(c.id, c.remote);
    }
  }

  #push(id: number, b: Uint8Array, off: number, len: number): void {
    if (this.#count >= RING_SLOTS) {
      this.rejected++;
      return;
    }
    const i = (this.#head + this.#count) % RING_SLOTS;
    this.#ring[i].set(b.subarray(off, off + len));
    this.#ringLen[i] = len;
    this.#ringConn[i] = id;
    this.#count++;
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }

  async receiveBatch(
    bufs: Uint8Array[],
    sizes: Int32Array,
    from: EndpointSlots,
    offset: number,
  ): Promise<number> {
    while (this.#count === 0 && !this.#closed) await new Promise<void>((r) => this.#waiter = r);
    if (this.#closed) return 0;
    let n = 0;
    while (n < bufs.length && this.#count > 0) {
      const i = this.#head;
      const len = Math.min(this.#ringLen[i], bufs[n].length - offset);
      bufs[n].set(this.#ring[i].subarray(0, len), offset);
      sizes[n] = len;
      const o = n * ENDPOINT_ROW_BYTES;
      const fb = from.bytes;
      fb.fill(0, o, o + ENDPOINT_ROW_BYTES);
      fb[o] = FAMILY_TCP;
      const id = this.#ringConn[i];
      fb[o + 3] = id >>> 24;
      fb[o + 4] = (id >>> 16) & 0xff;
      fb[o + 5] = (id >>> 8) & 0xff;
      fb[o + 6] = id & 0xff;
      this.#head = (this.#head + 1) % RING_SLOTS;
      this.#count--;
      n++;
    }
    const ws = this.#spaceWaiters;
    this.#spaceWaiters = [];
    for (const w of ws) w();
    return n;
  }

  send(buf: Uint8Array, offset: number, length: number, to: EndpointSlots, row: number): boolean {
    const id = TcpServerSocket.connectionOf(to, row);
    const c = id < 0 ? undefined : this.#conns.get(id);
    return c !== undefined && c.queue(buf, offset, length);
  }

  sendBatch(
    bufs: Uint8Array[],
    offsets: Int32Array,
    sizes: Int32Array,
    count: number,
    to: EndpointSlots,
    rows: Int32Array,
  ): number {
    let n = 0;
    for (let i = 0; i < count; i++) if (this.send(bufs[i], offsets[i], sizes[i], to, rows[i])) n++;
    return n;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    for (const c of this.#conns.values()) c.close();
    this.#conns.clear();
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
    for (const s of this.#spaceWaiters.splice(0)) s();
  }
}
