/**
 * In-memory UDP for datapath tests: a FakeNetwork delivers datagrams between
 * FakeSockets by IPv4 address and port. A socket's address may be changed to
 * simulate a NAT rebinding (float). Every datagram is copied; tests only.
 */

import { type DatagramSocket, EndpointSlots } from "../../device/datagram_socket.ts";
import { sendEach } from "../../device/socket_helpers.ts";

interface Datagram {
  bytes: Uint8Array;
  fromAddr: number;
  fromPort: number;
}

export class FakeNetwork {
  readonly #sockets = new Map<string, FakeSocket>();
  /** Every datagram sent, for assertions (copies). */
  readonly log: { from: string; to: string; bytes: Uint8Array }[] = [];

  socket(address: number, port: number): FakeSocket {
    const s = new FakeSocket(this, address, port);
    this.#sockets.set(key(address, port), s);
    return s;
  }

  /** @internal */
  rebind(s: FakeSocket, oldKey: string): void {
    this.#sockets.delete(oldKey);
    this.#sockets.set(key(s.address, s.localPort), s);
  }

  /** @internal */
  deliver(from: FakeSocket, toAddr: number, toPort: number, bytes: Uint8Array): void {
    this.log.push({ from: key(from.address, from.localPort), to: key(toAddr, toPort), bytes });
    this.#sockets.get(key(toAddr, toPort))?.enqueue({
      bytes,
      fromAddr: from.address,
      fromPort: from.localPort,
    });
  }
}

function key(a: number, p: number): string {
  return `${a >>> 0}:${p}`;
}

export class FakeSocket implements DatagramSocket {
  readonly #net: FakeNetwork;
  #address: number;
  readonly localPort: number;
  #queue: Datagram[] = [];
  #waiter: (() => void) | null = null;
  #closed = false;
  sent = 0;

  constructor(net: FakeNetwork, address: number, port: number) {
    this.#net = net;
    this.#address = address >>> 0;
    this.localPort = port;
  }

  get address(): number {
    return this.#address;
  }

  /** Changes the source address later datagrams carry (and where replies must go). */
  set address(a: number) {
    const old = key(this.#address, this.localPort);
    this.#address = a >>> 0;
    this.#net.rebind(this, old);
  }

  /** An EndpointSlots row naming this socket. */
  endpoint(): EndpointSlots {
    const e = new EndpointSlots(1);
    e.setIpv4(0, this.#address, this.localPort);
    return e;
  }

  /** Number of datagrams waiting to be received. */
  get pending(): number {
    return this.#queue.length;
  }

  /** @internal */
  enqueue(d: Datagram): void {
    if (this.#closed) return;
    this.#queue.push(d);
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }

  /** Removes and returns pending datagrams without going through receiveBatch. */
  take(): Uint8Array[] {
    return this.#queue.splice(0).map((d) => d.bytes);
  }

  async receiveBatch(
    bufs: Uint8Array[],
    sizes: Int32Array,
    from: EndpointSlots,
    offset: number,
  ): Promise<number> {
    while (this.#queue.length === 0 && !this.#closed) {
      await new Promise<void>((r) => this.#waiter = r);
    }
    if (this.#closed) return 0;
    return this.drainInto(bufs, sizes, from, offset);
  }

  /** The synchronous part of receiveBatch (tests drive pipelines step by step). */
  drainInto(bufs: Uint8Array[], sizes: Int32Array, from: EndpointSlots, offset: number): number {
    let n = 0;
    while (n < bufs.length && this.#queue.length > 0) {
      const d = this.#queue.shift()!;
      const len = Math.min(d.bytes.length, bufs[n].length - offset);
      bufs[n].set(d.bytes.subarray(0, len), offset);
      sizes[n] = len;
      from.setIpv4(n, d.fromAddr, d.fromPort);
      n++;
    }
    return n;
  }

  send(buf: Uint8Array, offset: number, length: number, to: EndpointSlots, row: number): boolean {
    if (this.#closed) return false;
    this.sent++;
    this.#net.deliver(this, to.ipv4(row), to.port(row), buf.slice(offset, offset + length));
    return true;
  }

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

  close(): void {
    this.#closed = true;
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }
}
