/**
 * `UdpSocket`, the open UDP underlay socket (a `SyncDatagramSocket`): the
 * receive wait, the open/closed state and the socket options; the batches
 * themselves are `RecvBatch` (recvmmsg) and `SendBatch` (sendmmsg, GSO).
 * `openUdp` in `udp.ts` opens one; that module's comment states the I/O
 * model and the buffer contract.
 */

import type { DatagramSocket, EndpointSlots } from "../src/device/datagram_socket.ts";
import { AF_INET6, type LibcSymbols, osError, SO_RCVBUF, SO_SNDBUF, SOL_SOCKET } from "./libc.ts";
import type { Readiness } from "./readiness.ts";
import { RecvBatch } from "./udp_recv_batch.ts";
import { SendBatch } from "./udp_send_batch.ts";

/** An open UDP socket. See the module comment of `udp.ts` for the I/O model. */
export class UdpSocket implements DatagramSocket {
  readonly localPort: number;
  /** The host given to `openUdp`. */
  readonly host: string;
  /** AF_INET or AF_INET6. */
  readonly family: number;
  #lib: LibcSymbols;
  #fd: number;
  #ready: Readiness;
  /** "host:port" (IPv6 hosts bracketed), for error messages. */
  readonly #label: string;
  readonly #rx: RecvBatch;
  readonly #tx: SendBatch;
  #receiving = false;

  /** Takes ownership of `fd` and `ready` (a `Readiness` on `fd`); `openUdp` is the usual way in. */
  constructor(
    lib: LibcSymbols,
    fd: number,
    ready: Readiness,
    family: number,
    host: string,
    localPort: number,
    gso = false,
  ) {
    this.#lib = lib;
    this.#fd = fd;
    this.#ready = ready;
    this.family = family;
    this.host = host;
    this.localPort = localPort;
    this.#label = family === AF_INET6 ? `[${host}]:${localPort}` : `${host}:${localPort}`;
    this.#rx = new RecvBatch(lib, this.#label);
    this.#tx = new SendBatch(lib, family, this.#label, gso);
  }

  /** The file descriptor, or -1 once closed. */
  get fd(): number {
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Datagrams dropped because the kernel send buffer was full (EAGAIN, ENOBUFS). */
  get sendDrops(): number {
    return this.#tx.drops;
  }

  /** Datagrams the kernel refused for another reason (unreachable, unset row, …); see `lastSendErrno`. */
  get sendErrors(): number {
    return this.#tx.errors;
  }

  /** errno of the last refused send counted in `sendErrors` (0 if none; -1 for an unsendable row). */
  get lastSendErrno(): number {
    return this.#tx.lastErrno;
  }

  /** Received datagrams longer than their buffer's room; delivered cut to the room. */
  get truncated(): number {
    return this.#rx.truncated;
  }

  /** Whether `sendBatch` groups datagrams with UDP_SEGMENT (false once the kernel refused it outright). */
  get gso(): boolean {
    return this.#tx.gso;
  }

  /** Datagram size from which `sendBatch` no longer groups (Infinity until a group was refused). */
  get gsoLimit(): number {
    return this.#tx.gsoLimit;
  }

  /** The kernel's receive buffer size (SO_RCVBUF as reported: twice the requested value). */
  get recvBufferBytes(): number {
    return this.#getIntOption(SO_RCVBUF, "SO_RCVBUF");
  }

  /** The kernel's send buffer size (SO_SNDBUF as reported: twice the requested value). */
  get sendBufferBytes(): number {
    return this.#getIntOption(SO_SNDBUF, "SO_SNDBUF");
  }

  #getIntOption(name: number, what: string): number {
    this.#checkOpen(`getsockopt ${what}`);
    const v = new Int32Array(1);
    const len = new Uint32Array([4]);
    if (this.#lib.getsockopt(this.#fd, SOL_SOCKET, name, v, len) < 0) throw osError(`getsockopt ${what}`);
    return v[0];
  }

  receiveBatch(bufs: Uint8Array[], sizes: Int32Array, from: EndpointSlots, offset: number): Promise<number> {
    // Not an async function: when datagrams are already queued (the common
    // case under load) the result is one resolved promise, not the several
    // objects an async function's frame costs.
    try {
      if (this.#receiving) {
        throw new Error(`receiveBatch on ${this.#label}: another receiveBatch is pending`);
      }
      const max = this.#rx.prepare(bufs, sizes, from, offset);
      if (this.#fd < 0) return Promise.resolve(0);
      const n = this.#rx.drain(this.#fd, sizes, from, max);
      if (n > 0) return Promise.resolve(n);
      return this.#receiveWaiting(sizes, from, max);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  async #receiveWaiting(sizes: Int32Array, from: EndpointSlots, max: number): Promise<number> {
    this.#receiving = true;
    try {
      for (;;) {
        await this.#ready.wait();
        if (this.#fd < 0) return 0;
        const n = this.#rx.drain(this.#fd, sizes, from, max);
        if (n > 0) return n;
      }
    } finally {
      this.#receiving = false;
    }
  }

  /**
   * Like `receiveBatch` but never waits: receives what is ready now and
   * returns the count (0 when nothing is ready or the socket is closed).
   */
  tryReceiveBatch(bufs: Uint8Array[], sizes: Int32Array, from: EndpointSlots, offset: number): number {
    if (this.#fd < 0) return 0;
    if (this.#receiving) throw new Error(`tryReceiveBatch on ${this.#label}: a receiveBatch is pending`);
    return this.#rx.drain(this.#fd, sizes, from, this.#rx.prepare(bufs, sizes, from, offset));
  }

  send(buf: Uint8Array, offset: number, length: number, to: EndpointSlots, row: number): boolean {
    this.#checkOpen("sendto");
    return this.#tx.send(this.#fd, buf, offset, length, to, row);
  }

  sendBatch(
    bufs: Uint8Array[],
    offsets: Int32Array,
    sizes: Int32Array,
    count: number,
    to: EndpointSlots,
    rows: Int32Array,
  ): number {
    this.#checkOpen("sendmmsg");
    if (count <= 0) return 0;
    if (count > bufs.length || count > offsets.length || count > sizes.length || count > rows.length) {
      throw new RangeError(`sendmmsg ${this.#label}: count ${count} exceeds the arrays given`);
    }
    return this.#tx.sendBatch(this.#fd, bufs, offsets, sizes, count, to, rows);
  }

  #checkOpen(what: string): void {
    if (this.#fd < 0) throw new Error(`${what} ${this.#label}: socket is closed`);
  }

  /**
   * Closes the socket. Idempotent. A pending `receiveBatch` is woken and
   * resolves 0; later calls to `receiveBatch` resolve 0, sends throw.
   */
  close(): void {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;
    this.#lib.close(fd);
    this.#rx.clear();
    this.#tx.clear();
    this.#ready.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
