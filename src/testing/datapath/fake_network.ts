/**
 * In-memory UDP for datapath tests: a FakeNetwork delivers datagrams between
 * FakeSockets by IPv4 address and port. A socket's address may be changed to
 * simulate a NAT rebinding (float). Every datagram is copied; tests only.
 */

import { EndpointSlots } from "../../device/datagram_socket.ts";
import { copyCut, QueuedDatagramSocket } from "../../device/queued_socket.ts";

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

export class FakeSocket extends QueuedDatagramSocket {
  readonly #net: FakeNetwork;
  #address: number;
  readonly localPort: number;
  #queue: Datagram[] = [];
  #closed = false;
  sent = 0;

  constructor(net: FakeNetwork, address: number, port: number) {
    super();
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
    this.arrival.wake();
  }

  /** Removes and returns pending datagrams without going through receiveBatch. */
  take(): Uint8Array[] {
    return this.#queue.splice(0).map((d) => d.bytes);
  }

  protected receiveEnded(): boolean {
    return this.#closed;
  }

  protected hasQueued(): boolean {
    return this.#queue.length > 0;
  }

  drainInto(bufs: Uint8Array[], sizes: Int32Array, from: EndpointSlots, offset: number): number {
    let n = 0;
    while (n < bufs.length && this.#queue.length > 0) {
      const d = this.#queue.shift()!;
      sizes[n] = copyCut(bufs[n], offset, d.bytes, d.bytes.length);
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

  close(): void {
    this.#closed = true;
    this.arrival.wake();
  }
}
