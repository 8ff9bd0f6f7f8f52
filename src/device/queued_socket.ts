/**
 * The shape shared by DatagramSockets that are fed from a queue in this
 * process rather than by a kernel socket (TCP framing on either side, the
 * in-memory test network): `receiveBatch` parks until a producer wakes it,
 * then drains the queue synchronously into the caller's buffers; `sendBatch`
 * is `send` for each datagram. Subclasses keep their own queue (an array, a
 * preallocated ring) and say how it drains.
 */

import type { DatagramSocket, EndpointSlots } from "./datagram_socket.ts";
import { sendEach } from "./socket_helpers.ts";

/** The one pending receiver of a queue: `wait()` parks it, `wake()` (from a producer or close) resumes it. */
export class Wakeup {
  #resolve: (() => void) | null = null;

  wait(): Promise<void> {
    return new Promise<void>((resolve) => this.#resolve = resolve);
  }

  wake(): void {
    const resolve = this.#resolve;
    this.#resolve = null;
    resolve?.();
  }
}

export abstract class QueuedDatagramSocket implements DatagramSocket {
  abstract readonly localPort: number;
  /** Woken when a datagram is queued or the socket ends. */
  protected readonly arrival = new Wakeup();

  /** True when receiveBatch should resolve 0: the socket is done (and, if it says so, drained). */
  protected abstract receiveEnded(): boolean;
  /** True when at least one datagram is queued. */
  protected abstract hasQueued(): boolean;
  /**
   * The synchronous part of receiveBatch (tests drive pipelines with it step
   * by step): moves up to `bufs.length` queued datagrams into the caller's
   * buffers (datagram i at `bufs[i][offset..]`, its size in `sizes[i]`, its
   * source in row i of `from`); returns the count. The hot path.
   */
  abstract drainInto(bufs: Uint8Array[], sizes: Int32Array, from: EndpointSlots, offset: number): number;

  async receiveBatch(
    bufs: Uint8Array[],
    sizes: Int32Array,
    from: EndpointSlots,
    offset: number,
  ): Promise<number> {
    for (;;) {
      if (this.receiveEnded()) return 0;
      if (this.hasQueued()) return this.drainInto(bufs, sizes, from, offset);
      await this.arrival.wait();
    }
  }

  abstract send(buf: Uint8Array, offset: number, length: number, to: EndpointSlots, row: number): boolean;

  sendBatch(
    bufs: Uint8Array[],
    offsets: Int32Array,
    sizes: Int32Array,
    count: number,
    to: EndpointSlots,
    rows: Int32Array,
  ): number {
    return sendEach(this, bufs, offsets, sizes, count, to, rows);
  }

  abstract close(): void;
}

/**
 * Copies `length` bytes of `src` into `dst` at `offset`, cut to the room
 * there, and returns the bytes copied (a receiveBatch slot's size).
 */
export function copyCut(dst: Uint8Array, offset: number, src: Uint8Array, length: number): number {
  const copied = Math.min(length, dst.length - offset);
  dst.set(src.subarray(0, copied), offset);
  return copied;
}
