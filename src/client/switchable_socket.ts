/**
 * A DatagramSocket whose underlying socket changes with each connection, so
 * the client's datapath (and its tun device) lives for the whole run while
 * connections come and go (persist-tun). Between connections sends are
 * dropped (`send` false, `sendBatch` 0) and `receiveBatch` waits for the
 * next socket; it resolves 0 only once this wrapper is closed.
 */

import type { DatagramSocket, EndpointSlots } from "../device/datagram_socket.ts";
import { Wakeup } from "../device/queued_socket.ts";

export class SwitchableSocket implements DatagramSocket {
  #current: DatagramSocket | null = null;
  #closed = false;
  /** Woken when a socket comes into use or this wrapper closes. */
  readonly #switched = new Wakeup();

  get localPort(): number {
    return this.#current?.localPort ?? 0;
  }

  get current(): DatagramSocket | null {
    return this.#current;
  }

  /** True once closed; with `current`, lets the datapath's poll loop follow the socket in use. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Makes `socket` the one in use; the previous one is closed. */
  use(socket: DatagramSocket): void {
    if (this.#closed) {
      socket.close();
      return;
    }
    const old = this.#current;
    this.#current = socket;
    old?.close();
    this.#switched.wake();
  }

  /** Closes the socket in use, if it is still `socket` (or any, without argument). */
  drop(socket?: DatagramSocket): void {
    const cur = this.#current;
    if (!cur || (socket && socket !== cur)) return;
    this.#current = null;
    cur.close();
    this.#switched.wake();
  }

  async receiveBatch(
    bufs: Uint8Array[],
    sizes: Int32Array,
    from: EndpointSlots,
    offset: number,
  ): Promise<number> {
    for (;;) {
      if (this.#closed) return 0;
      const socket = this.#current;
      if (!socket) {
        await this.#switched.wait();
        continue;
      }
      let received = 0;
      try {
        received = await socket.receiveBatch(bufs, sizes, from, offset);
      } catch {
        received = 0;
      }
      if (received > 0 && socket === this.#current && !this.#closed) return received;
      if (received === 0 && socket === this.#current) {
        // That socket ended on its own (TCP connection closed); wait for the next one.
        this.#current = null;
      }
    }
  }

  send(buf: Uint8Array, offset: number, length: number, to: EndpointSlots, row: number): boolean {
    return this.#current ? this.#current.send(buf, offset, length, to, row) : false;
  }

  sendBatch(
    bufs: Uint8Array[],
    offsets: Int32Array,
    sizes: Int32Array,
    count: number,
    to: EndpointSlots,
    rows: Int32Array,
  ): number {
    return this.#current ? this.#current.sendBatch(bufs, offsets, sizes, count, to, rows) : 0;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#current?.close();
    this.#current = null;
    this.#switched.wake();
  }
}
