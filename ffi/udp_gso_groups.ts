/**
 * UDP segmentation offload (UDP_SEGMENT, Linux 4.18+) for `sendBatch`: runs
 * of consecutive datagrams to the same endpoint row, all of the first one's
 * size but the last (which may be shorter), become one message the kernel
 * splits (in the NIC, or once in software) instead of one trip through the
 * stack each. Receivers see ordinary datagrams.
 *
 * `GsoGroups` plans a batch into a GSO `MessageTable` and remembers, per
 * message, how many datagrams it carries and where they start, so the sender
 * can count what went and fall back to one message per datagram from a
 * refused group on. Allocates nothing per call once its table has the
 * batch's capacity.
 */

import type { EndpointSlots } from "../src/device/datagram_socket.ts";
import { EINVAL, EIO } from "./libc.ts";
import { MessageTable, MMSG_U32, MSG_NAMELEN_U32 } from "./mmsghdr_table.ts";
import { encodeSockaddr, SOCKADDR_SLOT_BYTES } from "./sockaddr.ts";

// <asm-generic/errno.h>
const ENOPROTOOPT = 92;
const EMSGSIZE = 90;
/** Below this a refused group means GSO is unusable here, not that datagrams were too large. */
const GSO_MIN_USEFUL_BYTES = 512;
/** Most segments in one UDP_SEGMENT message (UDP_MAX_SEGMENTS of older kernels). */
export const GSO_MAX_SEGMENTS = 64;
/** Most payload bytes in one UDP_SEGMENT message (an IPv6 datagram's payload limit, minus slack). */
export const GSO_MAX_BYTES = 65000;

/** Whether errno `e` from sendmmsg means the kernel refused a message as a group (not its destination). */
export function refusedAsGroup(e: number): boolean {
  return e === EINVAL || e === EIO || e === EMSGSIZE || e === ENOPROTOOPT;
}

export class GsoGroups {
  /** "host:port" of the socket, for error messages. */
  readonly #label: string;
  readonly #family: number;
  readonly #onUnsendable: () => void;
  #table: MessageTable | null = null;
  // Per grouped message: datagrams it carries, the caller's index of its
  // first, and unsendable rows skipped before it.
  #sizes = new Int32Array(0);
  #first = new Int32Array(0);
  #skippedBefore = new Int32Array(0);
  #skipped = 0;
  #enabled = true;
  // Datagrams this long or longer are not grouped: the kernel refused such a
  // group (EINVAL: they need IP fragmentation, which UDP_SEGMENT cannot do).
  #limit = Infinity;

  /**
   * `family` is the socket's (AF_INET or AF_INET6); `onUnsendable` counts a
   * row `plan` leaves out, when it meets it.
   */
  constructor(family: number, label: string, onUnsendable: () => void) {
    this.#family = family;
    this.#label = label;
    this.#onUnsendable = onUnsendable;
  }

  /** False once the kernel refused grouping outright (no UDP_SEGMENT, or even small groups fail). */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** Datagram size from which datagrams are no longer grouped (Infinity until a group was refused). */
  get limit(): number {
    return this.#limit;
  }

  /** The table the last `plan` filled; message i starts at `table.msgFrom[i]`. */
  get table(): MessageTable {
    return this.#table!;
  }

  /** Unsendable rows (unset, or unreachable from the socket's family) the last `plan` left out. */
  get skipped(): number {
    return this.#skipped;
  }

  /** Datagrams message `m` carries. */
  datagramsOf(m: number): number {
    return this.#sizes[m];
  }

  /** Datagrams messages from..to-1 carry. */
  datagramsIn(from: number, to: number): number {
    let n = 0;
    for (let m = from; m < to; m++) n += this.#sizes[m];
    return n;
  }

  /** The caller's index of message `m`'s first datagram. */
  firstOf(m: number): number {
    return this.#first[m];
  }

  /** Unsendable rows the last `plan` skipped before message `m`. */
  skippedBefore(m: number): number {
    return this.#skippedBefore[m];
  }

  /**
   * Message `m`, whose datagrams are `segment` bytes, was refused as a group
   * with errno `e`: datagrams of that size are not grouped any more, and none
   * at all without UDP_SEGMENT support or when even small ones fail.
   */
  refused(e: number, segment: number): void {
    this.#limit = Math.min(this.#limit, segment);
    if (e === ENOPROTOOPT || segment <= GSO_MIN_USEFUL_BYTES) this.#enabled = false;
  }

  /**
   * Fills the table with datagrams 0..count-1 as grouped messages and returns
   * how many messages; unsendable rows are left out, reported to
   * `onUnsendable` and counted in `skipped`.
   * Throws RangeError for a datagram outside its buffer.
   */
  plan(
    bufs: Uint8Array[],
    offsets: Int32Array,
    sizes: Int32Array,
    count: number,
    to: EndpointSlots,
    rows: Int32Array,
  ): number {
    const t = this.#tableFor(count);
    const u32 = t.msgU32;
    const names = t.names;
    const groups = this.#sizes;
    const limit = this.#limit;
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
          `sendmmsg ${this.#label}: datagram ${i} ${off}+${len} is outside a ${buf.length}-byte buffer`,
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
      const nameLen = encodeSockaddr(names, m * SOCKADDR_SLOT_BYTES, to, row, this.#family);
      if (nameLen === 0) {
        this.#onUnsendable();
        skipped++;
        closed = true;
        continue;
      }
      u32[m * MMSG_U32 + MSG_NAMELEN_U32] = nameLen;
      t.setBuffer(k, buf, off, len);
      t.setGroup(m, k, 1, len);
      groups[m] = 1;
      this.#first[m] = i;
      this.#skippedBefore[m] = skipped;
      groupStart = k;
      groupRow = row;
      segment = len;
      groupBytes = len;
      closed = len === 0;
      k++;
      m++;
    }
    this.#skipped = skipped;
    return m;
  }

  #tableFor(count: number): MessageTable {
    let t = this.#table;
    if (t === null || t.capacity < count) {
      t = this.#table = new MessageTable(count, true);
      this.#sizes = new Int32Array(count);
      this.#first = new Int32Array(count);
      this.#skippedBefore = new Int32Array(count);
    }
    return t;
  }
}
