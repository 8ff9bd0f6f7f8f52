/**
 * In-memory PacketDevice for datapath tests: `inject()` queues packets the
 * "host" sends into the device (what readBatch returns), `written` collects
 * what the datapath wrote to it. Allocates freely; tests only.
 */

import type { PacketDevice } from "../../device/packet_device.ts";

export class FakeDevice implements PacketDevice {
  readonly name: string;
  readonly kind: "tun" | "tap";
  readonly mtu: number;
  readonly written: Uint8Array[] = [];
  /** When false, write() reports a full queue. */
  accepting = true;
  #queue: Uint8Array[] = [];
  #waiter: (() => void) | null = null;
  #closed = false;

  constructor(kind: "tun" | "tap" = "tun", mtu = 1500, name = "fake0") {
    this.kind = kind;
    this.mtu = mtu;
    this.name = name;
  }

  inject(packet: Uint8Array): void {
    this.#queue.push(packet.slice());
    this.#wake();
  }

  async readBatch(bufs: Uint8Array[], sizes: Int32Array, offset: number): Promise<number> {
    while (this.#queue.length === 0 && !this.#closed) {
      await new Promise<void>((r) => this.#waiter = r);
    }
    if (this.#closed) return 0;
    let n = 0;
    while (n < bufs.length && this.#queue.length > 0) {
      const p = this.#queue.shift()!;
      bufs[n].set(p, offset);
      sizes[n] = p.length;
      n++;
    }
    return n;
  }

  write(buf: Uint8Array, offset: number, length: number): boolean {
    if (this.#closed) throw new Error("Device is closed");
    if (!this.accepting) return false;
    this.written.push(buf.slice(offset, offset + length));
    return true;
  }

  /** Removes and returns what was written so far. */
  take(): Uint8Array[] {
    return this.written.splice(0);
  }

  close(): void {
    this.#closed = true;
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }
}
