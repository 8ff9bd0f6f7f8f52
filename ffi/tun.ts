/**
 * Linux tun/tap devices through /dev/net/tun, as a `PacketDevice`.
 *
 * I/O model (measured on this project's target: one blocking FFI read per
 * packet ~240k packets/s, one thread-hopping nonblocking FFI call per packet
 * ~40k): the fd is O_NONBLOCK; `readBatch` drains with synchronous read(2)
 * calls until EAGAIN or the batch is full, and only when nothing is ready
 * awaits readiness once through a `Readiness` (poll(2) on Deno's blocking
 * thread pool over the tun fd and an eventfd). `close()` wakes a pending wait
 * at once and its `readBatch` resolves 0. `write` is one synchronous
 * write(2). Neither path allocates per packet: FFI views of (buffer, offset)
 * pairs come from a `ViewCache`, results are 32-bit numbers, errno is read
 * through a cached pointer view.
 *
 * The device is not persistent: it disappears when its last queue closes.
 */

import type { PacketDevice } from "../src/device/packet_device.ts";
import {
  AF_INET,
  cString,
  EAGAIN,
  EBADF,
  EBADFD,
  EBUSY,
  EINTR,
  EINVAL,
  EIO,
  ENODEV,
  ENXIO,
  errno,
  fromCString,
  libc,
  type LibcSymbols,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDWR,
  osError,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
} from "./libc.ts";
import { Readiness } from "./readiness.ts";
import { ViewCache } from "./view_cache.ts";
import { validateIfName } from "./if_name.ts";

export { MAX_IFNAME_BYTES, validateIfName } from "./if_name.ts";

export interface TunOptions {
  /** "tun": IP packets (layer 3); "tap": Ethernet frames (layer 2). */
  kind: "tun" | "tap";
  /** Interface name (at most 15 bytes; may contain "%d"); the kernel picks one when absent. */
  name?: string;
  /** Open one queue of a multi-queue device; open the same name again for more queues. */
  multiQueue?: boolean;
  /** MTU to set right after creation; the kernel default (1500) otherwise. */
  mtu?: number;
}

// <linux/if_tun.h>
const TUNSETIFF = 0x400454can; // _IOW('T', 202, int)
const IFF_TUN = 0x0001;
const IFF_TAP = 0x0002;
const IFF_MULTI_QUEUE = 0x0100;
const IFF_NO_PI = 0x1000;
// <linux/sockios.h>
const SIOCGIFMTU = 0x8921n;
const SIOCSIFMTU = 0x8922n;
const SIOCGIFINDEX = 0x8933n;

const IFREQ_SIZE = 40; // struct ifreq on LP64: char ifr_name[16] + 24-byte union
const IFR_UNION = 16;

const TUN_PATH = cString("/dev/net/tun");

/**
 * Creates (or attaches to, for multi-queue) a tun/tap device and returns it
 * open, non-blocking, without packet-information headers (IFF_NO_PI).
 * Needs CAP_NET_ADMIN in the current network namespace.
 */
export function openTun(options: TunOptions): TunDevice {
  if (options.kind !== "tun" && options.kind !== "tap") {
    throw new TypeError(`openTun: kind must be "tun" or "tap", got ${JSON.stringify(options.kind)}`);
  }
  if (options.name !== undefined) validateIfName(options.name);
  if (
    options.mtu !== undefined && (!Number.isInteger(options.mtu) || options.mtu < 68 || options.mtu > 65535)
  ) {
    throw new RangeError(`openTun: mtu must be an integer in 68..65535, got ${options.mtu}`);
  }
  const lib = libc();
  const fd = lib.open(TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0) throw osError("open /dev/net/tun");
  let ready: Readiness | undefined;
  try {
    const ifr = new Uint8Array(IFREQ_SIZE);
    if (options.name) ifr.set(new TextEncoder().encode(options.name));
    let flags = (options.kind === "tun" ? IFF_TUN : IFF_TAP) | IFF_NO_PI;
    if (options.multiQueue) flags |= IFF_MULTI_QUEUE;
    new DataView(ifr.buffer).setUint16(IFR_UNION, flags, true);
    const label = options.name ?? options.kind;
    if (lib.ioctl(fd, TUNSETIFF, ifr) < 0) {
      const e = errno();
      const hint = e === EBUSY
        ? "the device is already open elsewhere"
        : e === EINVAL
        ? `a device with this name exists and is not a ${options.kind} device in the same queue mode`
        : undefined;
      throw osError(`ioctl TUNSETIFF ${label}`, e, hint);
    }
    const name = fromCString(ifr, 0, 16);
    if (options.mtu !== undefined) {
      ifreqIoctl(lib, SIOCSIFMTU, name, options.mtu, `set MTU ${options.mtu} on ${name}`);
    }
    ready = new Readiness(lib, fd);
    const index = ifreqIoctl(lib, SIOCGIFINDEX, name, undefined, `get index of ${name}`);
    return new TunDevice(lib, fd, ready, name, options.kind, index);
  } catch (e) {
    lib.close(fd);
    ready?.close();
    throw e;
  }
}

/** Runs an SIOC*IF* ioctl on a throwaway AF_INET socket; returns the int at the union. */
function ifreqIoctl(
  lib: LibcSymbols,
  request: bigint,
  name: string,
  value: number | undefined,
  what: string,
): number {
  const sock = lib.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) throw osError(`${what}: socket`);
  try {
    const ifr = new Uint8Array(IFREQ_SIZE);
    ifr.set(new TextEncoder().encode(name));
    const view = new DataView(ifr.buffer);
    if (value !== undefined) view.setInt32(IFR_UNION, value, true);
    if (lib.ioctl(sock, request, ifr) < 0) throw osError(what);
    return view.getInt32(IFR_UNION, true);
  } finally {
    lib.close(sock);
  }
}

/** An open tun/tap queue. See the module comment for the I/O model. */
export class TunDevice implements PacketDevice {
  readonly name: string;
  readonly kind: "tun" | "tap";
  /** Interface index (ifindex), fixed for the device's life. */
  readonly index: number;
  #lib: LibcSymbols;
  #fd: number;
  #ready: Readiness;
  #views = new ViewCache();
  #reading = false;
  #lastMtu = 0;
  /** errno of the last write that returned false (0 if none yet). */
  lastWriteErrno = 0;

  /** Takes ownership of `fd` and `ready` (a `Readiness` on `fd`); `openTun` is the usual way in. */
  constructor(
    lib: LibcSymbols,
    fd: number,
    ready: Readiness,
    name: string,
    kind: "tun" | "tap",
    index: number,
  ) {
    this.#lib = lib;
    this.#fd = fd;
    this.#ready = ready;
    this.name = name;
    this.kind = kind;
    this.index = index;
  }

  /** The file descriptor, or -1 once closed. */
  get fd(): number {
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  /** The interface MTU as the kernel has it now (last known value once closed). */
  get mtu(): number {
    if (this.#fd >= 0) {
      this.#lastMtu = ifreqIoctl(this.#lib, SIOCGIFMTU, this.name, undefined, `get MTU of ${this.name}`);
    }
    return this.#lastMtu;
  }

  async readBatch(bufs: Uint8Array[], sizes: Int32Array, offset: number): Promise<number> {
    if (this.#reading) throw new Error(`readBatch on ${this.name}: another readBatch is pending`);
    const max = Math.min(bufs.length, sizes.length);
    if (max === 0) throw new RangeError(`readBatch on ${this.name}: no buffers`);
    this.#reading = true;
    try {
      for (;;) {
        if (this.#fd < 0) return 0;
        const n = this.#drain(bufs, sizes, offset, max);
        if (n > 0) return n;
        await this.#ready.wait();
      }
    } finally {
      this.#reading = false;
    }
  }

  /**
   * Like `readBatch` but never waits: drains what is ready now and returns
   * the count (0 when nothing is ready or the device is closed).
   */
  tryReadBatch(bufs: Uint8Array[], sizes: Int32Array, offset: number): number {
    if (this.#fd < 0) return 0;
    return this.#drain(bufs, sizes, offset, Math.min(bufs.length, sizes.length));
  }

  /** Synchronous reads until EAGAIN or `max` packets. */
  #drain(bufs: Uint8Array[], sizes: Int32Array, offset: number, max: number): number {
    const lib = this.#lib;
    const fd = this.#fd;
    let n = 0;
    while (n < max) {
      const buf = bufs[n];
      const room = buf.length - offset;
      if (room <= 0) {
        throw new RangeError(`readBatch on ${this.name}: offset ${offset} leaves no room in buffer ${n}`);
      }
      const r = lib.read(fd, this.#views.at(buf, offset), room);
      if (r > 0) {
        sizes[n++] = r;
        continue;
      }
      if (r === 0) break;
      const e = errno();
      if (e === EAGAIN) break;
      if (e === EINTR) continue;
      throw osError(`read ${this.name}`, e, e === EBADFD ? "the device was deleted" : undefined);
    }
    return n;
  }

  write(buf: Uint8Array, offset: number, length: number): boolean {
    const fd = this.#fd;
    if (fd < 0) throw new Error(`write ${this.name}: device is closed`);
    if (offset < 0 || length <= 0 || offset + length > buf.length) {
      throw new RangeError(`write ${this.name}: ${offset}+${length} is outside a ${buf.length}-byte buffer`);
    }
    const r = this.#lib.write(fd, this.#views.at(buf, offset), length);
    if (r === length) return true;
    if (r >= 0) {
      this.lastWriteErrno = EIO;
      return false;
    }
    const e = errno();
    if (e === EBADF || e === EBADFD || e === ENODEV || e === ENXIO) {
      throw osError(`write ${this.name}`, e, e === EBADFD ? "the device was deleted" : undefined);
    }
    // EAGAIN/ENOBUFS (queue full), EIO (link down), EINVAL (not an IP packet):
    // the packet is dropped, as a NIC would.
    this.lastWriteErrno = e;
    return false;
  }

  /**
   * Closes this queue; the device disappears with its last queue. Idempotent.
   * A pending `readBatch` is woken and resolves 0.
   */
  close(): void {
    const fd = this.#fd;
    if (fd < 0) return;
    try {
      this.#lastMtu = this.mtu;
    } catch {
      // The interface may already be gone (deleted from outside).
    }
    this.#fd = -1;
    this.#lib.close(fd);
    this.#ready.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
