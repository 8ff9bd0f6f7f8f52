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
 * to the connection's output buffer, which one pending write at a time drains
 * (double-buffered), so neither direction allocates per packet. Frames above
 * `maxFrame` are skipped; a full ring pauses reading.
 *
 * Limits (src/testing/control/tcp_transport.ts serveTcp applies the first and third to
 * the control listener too):
 * - at most `maxConnections` open at once; more are closed on accept (`refused`);
 * - at most `maxConnectionsPerSource` from one source address (IPv4, IPv6 /64);
 *   more are closed on accept (`refusedPerSource`);
 * - a connection that carries no session `helloMs` after it opened — it sent
 *   no hard reset the control listener accepted — is closed (`helloTimeouts`);
 * - a connection that carried no session for `idleMs` is closed (`idleClosed`);
 * - at most `maxQueuedBytes` queued for a peer that does not read: later
 *   packets are dropped (`writeDrops`), as a full UDP socket buffer drops them.
 *   Output buffers start small and grow (rarely, by doubling) up to that bound.
 * Until it carries a session a connection reads 2 KiB at a time and has no
 * output buffers yet: a stranger's connection holds ~14 KiB, not ~136
 * (bench/stranger_probe.ts --tcp).
 */

import { ENDPOINT_ROW_BYTES, type EndpointSlots } from "../device/datagram_socket.ts";
import { type Clock, systemClock } from "../control/clock.ts";
import { FrameReassembler } from "../control/tcp_framing.ts";
import {
  FrameWriteQueue,
  MAX_QUEUED_WRITE_BYTES,
  MAX_TCP_CONNECTIONS,
  MAX_TCP_CONNECTIONS_PER_SOURCE,
  TCP_HELLO_MS,
  TCP_IDLE_MS,
} from "../control/tcp_framing_io.ts";
import { sourceKeyOf } from "../control/source_buckets.ts";
import { copyCut, QueuedDatagramSocket } from "../device/queued_socket.ts";
import { closeQuietly } from "../device/socket_helpers.ts";

export const FAMILY_TCP = 0x74;

const RING_SLOTS = 512;
const SLOT_BYTES = 4096;
const READ_BYTES = 65536;
const STRANGER_READ_BYTES = 2048;
class Connection {
  readonly id: number;
  readonly conn: Deno.Conn;
  readonly remote: string;
  /** sourceKeyOf(remote), for the per-source cap. */
  readonly source: string;
  readonly reasm = new FrameReassembler(SLOT_BYTES);
  /** A whole frame arrived (the hello check without hasSession). */
  framed = false;
  /** The pending hello check, or null. */
  helloTimer: number | null = null;
  /** Clock time at which the connection last carried a session (or was opened). */
  liveAt: number;
  /** A frame arrived since the last idle sweep. */
  active = false;
  readonly #writer: FrameWriteQueue;
  closed = false;

  constructor(id: number, conn: Deno.Conn, remote: string, now: number, maxQueued: number) {
    this.id = id;
    this.conn = conn;
    this.remote = remote;
    this.source = sourceKeyOf(remote);
    this.liveAt = now;
    this.#writer = new FrameWriteQueue(conn, maxQueued, () => this.close());
  }

  /** Bytes accepted by queue() and not yet written to the kernel. */
  get queued(): number {
    return this.#writer.queued;
  }

  /** False when closed or when the packet would queue more than the bound. */
  queue(buf: Uint8Array, off: number, len: number): boolean {
    return !this.closed && this.#writer.queue(buf, off, len);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#writer.stop();
    closeQuietly(this.conn);
  }
}

export interface TcpServerSocketOptions {
  hostname: string;
  port: number;
  /** A connection ended (peer closed, error, idle, or closeConnection). */
  onClose?: (id: number, remote: string) => void;
  /** Most concurrent connections; more are closed on accept and counted in `refused`. @default 1024 */
  maxConnections?: number;
  /**
   * Most concurrent connections from one source address (IPv4, IPv6 /64); more are closed on accept and
   * counted in `refusedPerSource`. @default MAX_TCP_CONNECTIONS_PER_SOURCE (16)
   */
  maxConnectionsPerSource?: number;
  /**
   * A connection that carries no session this long after it opened is closed and counted in
   * `helloTimeouts` (without hasSession: one that delivered no whole frame). Infinity disables it.
   * @default TCP_HELLO_MS (5000)
   */
  helloMs?: number;
  /**
   * A connection that carried no session for this long is closed. @default 60000
   * (closed between idleMs and 1.25 × idleMs after its last session)
   */
  idleMs?: number;
  /**
   * Whether connection `id` carries a session now (the server asks its control listener). Without it a
   * connection counts as carrying one while frames arrive: any session with keepalive sends at least one
   * ping per interval.
   */
  hasSession?: (id: number) => boolean;
  /** Bytes queued per connection past which packets are dropped. @default MAX_QUEUED_WRITE_BYTES (1 MiB) */
  maxQueuedBytes?: number;
  /** Time for the idle sweep; tests inject a manual clock. */
  clock?: Clock;
}

export class TcpServerSocket extends QueuedDatagramSocket {
  readonly localPort: number;
  readonly #listener: Deno.TcpListener;
  readonly #conns = new Map<number, Connection>();
  /** Open connections per source key. */
  readonly #perSource = new Map<string, number>();
  readonly #o: TcpServerSocketOptions;
  readonly #ring: Uint8Array[] = Array.from({ length: RING_SLOTS }, () => new Uint8Array(SLOT_BYTES));
  readonly #ringLen = new Int32Array(RING_SLOTS);
  readonly #ringConn = new Uint32Array(RING_SLOTS);
  #head = 0;
  #count = 0;
  #nextId = 1;
  #spaceWaiters: (() => void)[] = [];
  #closed = false;
  readonly #clock: Clock;
  readonly #idleMs: number;
  #sweepTimer: number | null = null;
  /** Frames dropped for size. */
  rejected = 0;
  /** Connections closed on accept because `maxConnections` were open. */
  refused = 0;
  /** Connections closed because they carried no session for `idleMs`. */
  idleClosed = 0;
  /** Connections closed on accept because their source had `maxConnectionsPerSource` open. */
  refusedPerSource = 0;
  /** Connections closed because they carried no session `helloMs` after opening. */
  helloTimeouts = 0;
  /** Packets dropped because their connection had `maxQueuedBytes` queued. */
  writeDrops = 0;

  constructor(o: TcpServerSocketOptions) {
    super();
    this.#o = o;
    this.#clock = o.clock ?? systemClock;
    this.#idleMs = o.idleMs ?? TCP_IDLE_MS;
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

  /** Writes connection `id` into endpoint row `row` (what connectionOf reads). */
  static setConnection(slots: EndpointSlots, row: number, id: number): void {
    const b = slots.bytes;
    const o = row * ENDPOINT_ROW_BYTES;
    b.fill(0, o, o + ENDPOINT_ROW_BYTES);
    b[o] = FAMILY_TCP;
    b[o + 3] = id >>> 24;
    b[o + 4] = (id >>> 16) & 0xff;
    b[o + 5] = (id >>> 8) & 0xff;
    b[o + 6] = id & 0xff;
  }

  /** Open connections. */
  get connections(): number {
    return this.#conns.size;
  }

  /** Bytes queued for connection `id` and not yet taken by the kernel (0 when gone). */
  queuedBytes(id: number): number {
    return this.#conns.get(id)?.queued ?? 0;
  }

  closeConnection(id: number): void {
    const c = this.#conns.get(id);
    if (c) this.#drop(c);
  }

  /** Counters by name, for status output. */
  statRecord(): Record<string, number> {
    return {
      tcp_refused: this.refused,
      tcp_refused_per_source: this.refusedPerSource,
      tcp_hello_timeouts: this.helloTimeouts,
      tcp_idle_closed: this.idleClosed,
      tcp_write_drops: this.writeDrops,
    };
  }

  /** Forgets a connection once, closing it and reporting it through onClose. */
  #drop(c: Connection): void {
    c.close();
    if (c.helloTimer !== null) this.#clock.clearTimer(c.helloTimer);
    c.helloTimer = null;
    if (this.#conns.get(c.id) !== c) return;
    this.#conns.delete(c.id);
    const left = (this.#perSource.get(c.source) ?? 1) - 1;
    if (left > 0) this.#perSource.set(c.source, left);
    else this.#perSource.delete(c.source);
    if (!this.#closed) this.#o.onClose?.(c.id, c.remote);
  }

  /** A connection carrying a session (without hasSession: one that delivered a whole frame). */
  #trusted(c: Connection): boolean {
    const hasSession = this.#o.hasSession;
    return hasSession ? hasSession(c.id) : c.framed;
  }

  /** Closes `c` unless it carries a session by now. */
  #checkHello(c: Connection): void {
    c.helloTimer = null;
    if (c.closed || this.#trusted(c)) return;
    this.helloTimeouts++;
    this.#drop(c);
  }

  #armSweep(): void {
    if (this.#sweepTimer !== null || this.#closed || this.#conns.size === 0) return;
    this.#sweepTimer = this.#clock.setTimer(() => {
      this.#sweepTimer = null;
      this.#sweep();
      this.#armSweep();
    }, this.#idleMs / 4);
  }

  #sweep(): void {
    const now = this.#clock.now();
    const hasSession = this.#o.hasSession;
    for (const c of [...this.#conns.values()]) {
      const live = hasSession ? hasSession(c.id) : c.active;
      c.active = false;
      if (live) {
        c.liveAt = now;
      } else if (now - c.liveAt >= this.#idleMs) {
        this.idleClosed++;
        this.#drop(c);
      }
    }
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        if (this.#closed) {
          conn.close();
          break;
        }
        if (this.#conns.size >= (this.#o.maxConnections ?? MAX_TCP_CONNECTIONS)) {
          this.refused++;
          closeQuietly(conn);
          continue;
        }
        this.#open(conn);
      }
    } catch {
      // Listener closed.
    }
  }

  #open(conn: Deno.TcpConn): void {
    const ra = conn.remoteAddr as Deno.NetAddr;
    const remote = ra.hostname.includes(":") ? `[${ra.hostname}]:${ra.port}` : `${ra.hostname}:${ra.port}`;
    const source = sourceKeyOf(remote);
    const open = this.#perSource.get(source) ?? 0;
    if (open >= (this.#o.maxConnectionsPerSource ?? MAX_TCP_CONNECTIONS_PER_SOURCE)) {
      this.refusedPerSource++;
      closeQuietly(conn);
      return;
    }
    conn.setNoDelay(true);
    const maxQueued = this.#o.maxQueuedBytes ?? MAX_QUEUED_WRITE_BYTES;
    const c = new Connection(this.#nextId++ >>> 0, conn, remote, this.#clock.now(), maxQueued);
    this.#perSource.set(source, open + 1);
    this.#conns.set(c.id, c);
    const helloMs = this.#o.helloMs ?? TCP_HELLO_MS;
    if (Number.isFinite(helloMs)) c.helloTimer = this.#clock.setTimer(() => this.#checkHello(c), helloMs);
    this.#armSweep();
    void this.#read(c);
  }

  async #read(c: Connection): Promise<void> {
    // Small reads until the connection carries a session: a stranger's connection costs little memory.
    let chunk = new Uint8Array(STRANGER_READ_BYTES);
    const sink = (b: Uint8Array, off: number, len: number) => {
      c.framed = true;
      this.#push(c.id, b, off, len);
    };
    try {
      for (;;) {
        while (this.#count >= RING_SLOTS && !this.#closed) {
          await new Promise<void>((r) => this.#spaceWaiters.push(r));
        }
        if (this.#closed || c.closed) break;
        if (chunk.length < READ_BYTES && this.#trusted(c)) chunk = new Uint8Array(READ_BYTES);
        const n = await c.conn.read(chunk);
        if (n === null) break;
        c.active = true;
        c.reasm.feed(chunk.subarray(0, n), sink);
        this.rejected += c.reasm.rejected;
        c.reasm.rejected = 0;
      }
    } catch {
      // Reset or closed.
    } finally {
      this.#drop(c);
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
    this.arrival.wake();
  }

  protected receiveEnded(): boolean {
    return this.#closed;
  }

  protected hasQueued(): boolean {
    return this.#count > 0;
  }

  drainInto(bufs: Uint8Array[], sizes: Int32Array, from: EndpointSlots, offset: number): number {
    let n = 0;
    while (n < bufs.length && this.#count > 0) {
      const i = this.#head;
      sizes[n] = copyCut(bufs[n], offset, this.#ring[i], this.#ringLen[i]);
      TcpServerSocket.setConnection(from, n, this.#ringConn[i]);
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
    if (c === undefined) return false;
    if (c.queue(buf, offset, length)) return true;
    if (!c.closed) this.writeDrops++;
    return false;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#listener);
    if (this.#sweepTimer !== null) this.#clock.clearTimer(this.#sweepTimer);
    this.#sweepTimer = null;
    for (const c of this.#conns.values()) {
      c.close();
      if (c.helloTimer !== null) this.#clock.clearTimer(c.helloTimer);
      c.helloTimer = null;
    }
    this.#conns.clear();
    this.#perSource.clear();
    this.arrival.wake();
    for (const s of this.#spaceWaiters.splice(0)) s();
  }
}
