/**
 * The virtual NIC seen from above the OS layer: a tun (IP packets) or tap
 * (Ethernet frames) device. Implemented by `ffi/tun.ts` on Linux and by
 * in-memory fakes in tests.
 *
 * Contract:
 * - `readBatch` waits until at least one packet is ready, then drains up to
 *   `bufs.length` packets with synchronous reads. Packet i lands at
 *   `bufs[i][offset .. offset + sizes[i])`; the buffers stay owned by the caller
 *   and nothing is allocated per packet. Resolves with the count (0 only when
 *   the device was closed).
 * - `write` is synchronous and does not allocate; it returns false when the
 *   kernel queue is full (the packet is dropped, as a NIC would) and throws only
 *   when the device is gone.
 * - Only one `readBatch` may be pending at a time.
 */
export interface PacketDevice {
  readonly name: string;
  readonly kind: "tun" | "tap";
  readonly mtu: number;
  readBatch(bufs: Uint8Array[], sizes: Int32Array, offset: number): Promise<number>;
  write(buf: Uint8Array, offset: number, length: number): boolean;
  close(): void;
}
