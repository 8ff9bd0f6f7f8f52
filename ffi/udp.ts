/**
 * The UDP underlay on Linux: a nonblocking datagram socket driven through
 * recvmmsg(2)/sendmmsg(2), as a `DatagramSocket`.
 *
 * I/O model (the same as `tun.ts`): `receiveBatch` drains with one
 * synchronous recvmmsg(MSG_DONTWAIT) call; only when nothing is ready does it
 * await readiness once through a `Readiness` (poll(2) on Deno's blocking
 * thread pool over the socket and an eventfd). `close()` wakes a pending wait
 * at once and its `receiveBatch` resolves 0. `send` is one synchronous
 * sendto(2), `sendBatch` one sendmmsg(2) (more only to step over a datagram
 * the kernel refused).
 *
 * Memory: the mmsghdr, iovec and sockaddr arrays handed to the kernel are
 * allocated once per capacity (the largest batch seen) and hold raw pointers
 * into the caller's buffers. A slot's pointer is rewritten only when the
 * buffer or offset in that slot changes, so a caller that reuses one set of
 * buffers (a ring) makes no allocation per call or per datagram; one that
 * passes new buffers every call pays a pointer object and a BigInt per new
 * buffer. The socket keeps each buffer it points into alive until the slot is
 * reused or the socket is closed. Buffers must not be detached, transferred
 * or shrunk while the socket uses them.
 *
 * Addresses: an AF_INET6 socket is dual-stack (IPV6_V6ONLY off): IPv4 peers
 * arrive as v4-mapped sockaddrs and are reported as FAMILY_INET rows, and
 * FAMILY_INET rows are sent as v4-mapped. An AF_INET socket cannot reach
 * FAMILY_INET6 rows (counted in `sendErrors`). IPv6 scope ids are not kept.
 */

import {
  ENDPOINT_ROW_BYTES,
  type EndpointSlots,
  FAMILY_INET,
  FAMILY_INET6,
} from "../src/device/datagram_socket.ts";
import type { DatagramSocket } from "../src/device/datagram_socket.ts";
import {
  AF_INET,
  AF_INET6,
  EACCES,
  EADDRINUSE,
  EADDRNOTAVAIL,
  EAGAIN,
  EBADF,
  EINTR,
  EINVAL,
  EIO,
  ENOBUFS,
  EPERM,
  errno,
  ioErrnoPlausible,
  IPPROTO_IPV6,
  IPV6_V6ONLY,
  libc,
  type LibcSymbols,
  MSG_DONTWAIT,
  MSG_TRUNC,
  osError,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_REUSEPORT,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOL_SOCKET,
  STRAY_ERRNO_RETRIES,
} from "./libc.ts";
import { ipToBytes } from "./netlink_codec.ts";
import { Readiness } from "./readiness.ts";
import { ViewCache } from "./view_cache.ts";

export interface UdpOptions {
  /** IPv4 or IPv6 literal to bind; "0.0.0.0" for all IPv4, "::" for all IPv4 and IPv6. */
  host: string;
  /** Port to bind; 0 lets the kernel pick (see `localPort`). */
  port: number;
  /** SO_REUSEPORT: several sockets (all with this set) share the port; the kernel spreads flows. */
  reusePort?: boolean;
  /** Kernel receive buffer; SO_RCVBUFFORCE when privileged, else capped by net.core.rmem_max. */
  recvBufferBytes?: number;
  /** Kernel send buffer; SO_SNDBUFFORCE when privileged, else capped by net.core.wmem_max. */
  sendBufferBytes?: number;
  /**
   * UDP segmentation offload for `sendBatch` (UDP_SEGMENT, Linux 4.18+): runs
   * of equal-size datagrams to one destination go to the kernel as one
   * message, which it splits (in the NIC, or once in software), instead of
   * one trip through the stack each. Receivers see ordinary datagrams. Sizes
   * the kernel refuses to group (datagrams needing IP fragmentation) are sent
   * one by one from then on. @default false
   */
  gso?: boolean;
}

// <netinet/udp.h>, <asm-generic/errno.h>
const SOL_UDP = 17;
const ENOPROTOOPT = 92;
const EMSGSIZE = 90;
/** Below this a refused group means GSO is unusable here, not that datagrams were too large. */
const GSO_MIN_USEFUL_BYTES = 512;
const UDP_SEGMENT = 103;
/** Most segments in one UDP_SEGMENT message (UDP_MAX_SEGMENTS of older kernels). */
export const GSO_MAX_SEGMENTS = 64;
/** Most payload bytes in one UDP_SEGMENT message (an IPv6 datagram's payload limit, minus slack). */
export const GSO_MAX_BYTES = 65000;
// struct cmsghdr (16 bytes on LP64) + a u16, padded to 8: CMSG_SPACE(2).
const CMSG_SPACE_U16 = 24;
const CMSG_LEN_U16 = 18;

/** sockaddr_in is 16 bytes, sockaddr_in6 28; one 32-byte slot holds either. */
export const SOCKADDR_SLOT_BYTES = 32;
const SOCKADDR_IN_BYTES = 16;
const SOCKADDR_IN6_BYTES = 28;

// struct mmsghdr on LP64 (x86-64, arm64): msghdr (56 bytes) + unsigned msg_len + padding.
const MMSG_BYTES = 64;
const MSG_NAMELEN_U32 = 2; // msg_namelen at byte 8
const MSG_FLAGS_U32 = 12; // msg_flags at byte 48
const MSG_LEN_U32 = 14; // msg_len at byte 56
const IOV_BYTES = 16; // struct iovec { void *iov_base; size_t iov_len; }

const MAX_BUFFER_BYTES = 0x7fffffff;

/**
 * Writes the sockaddr for endpoint row `row` of `slots` at `dst[off..]`, in
 * the form a socket of the given family takes (FAMILY_INET rows become
 * v4-mapped for AF_INET6). Returns the sockaddr length, or 0 when the row is
 * unset or cannot be reached from that family.
 */
export function encodeSockaddr(
  dst: Uint8Array,
  off: number,
  slots: EndpointSlots,
  row: number,
  socketFamily: number,
): number {
  const src = slots.bytes;
  const r = row * ENDPOINT_ROW_BYTES;
  const fam = src[r];
  if (socketFamily === AF_INET) {
    if (fam !== FAMILY_INET) return 0;
    dst[off] = AF_INET;
    dst[off + 1] = 0;
    dst[off + 2] = src[r + 1];
    dst[off + 3] = src[r + 2];
    for (let i = 0; i < 4; i++) dst[off + 4 + i] = src[r + 3 + i];
    for (let i = 8; i < SOCKADDR_IN_BYTES; i++) dst[off + i] = 0;
    return SOCKADDR_IN_BYTES;
  }
  if (fam !== FAMILY_INET && fam !== FAMILY_INET6) return 0;
  dst[off] = AF_INET6;
  dst[off + 1] = 0;
  dst[off + 2] = src[r + 1];
  dst[off + 3] = src[r + 2];
  for (let i = 4; i < 8; i++) dst[off + i] = 0; // sin6_flowinfo
  if (fam === FAMILY_INET6) {
    for (let i = 0; i < 16; i++) dst[off + 8 + i] = src[r + 3 + i];
  } else {
    for (let i = 8; i < 18; i++) dst[off + i] = 0;
    dst[off + 18] = 0xff;
    dst[off + 19] = 0xff;
    for (let i = 0; i < 4; i++) dst[off + 20 + i] = src[r + 3 + i];
  }
  for (let i = 24; i < SOCKADDR_IN6_BYTES; i++) dst[off + i] = 0; // sin6_scope_id
  return SOCKADDR_IN6_BYTES;
}

/**
 * Reads the sockaddr at `src[off..]` into endpoint row `row` of `slots`;
 * v4-mapped IPv6 addresses become FAMILY_INET. Returns false (row cleared)
 * for any other address family.
 */
export function decodeSockaddr(src: Uint8Array, off: number, slots: EndpointSlots, row: number): boolean {
  const dst = slots.bytes;
  const r = row * ENDPOINT_ROW_BYTES;
  const fam = src[off] | (src[off + 1] << 8);
  dst[r + 1] = src[off + 2];
  dst[r + 2] = src[off + 3];
  let a = -1; // start of 4 IPv4 address bytes in src, or -1 for a true IPv6 address
  if (fam === AF_INET) {
    a = off + 4;
  } else if (fam === AF_INET6) {
    if (isV4Mapped(src, off + 8)) a = off + 20;
  } else {
    for (let i = 0; i < ENDPOINT_ROW_BYTES; i++) dst[r + i] = 0;
    return false;
  }
  if (a >= 0) {
    dst[r] = FAMILY_INET;
    for (let i = 0; i < 4; i++) dst[r + 3 + i] = src[a + i];
    for (let i = 7; i < ENDPOINT_ROW_BYTES; i++) dst[r + i] = 0;
  } else {
    dst[r] = FAMILY_INET6;
    for (let i = 0; i < 16; i++) dst[r + 3 + i] = src[off + 8 + i];
    dst[r + 19] = 0;
  }
  return true;
}

function isV4Mapped(b: Uint8Array, o: number): boolean {
  for (let i = 0; i < 10; i++) if (b[o + i] !== 0) return false;
  return b[o + 10] === 0xff && b[o + 11] === 0xff;
}

/**
 * Opens a nonblocking UDP socket bound to `host:port`. Throws an `OsError`
 * naming the call ("bind 127.0.0.1:1194: Address already in use (…)") when
 * the kernel refuses, a TypeError/RangeError for bad options.
 */
export function openUdp(options: UdpOptions): UdpSocket {
  const { host, port } = options;
  const ip = typeof host === "string" ? ipToBytes(host) : null;
  if (ip === null) {
    throw new TypeError(`openUdp: host must be an IPv4 or IPv6 address, got ${JSON.stringify(host)}`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`openUdp: port must be an integer in 0..65535, got ${port}`);
  }
  for (const key of ["recvBufferBytes", "sendBufferBytes"] as const) {
    const v = options[key];
    if (v !== undefined && (!Number.isInteger(v) || v <= 0 || v > MAX_BUFFER_BYTES)) {
      throw new RangeError(`openUdp: ${key} must be a positive integer below 2^31, got ${v}`);
    }
  }
  const family = ip.family;
  const label = family === AF_INET6 ? `[${host}]:${port}` : `${host}:${port}`;
  const lib = libc();
  const fd = lib.socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) throw osError(`socket ${family === AF_INET6 ? "AF_INET6" : "AF_INET"} SOCK_DGRAM`);
  try {
    if (family === AF_INET6) setIntOption(lib, fd, IPPROTO_IPV6, IPV6_V6ONLY, 0, "setsockopt IPV6_V6ONLY");
    if (options.reusePort) setIntOption(lib, fd, SOL_SOCKET, SO_REUSEPORT, 1, "setsockopt SO_REUSEPORT");
    if (options.recvBufferBytes !== undefined) {
      setBufferSize(lib, fd, SO_RCVBUFFORCE, SO_RCVBUF, options.recvBufferBytes, "SO_RCVBUF");
    }
    if (options.sendBufferBytes !== undefined) {
      setBufferSize(lib, fd, SO_SNDBUFFORCE, SO_SNDBUF, options.sendBufferBytes, "SO_SNDBUF");
    }
    const addr = new Uint8Array(SOCKADDR_SLOT_BYTES);
    const view = new DataView(addr.buffer);
    view.setUint16(0, family, true);
    view.setUint16(2, port, false);
    addr.set(ip.bytes, family === AF_INET6 ? 8 : 4);
    const len = family === AF_INET6 ? SOCKADDR_IN6_BYTES : SOCKADDR_IN_BYTES;
    if (lib.bind(fd, addr, len) < 0) throw osError(`bind ${label}`, errno(), bindHint(errno(), options));
    const lenBuf = new Uint32Array([SOCKADDR_SLOT_BYTES]);
    if (lib.getsockname(fd, addr, lenBuf) < 0) throw osError(`getsockname ${label}`);
    const localPort = view.getUint16(2, false);
    return new UdpSocket(lib, fd, new Readiness(lib, fd), family, host, localPort, options.gso ?? false);
  } catch (e) {
    lib.close(fd);
    throw e;
  }
}

function bindHint(code: number, options: UdpOptions): string | undefined {
  if (code === EADDRINUSE) {
    return options.reusePort
      ? "a socket without SO_REUSEPORT, or of another user, holds this port"
      : "another socket is bound to this port; sockets share a port only when all set reusePort";
  }
  if (code === EADDRNOTAVAIL) return "the address is not assigned to any interface in this namespace";
  if (code === EACCES || code === EPERM) return "ports below 1024 need root or CAP_NET_BIND_SERVICE";
  return undefined;
}

function setIntOption(
  lib: LibcSymbols,
  fd: number,
  level: number,
  name: number,
  value: number,
  what: string,
) {
  const v = new Int32Array([value]);
  if (lib.setsockopt(fd, level, name, v, 4) < 0) throw osError(what);
}

/** The privileged *FORCE option first (ignores the sysctl cap), the plain one if that is refused. */
function setBufferSize(
  lib: LibcSymbols,
  fd: number,
  force: number,
  plain: number,
  bytes: number,
  what: string,
) {
  const v = new Int32Array([bytes]);
  if (lib.setsockopt(fd, SOL_SOCKET, force, v, 4) === 0) return;
  const e = errno();
  if (e !== EPERM && e !== EACCES) throw osError(`setsockopt ${what}FORCE ${bytes}`, e);
  if (lib.setsockopt(fd, SOL_SOCKET, plain, v, 4) < 0) throw osError(`setsockopt ${what} ${bytes}`);
}

/** Raw address of a buffer's first byte plus `offset`; cold path (allocates). */
function addressOf(buf: Uint8Array, offset: number): bigint {
  // Reading .buffer moves a small on-heap typed array's bytes off the V8 heap,
  // where they never move, before its address is taken.
  void buf.buffer;
  return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf))) + BigInt(offset);
}

/**
 * The kernel-facing arrays for up to `capacity` datagrams: mmsghdr[i] names
 * sockaddr slot i and iovec i, which points at (bufs[i], offs[i]).
 */
class MessageTable {
  readonly capacity: number;
  readonly msgs: Uint8Array;
  readonly msgU32: Uint32Array;
  readonly names: Uint8Array;
  /** mmsghdr arrays starting at entry i, for sendmmsg after a refused datagram. */
  readonly msgFrom: Uint8Array[];
  #iovs: Uint8Array;
  #iovU32: Uint32Array;
  #iovU64: BigUint64Array;
  #bufs: (Uint8Array | null)[];
  #offs: Int32Array;

  /** Address of iovec 0, as a number (exact below 2^53), for msg_iov of grouped messages. */
  readonly iovAddress: number;
  #cmsgs: Uint8Array | null = null;

  constructor(capacity: number, gso = false) {
    this.capacity = capacity;
    // Fresh ArrayBuffers: their bytes live off the V8 heap and never move.
    this.msgs = new Uint8Array(new ArrayBuffer(capacity * MMSG_BYTES));
    this.msgU32 = new Uint32Array(this.msgs.buffer);
    this.names = new Uint8Array(new ArrayBuffer(capacity * SOCKADDR_SLOT_BYTES));
    this.#iovs = new Uint8Array(new ArrayBuffer(capacity * IOV_BYTES));
    this.#iovU32 = new Uint32Array(this.#iovs.buffer);
    this.#iovU64 = new BigUint64Array(this.#iovs.buffer);
    this.#bufs = new Array(capacity).fill(null);
    this.#offs = new Int32Array(capacity);
    this.msgFrom = [];
    const msgU64 = new BigUint64Array(this.msgs.buffer);
    const names = addressOf(this.names, 0);
    const iovs = addressOf(this.#iovs, 0);
    this.iovAddress = Number(iovs);
    let cmsgs = 0n;
    if (gso) {
      // One control buffer per message: a UDP_SEGMENT cmsg whose u16 is set per send.
      this.#cmsgs = new Uint8Array(new ArrayBuffer(capacity * CMSG_SPACE_U16));
      const c64 = new BigUint64Array(this.#cmsgs.buffer);
      const c32 = new Uint32Array(this.#cmsgs.buffer);
      for (let i = 0; i < capacity; i++) {
        c64[i * 3] = BigInt(CMSG_LEN_U16);
        c32[i * 6 + 2] = SOL_UDP;
        c32[i * 6 + 3] = UDP_SEGMENT;
      }
      cmsgs = addressOf(this.#cmsgs, 0);
    }
    for (let i = 0; i < capacity; i++) {
      const m = i * (MMSG_BYTES / 8);
      msgU64[m] = names + BigInt(i * SOCKADDR_SLOT_BYTES); // msg_name
      msgU64[m + 2] = iovs + BigInt(i * IOV_BYTES); // msg_iov
      msgU64[m + 3] = 1n; // msg_iovlen
      if (gso) msgU64[m + 4] = cmsgs + BigInt(i * CMSG_SPACE_U16); // msg_control (msg_controllen set per send)
      this.msgFrom.push(this.msgs.subarray(i * MMSG_BYTES));
    }
  }

  /**
   * Makes message `m` carry iovecs first..first+count-1 (datagrams of
   * `segment` bytes, the last possibly shorter) as one UDP_SEGMENT send; a
   * single datagram goes without the cmsg. Tables built with `gso` only.
   */
  setGroup(m: number, first: number, count: number, segment: number): void {
    const u32 = this.msgU32;
    const o = m * 16;
    const addr = this.iovAddress + first * IOV_BYTES;
    u32[o + 4] = addr >>> 0; // msg_iov, low then high half
    u32[o + 5] = Math.floor(addr / 4294967296);
    u32[o + 6] = count; // msg_iovlen
    u32[o + 7] = 0;
    u32[o + 10] = count > 1 ? CMSG_SPACE_U16 : 0; // msg_controllen
    u32[o + 11] = 0;
    const c = this.#cmsgs!;
    const d = m * CMSG_SPACE_U16 + 16;
    c[d] = segment & 0xff; // the cmsg's u16, host (little-endian) order
    c[d + 1] = segment >>> 8;
  }

  /** Points iovec i at `buf[offset..offset+length)`. */
  setBuffer(i: number, buf: Uint8Array, offset: number, length: number): void {
    if (this.#bufs[i] !== buf || this.#offs[i] !== offset) {
      this.#iovU64[i * 2] = addressOf(buf, offset);
      this.#bufs[i] = buf;
      this.#offs[i] = offset;
    }
    this.#iovU32[i * 4 + 2] = length;
    this.#iovU32[i * 4 + 3] = 0;
  }

  /** Drops the references to callers' buffers. */
  clear(): void {
    this.#bufs.fill(null);
    this.#iovU64.fill(0n);
  }
}

/** An open UDP socket. See the module comment for the I/O model. */
export class UdpSocket implements DatagramSocket {
  readonly localPort: number;
  /** The host given to `openUdp`. */
  readonly host: string;
  /** AF_INET or AF_INET6. */
  readonly family: number;
  #lib: LibcSymbols;
  #fd: number;
  #ready: Readiness;
  #views = new ViewCache();
  #rx: MessageTable | null = null;
  #tx: MessageTable | null = null;
  #gsoTx: MessageTable | null = null;
  #gso: boolean;
  // Datagrams this long or longer are not grouped: the kernel refused such a
  // group (EINVAL: they need IP fragmentation, which UDP_SEGMENT cannot do).
  #gsoLimit = Infinity;
  // Per grouped message: datagrams it carries, the caller's index of its
  // first, and unsendable rows skipped before it.
  #groupSizes = new Int32Array(0);
  #groupFirst = new Int32Array(0);
  #groupSkipped = new Int32Array(0);
  #txName = new Uint8Array(new ArrayBuffer(SOCKADDR_SLOT_BYTES));
  #receiving = false;
  #sendDrops = 0;
  #sendErrors = 0;
  #lastSendErrno = 0;
  #truncated = 0;

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
    this.#gso = gso;
    this.#lib = lib;
    this.#fd = fd;
    this.#ready = ready;
    this.family = family;
    this.host = host;
    this.localPort = localPort;
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
    return this.#sendDrops;
  }

  /** Datagrams the kernel refused for another reason (unreachable, unset row, …); see `lastSendErrno`. */
  get sendErrors(): number {
    return this.#sendErrors;
  }

  /** errno of the last refused send counted in `sendErrors` (0 if none; -1 for an unsendable row). */
  get lastSendErrno(): number {
    return this.#lastSendErrno;
  }

  /** Received datagrams longer than their buffer's room; delivered cut to the room. */
  get truncated(): number {
    return this.#truncated;
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
        throw new Error(`receiveBatch on ${this.#label()}: another receiveBatch is pending`);
      }
      const max = this.#prepareReceive(bufs, sizes, from, offset);
      if (this.#fd < 0) return Promise.resolve(0);
      const n = this.#drain(sizes, from, max);
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
        const n = this.#drain(sizes, from, max);
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
    if (this.#receiving) throw new Error(`tryReceiveBatch on ${this.#label()}: a receiveBatch is pending`);
    return this.#drain(sizes, from, this.#prepareReceive(bufs, sizes, from, offset));
  }

  /** Points the receive table at the caller's buffers; returns the batch size. */
  #prepareReceive(bufs: Uint8Array[], sizes: Int32Array, from: EndpointSlots, offset: number): number {
    const max = Math.min(bufs.length, sizes.length, from.rows);
    if (max === 0) throw new RangeError(`receiveBatch on ${this.#label()}: no buffers`);
    let t = this.#rx;
    if (t === null || t.capacity < max) t = this.#rx = new MessageTable(max);
    for (let i = 0; i < max; i++) {
      const room = bufs[i].length - offset;
      if (room <= 0 || offset < 0) {
        throw new RangeError(
          `receiveBatch on ${this.#label()}: offset ${offset} leaves no room in buffer ${i}`,
        );
      }
      t.setBuffer(i, bufs[i], offset, room);
    }
    return max;
  }

  /** One recvmmsg(MSG_DONTWAIT) for up to `max` datagrams. */
  #drain(sizes: Int32Array, from: EndpointSlots, max: number): number {
    const t = this.#rx!;
    const u32 = t.msgU32;
    for (let i = 0; i < max; i++) u32[i * 16 + MSG_NAMELEN_U32] = SOCKADDR_SLOT_BYTES;
    let n: number;
    let stray = 0;
    for (;;) {
      n = this.#lib.recvmmsg(this.#fd, t.msgs, max, MSG_DONTWAIT, null);
      if (n >= 0) break;
      const e = errno();
      if (e === EAGAIN) return 0;
      if (e === EINTR) continue;
      if (!ioErrnoPlausible(e) && ++stray <= STRAY_ERRNO_RETRIES) continue;
      throw osError(`recvmmsg ${this.#label()}`, e);
    }
    const names = t.names;
    for (let i = 0; i < n; i++) {
      const m = i * 16;
      sizes[i] = u32[m + MSG_LEN_U32];
      if ((u32[m + MSG_FLAGS_U32] & MSG_TRUNC) !== 0) this.#truncated++;
      decodeSockaddr(names, i * SOCKADDR_SLOT_BYTES, from, i);
    }
    return n;
  }

  send(buf: Uint8Array, offset: number, length: number, to: EndpointSlots, row: number): boolean {
    this.#checkOpen("sendto");
    if (offset < 0 || length < 0 || offset + length > buf.length) {
      throw new RangeError(
        `sendto ${this.#label()}: ${offset}+${length} is outside a ${buf.length}-byte buffer`,
      );
    }
    const nameLen = encodeSockaddr(this.#txName, 0, to, row, this.family);
    if (nameLen === 0) return this.#refused(-1);
    const r = this.#lib.sendto(this.#fd, this.#views.at(buf, offset), length, 0, this.#txName, nameLen);
    if (r >= 0) return true;
    return this.#refused(errno());
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
      throw new RangeError(`sendmmsg ${this.#label()}: count ${count} exceeds the arrays given`);
    }
    if (this.#gso && count > 1) return this.#sendGrouped(bufs, offsets, sizes, count, to, rows);
    return this.#sendPlain(bufs, offsets, sizes, 0, count, to, rows);
  }

  /** sendmmsg of datagrams first..count-1, one message each. */
  #sendPlain(
    bufs: Uint8Array[],
    offsets: Int32Array,
    sizes: Int32Array,
    first: number,
    count: number,
    to: EndpointSlots,
    rows: Int32Array,
  ): number {
    let t = this.#tx;
    if (t === null || t.capacity < count) t = this.#tx = new MessageTable(count);
    const u32 = t.msgU32;
    const names = t.names;
    // Unsendable rows are skipped by packing the sendable ones to the front.
    let k = 0;
    for (let i = first; i < count; i++) {
      const buf = bufs[i], off = offsets[i], len = sizes[i];
      if (off < 0 || len < 0 || off + len > buf.length) {
        throw new RangeError(
          `sendmmsg ${this.#label()}: datagram ${i} ${off}+${len} is outside a ${buf.length}-byte buffer`,
        );
      }
      const nameLen = encodeSockaddr(names, k * SOCKADDR_SLOT_BYTES, to, rows[i], this.family);
      if (nameLen === 0) {
        this.#refused(-1);
        continue;
      }
      u32[k * 16 + MSG_NAMELEN_U32] = nameLen;
      t.setBuffer(k, buf, off, len);
      k++;
    }
    let sent = 0;
    let at = 0;
    while (at < k) {
      const r = this.#lib.sendmmsg(this.#fd, t.msgFrom[at], k - at, 0);
      if (r > 0) {
        sent += r;
        at += r;
        continue;
      }
      const e = r < 0 ? errno() : EAGAIN;
      if (e === EINTR) continue;
      if (e === EAGAIN || e === ENOBUFS) {
        // The send buffer is full: the rest of the batch is dropped, as a NIC would.
        this.#sendDrops += k - at;
        break;
      }
      this.#refused(e); // datagram `at` only; the rest may go elsewhere
      at++;
    }
    return sent;
  }

  /** Counts a refused datagram and returns false; throws only when the fd itself is bad. */
  #refused(e: number): boolean {
    if (e === EAGAIN || e === ENOBUFS) {
      this.#sendDrops++;
      return false;
    }
    if (e === EBADF) throw osError(`send ${this.#label()}`, e);
    this.#sendErrors++;
    this.#lastSendErrno = e;
    return false;
  }

  /** Whether `sendBatch` groups datagrams with UDP_SEGMENT (false once the kernel refused it outright). */
  get gso(): boolean {
    return this.#gso;
  }

  /** Datagram size from which `sendBatch` no longer groups (Infinity until a group was refused). */
  get gsoLimit(): number {
    return this.#gsoLimit;
  }

  /**
   * sendBatch with UDP_SEGMENT: consecutive datagrams to the same endpoint
   * row, all of the first one's size but the last (which may be shorter),
   * become one message. A group the kernel refuses as such (EINVAL: its
   * datagrams would need IP fragmentation) is sent again one message per
   * datagram, and datagrams of that size are not grouped any more. Returns
   * datagrams sent.
   */
  #sendGrouped(
    bufs: Uint8Array[],
    offsets: Int32Array,
    sizes: Int32Array,
    count: number,
    to: EndpointSlots,
    rows: Int32Array,
  ): number {
    let t = this.#gsoTx;
    if (t === null || t.capacity < count) {
      t = this.#gsoTx = new MessageTable(count, true);
      this.#groupSizes = new Int32Array(count);
      this.#groupFirst = new Int32Array(count);
      this.#groupSkipped = new Int32Array(count);
    }
    const u32 = t.msgU32;
    const names = t.names;
    const groups = this.#groupSizes;
    const limit = this.#gsoLimit;
    let skipped = 0;
    let m = 0; // messages
    let k = 0; // sendable datagrams (iovecs)
    let groupStart = -1;
    let groupRow = -1;
    let segment = 0;
    let groupBytes = 0;
    let closed = true;
    for (let i = 0; i < count; i++) {
      const buf = bufs[i], off = offsets[i], len = sizes[i];
      if (off < 0 || len < 0 || off + len > buf.length) {
        throw new RangeError(
          `sendmmsg ${this.#label()}: datagram ${i} ${off}+${len} is outside a ${buf.length}-byte buffer`,
        );
      }
      const row = rows[i];
      const joins = !closed && len <= segment && segment < limit && k - groupStart < GSO_MAX_SEGMENTS &&
        groupBytes + len <= GSO_MAX_BYTES && (row === groupRow || to.equals(row, to, groupRow));
      if (joins) {
        t.setBuffer(k, buf, off, len);
        k++;
        groups[m - 1]++;
        groupBytes += len;
        if (len < segment) closed = true;
        t.setGroup(m - 1, groupStart, k - groupStart, segment);
        continue;
      }
      const nameLen = encodeSockaddr(names, m * SOCKADDR_SLOT_BYTES, to, row, this.family);
      if (nameLen === 0) {
        this.#refused(-1);
        skipped++;
        closed = true;
        continue;
      }
      u32[m * 16 + MSG_NAMELEN_U32] = nameLen;
      t.setBuffer(k, buf, off, len);
      t.setGroup(m, k, 1, len);
      groups[m] = 1;
      this.#groupFirst[m] = i;
      this.#groupSkipped[m] = skipped;
      groupStart = k;
      groupRow = row;
      segment = len;
      groupBytes = len;
      closed = len === 0;
      k++;
      m++;
    }
    let sent = 0;
    let at = 0;
    while (at < m) {
      const r = this.#lib.sendmmsg(this.#fd, t.msgFrom[at], m - at, 0);
      if (r > 0) {
        for (let g = at; g < at + r; g++) sent += groups[g];
        at += r;
        continue;
      }
      const e = r < 0 ? errno() : EAGAIN;
      if (e === EINTR) continue;
      if (groups[at] > 1 && (e === EINVAL || e === EIO || e === EMSGSIZE || e === ENOPROTOOPT)) {
        // This group was refused as a group: stop grouping datagrams of its
        // size (or at all, without UDP_SEGMENT support or when even small
        // ones fail), and send the rest of the batch one message each.
        const segment = sizes[this.#groupFirst[at]];
        this.#gsoLimit = Math.min(this.#gsoLimit, segment);
        if (e === ENOPROTOOPT || segment <= GSO_MIN_USEFUL_BYTES) this.#gso = false;
        this.#sendErrors -= skipped - this.#groupSkipped[at]; // counted again below
        return sent + this.#sendPlain(bufs, offsets, sizes, this.#groupFirst[at], count, to, rows);
      }
      if (e === EAGAIN || e === ENOBUFS) {
        for (let g = at; g < m; g++) this.#sendDrops += groups[g];
        break;
      }
      this.#refused(e); // message `at` only; the rest may go elsewhere
      this.#sendErrors += groups[at] - 1;
      at++;
    }
    return sent;
  }

  #checkOpen(what: string): void {
    if (this.#fd < 0) throw new Error(`${what} ${this.#label()}: socket is closed`);
  }

  #label(): string {
    return this.family === AF_INET6 ? `[${this.host}]:${this.localPort}` : `${this.host}:${this.localPort}`;
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
    this.#rx?.clear();
    this.#tx?.clear();
    this.#ready.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
