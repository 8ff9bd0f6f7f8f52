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

import type { LoopbackRig, Poller, SyncPacketDevice } from "../src/device/pollable.ts";
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
  ioErrnoPlausible,
  libc,
  type LibcSymbols,
  O_CLOEXEC,
  O_NONBLOCK,
  O_RDWR,
  osError,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  STRAY_ERRNO_RETRIES,
} from "./libc.ts";
import { openLoopbackRig } from "./loopback_rig.ts";
import { PollSet } from "./poll_set.ts";
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
  /**
   * tun only: open with IFF_VNET_HDR, so `writeGso` can hand the kernel one
   * coalesced TCP super-packet instead of many segments (see `writeGso`).
   * Reads and writes then carry a 10-byte virtio-net header, which this class
   * keeps out of sight: `readBatch` needs `offset >= VNET_HDR_LEN` and uses
   * the VNET_HDR_LEN bytes before `offset` as scratch; `write` borrows the same
   * bytes in front of the packet and restores them. No offloads are enabled
   * for reads (TUNSETOFFLOAD 0), so the kernel hands over plain packets with
   * complete checksums.
   */
  vnetHeader?: boolean;
}

/** Bytes of the virtio-net header in front of each packet with `vnetHeader`. */
export const VNET_HDR_LEN = 10;
/** virtio_net_hdr.gso_type values for `writeGso`. */
export const GSO_TCPV4 = 1;
export const GSO_TCPV6 = 4;
const VNET_F_NEEDS_CSUM = 1;

// <linux/if_tun.h>
const TUNSETIFF = 0x400454can; // _IOW('T', 202, int)
const IFF_TUN = 0x0001;
const IFF_TAP = 0x0002;
const IFF_MULTI_QUEUE = 0x0100;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
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
  if (options.vnetHeader && options.kind !== "tun") {
    throw new TypeError("openTun: vnetHeader is supported for tun devices only");
  }
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
    if (options.vnetHeader) flags |= IFF_VNET_HDR;
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
    return new TunDevice(lib, fd, ready, name, options.kind, index, options.vnetHeader ?? false);
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
export class TunDevice implements SyncPacketDevice {
  readonly name: string;
  readonly kind: "tun" | "tap";
  /** Interface index (ifindex), fixed for the device's life. */
  readonly index: number;
  /** Opened with IFF_VNET_HDR (see TunOptions.vnetHeader); `writeGso` works only then. */
  readonly vnetHeader: boolean;
  #lib: LibcSymbols;
  #fd: number;
  #ready: Readiness;
  #views = new ViewCache();
  #reading = false;
  #lastMtu = 0;
  // The caller's bytes under a borrowed virtio-net header, restored after the write.
  #saved = new Uint8Array(VNET_HDR_LEN);
  // Packets written with a header but without room in front of them are copied here.
  #bounce: Uint8Array | null = null;
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
    vnetHeader = false,
  ) {
    this.#lib = lib;
    this.#fd = fd;
    this.#ready = ready;
    this.name = name;
    this.kind = kind;
    this.index = index;
    this.vnetHeader = vnetHeader;
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

  /** A poll set (poll_set.ts) for the datapath's poll loop: this fd and the socket's. */
  openPoller(slots: number): Poller {
    return new PollSet(this.#lib, slots);
  }

  /** A loopback rig (loopback_rig.ts) whose device is a `TunDevice` over a socketpair. */
  openLoopbackRig(vnetHeader: boolean): LoopbackRig {
    const lib = this.#lib;
    return openLoopbackRig(
      lib,
      (fd) => new TunDevice(lib, fd, new Readiness(lib, fd), "loopback", "tun", 0, vnetHeader),
    );
  }

  /** Synchronous reads until EAGAIN or `max` packets. */
  #drain(bufs: Uint8Array[], sizes: Int32Array, offset: number, max: number): number {
    const lib = this.#lib;
    const fd = this.#fd;
    // With a virtio-net header the read lands VNET_HDR_LEN bytes early; the
    // header (all zero: no read offloads are enabled) is dropped.
    const hdr = this.vnetHeader ? VNET_HDR_LEN : 0;
    if (offset < hdr) {
      throw new RangeError(
        `readBatch on ${this.name}: offset ${offset} leaves no room for the virtio-net header`,
      );
    }
    let n = 0;
    let stray = 0;
    while (n < max) {
      const buf = bufs[n];
      const room = buf.length - offset;
      if (room <= 0) {
        throw new RangeError(`readBatch on ${this.name}: offset ${offset} leaves no room in buffer ${n}`);
      }
      const r = lib.read(fd, this.#views.at(buf, offset - hdr), room + hdr);
      if (r > hdr) {
        sizes[n++] = r - hdr;
        continue;
      }
      if (r > 0) continue;
      if (r === 0) break;
      const e = errno();
      if (e === EAGAIN) break;
      if (e === EINTR) continue;
      if (!ioErrnoPlausible(e) && ++stray <= STRAY_ERRNO_RETRIES) continue;
      throw osError(`read ${this.name}`, e, e === EBADFD ? "the device was deleted" : undefined);
    }
    return n;
  }

  write(buf: Uint8Array, offset: number, length: number): boolean {
    if (this.vnetHeader) return this.writeGso(buf, offset, length, 0, 0, 0, 0, 0);
    const fd = this.#writableFd(buf, offset, length);
    return this.#written(this.#lib.write(fd, this.#views.at(buf, offset), length), length);
  }

  /** The open fd, once `offset`/`length` are checked against `buf`; throws otherwise. */
  #writableFd(buf: Uint8Array, offset: number, length: number): number {
    const fd = this.#fd;
    if (fd < 0) throw new Error(`write ${this.name}: device is closed`);
    if (offset < 0 || length <= 0 || offset + length > buf.length) {
      throw new RangeError(`write ${this.name}: ${offset}+${length} is outside a ${buf.length}-byte buffer`);
    }
    return fd;
  }

  /**
   * Writes one TCP super-packet (vnetHeader devices only): an IPv4/IPv6
   * packet of up to 64 KiB whose payload the kernel treats as segments of
   * `gsoSize` bytes (GSO_TCPV4/GSO_TCPV6), as if GRO had merged them. The
   * TCP checksum field must hold the folded pseudo-header sum (not
   * complemented); the kernel completes it from `csumStart` (the TCP header)
   * with the field `csumOffset` bytes in. `hdrLen` is IP + TCP header bytes.
   * Return and throw behaviour as `write` (whose writes on a vnetHeader
   * device come here with gsoType 0: a plain packet behind a zero header).
   */
  writeGso(
    buf: Uint8Array,
    offset: number,
    length: number,
    gsoType: number,
    gsoSize: number,
    hdrLen: number,
    csumStart: number,
    csumOffset: number,
  ): boolean {
    if (!this.vnetHeader) throw new Error(`writeGso ${this.name}: the device was opened without vnetHeader`);
    const fd = this.#writableFd(buf, offset, length);
    let b = buf;
    let at = offset - VNET_HDR_LEN;
    if (at < 0) {
      // No room in front: copy (rare; the datapath leaves 24 bytes of headroom).
      if (this.#bounce === null || this.#bounce.length < VNET_HDR_LEN + length) {
        this.#bounce = new Uint8Array(Math.max(VNET_HDR_LEN + length, 2048));
      }
      b = this.#bounce;
      b.set(buf.subarray(offset, offset + length), VNET_HDR_LEN);
      at = 0;
    }
    const saved = this.#saved;
    for (let i = 0; i < VNET_HDR_LEN; i++) saved[i] = b[at + i];
    // struct virtio_net_hdr, little-endian fields.
    b[at] = gsoType === 0 ? 0 : VNET_F_NEEDS_CSUM;
    b[at + 1] = gsoType;
    b[at + 2] = hdrLen & 0xff;
    b[at + 3] = hdrLen >>> 8;
    b[at + 4] = gsoSize & 0xff;
    b[at + 5] = gsoSize >>> 8;
    b[at + 6] = csumStart & 0xff;
    b[at + 7] = csumStart >>> 8;
    b[at + 8] = csumOffset & 0xff;
    b[at + 9] = csumOffset >>> 8;
    const r = this.#lib.write(fd, this.#views.at(b, at), length + VNET_HDR_LEN);
    for (let i = 0; i < VNET_HDR_LEN; i++) b[at + i] = saved[i];
    return this.#written(r < 0 ? r : r - VNET_HDR_LEN, length);
  }

  #written(r: number, length: number): boolean {
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
