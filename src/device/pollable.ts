/**
 * Devices and sockets backed by kernel fds, which the datapath's poll loop
 * (src/datapath/poll_loop.ts) drains without waiting and waits on together in
 * one poll(2). Implemented by `ffi/tun.ts` (`TunDevice`), `ffi/udp.ts`
 * (`UdpSocket`) and `ffi/poll_set.ts` (`PollSet`); the datapath reaches the OS
 * only through these interfaces.
 */

import type { DatagramSocket, EndpointSlots } from "./datagram_socket.ts";
import type { PacketDevice } from "./packet_device.ts";

/**
 * A poll(2) over a few fd slots plus a wake-up, waited on synchronously (on
 * the calling thread) or asynchronously (Deno's blocking pool). Contract in
 * `ffi/poll_set.ts`: one wait at a time; a negative fd leaves its slot
 * unwatched; `wake()` ends the pending or next wait; the fds are not owned.
 */
export interface Poller {
  /** Watches `fd` (or nothing, when negative) for readability in `slot`. */
  setFd(slot: number, fd: number): void;
  /** Blocks until a watched fd is readable, `wake()`, or `timeoutMs`; poll's result. */
  waitSync(timeoutMs: number): number;
  /** The same wait without blocking the thread; never rejects. */
  wait(timeoutMs: number): Promise<number>;
  wake(): void;
  /** Ends a pending wait and releases the poller's own fds. Idempotent. */
  close(): void;
}

/**
 * Real kernel objects of the same classes as a live datapath's, joined to
 * nothing but this process: the JIT warm-up (src/datapath/warm_up.ts) pushes
 * packets through them so the code it gets compiled runs the real calls.
 */
export interface LoopbackRig {
  /** A device over one end of an AF_UNIX datagram socketpair (whole packets, like a tun). */
  readonly device: SyncPacketDevice;
  /** A UDP socket bound to 127.0.0.1 on a free port; datagrams to its own port come back to it. */
  readonly socket: SyncDatagramSocket;
  /** Writes `length` bytes of `buf` into the device as the host would; false when refused. */
  hostWrite(buf: Uint8Array, length: number): boolean;
  /** Reads what the device wrote toward the host into `buf`: its length, or ≤ 0 when none waits. */
  hostRead(buf: Uint8Array): number;
  /** Closes the device, the socket and the host end. */
  close(): void;
}

/** A device that can be drained without waiting and polled by fd (ffi/tun.ts TunDevice). */
export interface SyncPacketDevice extends PacketDevice {
  /** The fd, or -1 once closed. */
  readonly fd: number;
  readonly closed: boolean;
  /** Drains what is ready now (as `readBatch` without the wait); 0 when nothing is. */
  tryReadBatch(bufs: Uint8Array[], sizes: Int32Array, offset: number): number;
  /** A poller from the OS layer that opened this device, to wait on its fd and the socket's. */
  openPoller(slots: number): Poller;
  /** A loopback rig with a device of this class (a tun with a virtio-net header when asked). */
  openLoopbackRig?(vnetHeader: boolean): LoopbackRig;
}

/**
 * A socket that can be drained without waiting and polled by fd (ffi/udp.ts
 * UdpSocket). `fd` may be -1 while `closed` is false (a wrapper between
 * sockets): the loop then serves the device alone and looks again each turn.
 */
export interface SyncDatagramSocket extends DatagramSocket {
  readonly fd: number;
  readonly closed: boolean;
  tryReceiveBatch(bufs: Uint8Array[], sizes: Int32Array, from: EndpointSlots, offset: number): number;
}

/**
 * A wrapper whose socket changes over time (the client's reconnecting
 * socket): `current` is the socket in use (null between connections) and
 * `closed` turns true once the wrapper is closed for good. The poll loop
 * reads `current` directly: synchronously when it is fd-backed, else with its
 * own `receiveBatch` (a TCP socket); it never calls the wrapper's
 * `receiveBatch`. Packets are sent through the wrapper as before.
 */
export interface DatagramSocketHolder extends DatagramSocket {
  readonly current: DatagramSocket | null;
  readonly closed: boolean;
}

export function isSyncDevice(d: PacketDevice): d is SyncPacketDevice {
  const x = d as Partial<SyncPacketDevice>;
  return typeof x.fd === "number" && typeof x.tryReadBatch === "function" &&
    typeof x.closed === "boolean" && typeof x.openPoller === "function";
}

export function isSyncSocket(s: DatagramSocket): s is SyncDatagramSocket {
  const x = s as Partial<SyncDatagramSocket>;
  return typeof x.fd === "number" && typeof x.tryReceiveBatch === "function" && typeof x.closed === "boolean";
}

export function isSocketHolder(s: DatagramSocket): s is DatagramSocketHolder {
  const x = s as Partial<DatagramSocketHolder>;
  return "current" in s && typeof x.closed === "boolean";
}
