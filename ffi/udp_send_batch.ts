/**
 * The send half of a `UdpSocket`: `send` is one sendto(2); `sendBatch` one
 * sendmmsg(2), more only to step over a datagram the kernel refused, and with
 * GSO on, runs of datagrams go as UDP_SEGMENT groups (`udp_gso_groups.ts`).
 * A full send buffer drops the rest of the batch (counted in `drops`), as a
 * NIC would; other refusals are counted in `errors` with `lastErrno`.
 * Allocates nothing per call once its tables have the batch's capacity and
 * the caller reuses its buffers (see `MessageTable.setBuffer`).
 */

import type { EndpointSlots } from "../src/device/datagram_socket.ts";
import { EAGAIN, EBADF, EINTR, ENOBUFS, errno, type LibcSymbols, osError } from "./libc.ts";
import { MessageTable, MMSG_U32, MSG_NAMELEN_U32 } from "./mmsghdr_table.ts";
import { encodeSockaddr, SOCKADDR_SLOT_BYTES } from "./sockaddr.ts";
import { GsoGroups, refusedAsGroup } from "./udp_gso_groups.ts";
import { ViewCache } from "./view_cache.ts";

export class SendBatch {
  readonly #lib: LibcSymbols;
  readonly #family: number;
  /** "host:port" of the socket, for error messages. */
  readonly #label: string;
  readonly #views = new ViewCache();
  readonly #name = new Uint8Array(new ArrayBuffer(SOCKADDR_SLOT_BYTES));
  #table: MessageTable | null = null;
  readonly #groups: GsoGroups | null;
  #drops = 0;
  #errors = 0;
  #lastErrno = 0;

  /** `family` is the socket's (AF_INET or AF_INET6); `gso` turns on UDP_SEGMENT grouping. */
  constructor(lib: LibcSymbols, family: number, label: string, gso: boolean) {
    this.#lib = lib;
    this.#family = family;
    this.#label = label;
    this.#groups = gso ? new GsoGroups(family, label, () => this.#refused(-1)) : null;
  }

  /** Datagrams dropped because the kernel send buffer was full (EAGAIN, ENOBUFS). */
  get drops(): number {
    return this.#drops;
  }

  /** Datagrams the kernel refused for another reason (unreachable, unset row, …); see `lastErrno`. */
  get errors(): number {
    return this.#errors;
  }

  /** errno of the last refused send counted in `errors` (0 if none; -1 for an unsendable row). */
  get lastErrno(): number {
    return this.#lastErrno;
  }

  /** Whether `sendBatch` groups datagrams with UDP_SEGMENT (false once the kernel refused it outright). */
  get gso(): boolean {
    return this.#groups?.enabled ?? false;
  }

  /** Datagram size from which `sendBatch` no longer groups (Infinity until a group was refused). */
  get gsoLimit(): number {
    return this.#groups?.limit ?? Infinity;
  }

  /** One sendto(2) on `fd`; false when the datagram was refused (and counted). */
  send(fd: number, buf: Uint8Array, offset: number, length: number, to: EndpointSlots, row: number): boolean {
    if (offset < 0 || length < 0 || offset + length > buf.length) {
      throw new RangeError(
        `sendto ${this.#label}: ${offset}+${length} is outside a ${buf.length}-byte buffer`,
      );
    }
    const nameLen = encodeSockaddr(this.#name, 0, to, row, this.#family);
    if (nameLen === 0) return this.#refused(-1);
    const r = this.#lib.sendto(fd, this.#views.at(buf, offset), length, 0, this.#name, nameLen);
    if (r >= 0) return true;
    return this.#refused(errno());
  }

  /** Sends datagrams 0..count-1 on `fd` (`count` checked against the arrays by the caller); returns datagrams sent. */
  sendBatch(
    fd: number,
    bufs: Uint8Array[],
    offsets: Int32Array,
    sizes: Int32Array,
    count: number,
    to: EndpointSlots,
    rows: Int32Array,
  ): number {
    const groups = this.#groups;
    if (groups !== null && groups.enabled && count > 1) {
      return this.#sendGrouped(fd, groups, bufs, offsets, sizes, count, to, rows);
    }
    return this.#sendPlain(fd, bufs, offsets, sizes, 0, count, to, rows);
  }

  /** sendmmsg of datagrams first..count-1, one message each. */
  #sendPlain(
    fd: number,
    bufs: Uint8Array[],
    offsets: Int32Array,
    sizes: Int32Array,
    first: number,
    count: number,
    to: EndpointSlots,
    rows: Int32Array,
  ): number {
    let t = this.#table;
    if (t === null || t.capacity < count) t = this.#table = new MessageTable(count);
    const u32 = t.msgU32;
    const names = t.names;
    // Unsendable rows are skipped by packing the sendable ones to the front.
    let k = 0;
    for (let i = first; i < count; i++) {
      const buf = bufs[i], off = offsets[i], len = sizes[i];
      if (off < 0 || len < 0 || off + len > buf.length) {
        throw new RangeError(
          `sendmmsg ${this.#label}: datagram ${i} ${off}+${len} is outside a ${buf.length}-byte buffer`,
        );
      }
      const nameLen = encodeSockaddr(names, k * SOCKADDR_SLOT_BYTES, to, rows[i], this.#family);
      if (nameLen === 0) {
        this.#refused(-1);
        continue;
      }
      u32[k * MMSG_U32 + MSG_NAMELEN_U32] = nameLen;
      t.setBuffer(k, buf, off, len);
      k++;
    }
    let sent = 0;
    let at = 0;
    while (at < k) {
      const r = this.#lib.sendmmsg(fd, t.msgFrom[at], k - at, 0);
      if (r > 0) {
        sent += r;
        at += r;
        continue;
      }
      const e = r < 0 ? errno() : EAGAIN;
      if (e === EINTR) continue;
      if (e === EAGAIN || e === ENOBUFS) {
        // The send buffer is full: the rest of the batch is dropped, as a NIC would.
        this.#drops += k - at;
        break;
      }
      this.#refused(e); // datagram `at` only; the rest may go elsewhere
      at++;
    }
    return sent;
  }

  /**
   * sendmmsg of the batch as UDP_SEGMENT groups. A group the kernel refuses as
   * such (EINVAL: its datagrams would need IP fragmentation) is sent again one
   * message per datagram, with the rest of the batch, and datagrams of that
   * size are not grouped any more. Returns datagrams sent.
   */
  #sendGrouped(
    fd: number,
    groups: GsoGroups,
    bufs: Uint8Array[],
    offsets: Int32Array,
    sizes: Int32Array,
    count: number,
    to: EndpointSlots,
    rows: Int32Array,
  ): number {
    const m = groups.plan(bufs, offsets, sizes, count, to, rows);
    const skipped = groups.skipped;
    const msgFrom = groups.table.msgFrom;
    let sent = 0;
    let at = 0;
    while (at < m) {
      const r = this.#lib.sendmmsg(fd, msgFrom[at], m - at, 0);
      if (r > 0) {
        sent += groups.datagramsIn(at, at + r);
        at += r;
        continue;
      }
      const e = r < 0 ? errno() : EAGAIN;
      if (e === EINTR) continue;
      if (groups.datagramsOf(at) > 1 && refusedAsGroup(e)) {
        const first = groups.firstOf(at);
        groups.refused(e, sizes[first]);
        this.#errors -= skipped - groups.skippedBefore(at); // counted again by #sendPlain
        return sent + this.#sendPlain(fd, bufs, offsets, sizes, first, count, to, rows);
      }
      if (e === EAGAIN || e === ENOBUFS) {
        this.#drops += groups.datagramsIn(at, m);
        break;
      }
      this.#refused(e); // message `at` only; the rest may go elsewhere
      this.#errors += groups.datagramsOf(at) - 1;
      at++;
    }
    return sent;
  }

  /** Counts a refused datagram and returns false; throws only when the fd itself is bad. */
  #refused(e: number): boolean {
    if (e === EAGAIN || e === ENOBUFS) {
      this.#drops++;
      return false;
    }
    if (e === EBADF) throw osError(`send ${this.#label}`, e);
    this.#errors++;
    this.#lastErrno = e;
    return false;
  }

  /** Drops the references to callers' buffers. */
  clear(): void {
    this.#table?.clear();
  }
}
