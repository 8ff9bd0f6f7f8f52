/**
 * A `LoopbackRig` (src/device/pollable.ts): a device over one end of an
 * AF_UNIX datagram socketpair (it reads and writes whole packets like a tun;
 * this process holds the other end as the host would) and a `UdpSocket` on
 * 127.0.0.1 that can send to itself. Nothing leaves the process. Used by the
 * JIT warm-up, which reaches it through `TunDevice.openLoopbackRig` so that
 * its device is a `TunDevice` like the real one.
 */

import type { LoopbackRig, SyncPacketDevice } from "../src/device/pollable.ts";
import { AF_UNIX, type LibcSymbols, osError, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK } from "./libc.ts";
import { openUdp, type UdpSocket } from "./udp.ts";

class SocketpairRig implements LoopbackRig {
  readonly device: SyncPacketDevice;
  readonly socket: UdpSocket;
  #lib: LibcSymbols;
  #hostEnd: number;

  constructor(lib: LibcSymbols, device: SyncPacketDevice, hostEnd: number, socket: UdpSocket) {
    this.#lib = lib;
    this.device = device;
    this.#hostEnd = hostEnd;
    this.socket = socket;
  }

  hostWrite(buf: Uint8Array, length: number): boolean {
    return this.#lib.write(this.#hostEnd, buf, length) >= 0;
  }

  hostRead(buf: Uint8Array): number {
    return this.#lib.read(this.#hostEnd, buf, buf.length);
  }

  close(): void {
    this.device.close();
    this.socket.close();
    if (this.#hostEnd >= 0) this.#lib.close(this.#hostEnd);
    this.#hostEnd = -1;
  }
}

/**
 * Opens a rig whose device `makeDevice` builds over the socketpair end it is
 * given (and then owns). Throws an `OsError` when the kernel refuses the
 * socketpair or the UDP socket; nothing is left open then.
 */
export function openLoopbackRig(lib: LibcSymbols, makeDevice: (fd: number) => SyncPacketDevice): LoopbackRig {
  const pair = new Int32Array(2);
  if (lib.socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) < 0) {
    throw osError("socketpair AF_UNIX SOCK_DGRAM");
  }
  let device: SyncPacketDevice;
  try {
    device = makeDevice(pair[0]);
  } catch (e) {
    lib.close(pair[0]);
    lib.close(pair[1]);
    throw e;
  }
  try {
    return new SocketpairRig(lib, device, pair[1], openUdp({ host: "127.0.0.1", port: 0, gso: true }));
  } catch (e) {
    device.close();
    lib.close(pair[1]);
    throw e;
  }
}
