/** Framed writes to a Deno TCP connection. */

import { MAX_FRAME, writeFrameLength } from "./tcp_framing.ts";

/** Bytes queued for one connection beyond which further packets are dropped. */
export const MAX_QUEUED_WRITE_BYTES = 1024 * 1024;
/** TCP servers (serveTcp, server/tcp_socket.ts) accept at most this many connections at once. */
export const MAX_TCP_CONNECTIONS = 1024;
/** TCP servers close a connection that has carried no session for this long. */
export const TCP_IDLE_MS = 60_000;
/**
 * server/tcp_socket.ts accepts at most this many connections at once from one source address (IPv4, IPv6
 * /64): a client holds one (two briefly while reconnecting), so this leaves room for a dozen clients behind
 * one NAT while one address can hold at most 1/64 of MAX_TCP_CONNECTIONS.
 */
export const MAX_TCP_CONNECTIONS_PER_SOURCE = 16;
/**
 * server/tcp_socket.ts closes a connection that carries no session this long after it opened: a client
 * sends its hard reset right after connecting, so one that has not by then is half-open or hostile.
 */
export const TCP_HELLO_MS = 5_000;

/** First size of a FrameWriteQueue's buffers; they double up to maxQueued as needed. */
const OUT_INITIAL_BYTES = 16 * 1024;

/**
 * Length-prefixed frames queued for one connection and written in batches:
 * frames accumulate in one buffer while the previous batch is being written
 * from the other, so a busy connection costs one write per batch and no
 * allocation per packet. (A promise and a frame copy per packet let a
 * client's heap grow to ~200 MiB while it sent at 700 Mbit/s: the pending
 * frames were promoted to the old generation faster than V8 collected them.)
 * A peer that stops reading cannot grow the queue past `maxQueued` bytes:
 * later packets are refused, as a full UDP socket buffer would drop them.
 */
export class FrameWriteQueue {
  readonly #conn: Deno.Conn;
  readonly #maxQueued: number;
  readonly #onError: () => void;
  // Allocated on first use: a connection that never gets a packet (a stranger's) costs no buffers.
  #out = new Uint8Array(0);
  #spare = new Uint8Array(0);
  #outLen = 0;
  /** Bytes of the batch being written that the kernel has not taken yet. */
  #inflight = 0;
  #writing = false;
  #stopped = false;

  /** `onError` runs once, when a write fails; the queue refuses packets from then on. */
  constructor(conn: Deno.Conn, maxQueued: number, onError: () => void) {
    this.#conn = conn;
    this.#maxQueued = maxQueued;
    this.#onError = onError;
  }

  /** Bytes accepted by queue() and not yet written to the kernel. */
  get queued(): number {
    return this.#outLen + this.#inflight;
  }

  /** Queues buf[off, off+len) as one frame; false when stopped, empty, too long, or over the bound. */
  queue(buf: Uint8Array, off: number, len: number): boolean {
    const need = this.#outLen + len + 2;
    if (this.#stopped || len === 0 || len > MAX_FRAME || need + this.#inflight > this.#maxQueued) {
      return false;
    }
    if (need > this.#out.length) this.#grow(need);
    writeFrameLength(this.#out, this.#outLen, len);
    this.#out.set(buf.subarray(off, off + len), this.#outLen + 2);
    this.#outLen = need;
    if (!this.#writing) void this.#drain();
    return true;
  }

  /** Refuses further packets and stops writing after the current write (the connection is closing). */
  stop(): void {
    this.#stopped = true;
  }

  #grow(need: number): void {
    let size = Math.max(OUT_INITIAL_BYTES, this.#out.length * 2);
    while (size < need) size *= 2;
    const out = new Uint8Array(Math.min(size, this.#maxQueued));
    out.set(this.#out.subarray(0, this.#outLen));
    this.#out = out;
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#outLen > 0 && !this.#stopped) {
        const chunk = this.#out;
        const n = this.#outLen;
        this.#out = this.#spare;
        this.#spare = chunk;
        this.#outLen = 0;
        this.#inflight = n;
        let p = 0;
        while (p < n) {
          p += await this.#conn.write(chunk.subarray(p, n));
          this.#inflight = n - p;
        }
      }
    } catch {
      if (!this.#stopped) {
        this.#stopped = true;
        this.#onError();
      }
    } finally {
      this.#inflight = 0;
      this.#writing = false;
    }
  }
}

/**
 * Serialises writes to one connection so frames never interleave (a
 * FrameWriteQueue as a function). Packets past `maxQueued` pending bytes, or
 * after a failed write, are dropped.
 */
export function framedWriter(
  conn: Deno.Conn,
  onError: () => void,
  maxQueued = MAX_QUEUED_WRITE_BYTES,
): (packet: Uint8Array) => void {
  const q = new FrameWriteQueue(conn, maxQueued, onError);
  return (packet) => void q.queue(packet, 0, packet.length);
}
