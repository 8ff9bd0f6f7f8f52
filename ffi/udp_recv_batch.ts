/**
 * The receive half of a `UdpSocket`: one recvmmsg(MSG_DONTWAIT) per batch
 * into the caller's buffers, sources decoded into `EndpointSlots` rows.
 * Allocates nothing per call once its table has the batch's capacity and the
 * caller reuses its buffers (see `MessageTable.setBuffer`).
 */

import type { EndpointSlots } from "../src/device/datagram_socket.ts";
import {
  EAGAIN,
  EINTR,
  errno,
  ioErrnoPlausible,
  type LibcSymbols,
  MSG_DONTWAIT,
  MSG_TRUNC,
  osError,
  STRAY_ERRNO_RETRIES,
} from "./libc.ts";
import { MessageTable, MMSG_U32, MSG_FLAGS_U32, MSG_LEN_U32, MSG_NAMELEN_U32 } from "./mmsghdr_table.ts";
import { decodeSockaddr, SOCKADDR_SLOT_BYTES } from "./sockaddr.ts";

export class RecvBatch {
  readonly #lib: LibcSymbols;
  /** "host:port" of the socket, for error messages. */
  readonly #label: string;
  #table: MessageTable | null = null;
  #truncated = 0;

  constructor(lib: LibcSymbols, label: string) {
    this.#lib = lib;
    this.#label = label;
  }

  /** Received datagrams longer than their buffer's room; delivered cut to the room. */
  get truncated(): number {
    return this.#truncated;
  }

  /** Points the receive table at the caller's buffers; returns the batch size. */
  prepare(bufs: Uint8Array[], sizes: Int32Array, from: EndpointSlots, offset: number): number {
    const max = Math.min(bufs.length, sizes.length, from.rows);
    if (max === 0) throw new RangeError(`receiveBatch on ${this.#label}: no buffers`);
    let t = this.#table;
    if (t === null || t.capacity < max) t = this.#table = new MessageTable(max);
    for (let i = 0; i < max; i++) {
      const room = bufs[i].length - offset;
      if (room <= 0 || offset < 0) {
        throw new RangeError(
          `receiveBatch on ${this.#label}: offset ${offset} leaves no room in buffer ${i}`,
        );
      }
      t.setBuffer(i, bufs[i], offset, room);
    }
    return max;
  }

  /** One recvmmsg(MSG_DONTWAIT) on `fd` for up to `max` datagrams (after `prepare`); 0 when none is ready. */
  drain(fd: number, sizes: Int32Array, from: EndpointSlots, max: number): number {
    const t = this.#table!;
    const u32 = t.msgU32;
    for (let i = 0; i < max; i++) u32[i * MMSG_U32 + MSG_NAMELEN_U32] = SOCKADDR_SLOT_BYTES;
    let n: number;
    let stray = 0;
    for (;;) {
      n = this.#lib.recvmmsg(fd, t.msgs, max, MSG_DONTWAIT, null);
      if (n >= 0) break;
      const e = errno();
      if (e === EAGAIN) return 0;
      if (e === EINTR) continue;
      if (!ioErrnoPlausible(e) && ++stray <= STRAY_ERRNO_RETRIES) continue;
      throw osError(`recvmmsg ${this.#label}`, e);
    }
    const names = t.names;
    for (let i = 0; i < n; i++) {
      const m = i * MMSG_U32;
      sizes[i] = u32[m + MSG_LEN_U32];
      if ((u32[m + MSG_FLAGS_U32] & MSG_TRUNC) !== 0) this.#truncated++;
      decodeSockaddr(names, i * SOCKADDR_SLOT_BYTES, from, i);
    }
    return n;
  }

  /** Drops the references to callers' buffers. */
  clear(): void {
    this.#table?.clear();
  }
}
