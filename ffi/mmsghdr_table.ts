/**
 * The kernel-facing arrays of a recvmmsg(2)/sendmmsg(2) batch, laid out once
 * per capacity in fresh ArrayBuffers (their bytes live off the V8 heap and
 * never move) and pointing into the caller's buffers:
 *
 *   struct mmsghdr (64 bytes on LP64: x86-64, arm64)
 *   0 msg_name  8 msg_namelen  16 msg_iov  24 msg_iovlen  32 msg_control  40 msg_controllen
 *   48 msg_flags  56 msg_len (+ 4 bytes padding)
 *
 * mmsghdr[i] names sockaddr slot i and iovec i; iovec i points at
 * (bufs[i], offs[i]). A grouped (UDP_SEGMENT) message instead points at a run
 * of iovecs and at its own control buffer holding one cmsg.
 */

import { SOCKADDR_SLOT_BYTES } from "./sockaddr.ts";

const MMSG_BYTES = 64;
/** mmsghdr fields as Uint32Array indexes from the message's first u32 (`i * MMSG_U32`). */
export const MMSG_U32 = MMSG_BYTES / 4;
export const MSG_NAMELEN_U32 = 2; // msg_namelen at byte 8
export const MSG_FLAGS_U32 = 12; // msg_flags at byte 48
export const MSG_LEN_U32 = 14; // msg_len at byte 56
const IOV_BYTES = 16; // struct iovec { void *iov_base; size_t iov_len; }

// <netinet/udp.h>
const SOL_UDP = 17;
const UDP_SEGMENT = 103;
// struct cmsghdr (16 bytes on LP64) + a u16, padded to 8: CMSG_SPACE(2).
const CMSG_SPACE_U16 = 24;
const CMSG_LEN_U16 = 18;

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
export class MessageTable {
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
    const cmsgs = gso ? this.#initSegmentCmsgs(capacity) : 0n;
    for (let i = 0; i < capacity; i++) {
      const m = i * (MMSG_BYTES / 8);
      msgU64[m] = names + BigInt(i * SOCKADDR_SLOT_BYTES); // msg_name
      msgU64[m + 2] = iovs + BigInt(i * IOV_BYTES); // msg_iov
      msgU64[m + 3] = 1n; // msg_iovlen
      if (gso) msgU64[m + 4] = cmsgs + BigInt(i * CMSG_SPACE_U16); // msg_control (msg_controllen set per send)
      this.msgFrom.push(this.msgs.subarray(i * MMSG_BYTES));
    }
  }

  /** One control buffer per message: a UDP_SEGMENT cmsg whose u16 is set per send. Returns its address. */
  #initSegmentCmsgs(capacity: number): bigint {
    this.#cmsgs = new Uint8Array(new ArrayBuffer(capacity * CMSG_SPACE_U16));
    const c64 = new BigUint64Array(this.#cmsgs.buffer);
    const c32 = new Uint32Array(this.#cmsgs.buffer);
    for (let i = 0; i < capacity; i++) {
      c64[i * 3] = BigInt(CMSG_LEN_U16);
      c32[i * 6 + 2] = SOL_UDP;
      c32[i * 6 + 3] = UDP_SEGMENT;
    }
    return addressOf(this.#cmsgs, 0);
  }

  /**
   * Makes message `m` carry iovecs first..first+count-1 (datagrams of
   * `segment` bytes, the last possibly shorter) as one UDP_SEGMENT send; a
   * single datagram goes without the cmsg. Tables built with `gso` only.
   */
  setGroup(m: number, first: number, count: number, segment: number): void {
    const u32 = this.msgU32;
    const o = m * MMSG_U32;
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
