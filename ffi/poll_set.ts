/**
 * A poll(2) over a few fds plus an eventfd, waited on either synchronously
 * (on the calling thread) or as a `nonblocking: true` FFI call (Deno's
 * blocking thread pool, resolving a Promise).
 *
 * Why both: an async wait costs a pool-thread hop and a Promise per wake
 * (tens of µs, milliseconds on a loaded host), which under load dominated the
 * datapath's per-packet cost. A synchronous wait costs one system call and
 * wakes the caller directly, but blocks its event loop; the datapath's poll
 * loop (src/datapath/poll_loop.ts) therefore blocks only in short bounded
 * waits and yields to the event loop between them.
 *
 * Slots: `setFd(slot, fd)` watches `fd` for POLLIN in `slot` (0..slots-1);
 * a negative fd leaves the slot unwatched (poll ignores it). The eventfd is
 * always watched; `wake()` makes any pending or next wait return at once.
 *
 * Contract: at most one wait at a time; `close()` after the last wait has
 * returned, or while an async wait is pending (the eventfd is then closed
 * when that wait returns). The watched fds are not owned.
 */

import type { Poller } from "../src/device/pollable.ts";
import { EFD_CLOEXEC, EFD_NONBLOCK, type LibcSymbols, osError, POLLIN } from "./libc.ts";

const POLLFD_BYTES = 8;

export class PollSet implements Poller {
  readonly slots: number;
  #lib: LibcSymbols;
  #wake: number;
  #pollfds: Uint8Array;
  #view: DataView;
  #nfds: bigint;
  #counter = new BigUint64Array(1);
  #one = new BigUint64Array([1n]);
  #waiting: Promise<number> | null = null;
  #closed = false;

  /** Creates the eventfd; throws an `OsError` naming eventfd when that fails. */
  constructor(lib: LibcSymbols, slots: number) {
    const wake = lib.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake < 0) throw osError("eventfd");
    this.#lib = lib;
    this.#wake = wake;
    this.slots = slots;
    this.#pollfds = new Uint8Array((slots + 1) * POLLFD_BYTES);
    this.#view = new DataView(this.#pollfds.buffer);
    this.#nfds = BigInt(slots + 1);
    for (let i = 0; i < slots; i++) this.#view.setInt32(i * POLLFD_BYTES, -1, true);
    this.#view.setInt32(slots * POLLFD_BYTES, wake, true);
    for (let i = 0; i <= slots; i++) this.#view.setInt16(i * POLLFD_BYTES + 4, POLLIN, true);
  }

  /** Watches `fd` (or nothing, when negative) in `slot`. */
  setFd(slot: number, fd: number): void {
    if (slot < 0 || slot >= this.slots) throw new RangeError(`PollSet slot ${slot} out of range`);
    const o = slot * POLLFD_BYTES;
    if (this.#view.getInt32(o, true) !== fd) this.#view.setInt32(o, fd, true);
  }

  /** True when the last wait reported events on `slot`. */
  ready(slot: number): boolean {
    return this.#view.getInt16(slot * POLLFD_BYTES + 6, true) !== 0;
  }

  /**
   * Blocks the calling thread until a watched fd is readable, `wake()` is
   * called, or `timeoutMs` passes (0 = just look). Returns poll's result
   * (-1 on EINTR: the caller looks again).
   */
  waitSync(timeoutMs: number): number {
    if (this.#closed) return 0;
    this.#clearRevents();
    const r = this.#lib.poll(this.#pollfds, this.#nfds, timeoutMs);
    if (r > 0) this.#drainWake();
    return r;
  }

  /** The same wait on Deno's blocking thread pool; never rejects. */
  async wait(timeoutMs: number): Promise<number> {
    if (this.#closed) return 0;
    this.#clearRevents();
    this.#waiting = this.#lib.pollAsync(this.#pollfds, this.#nfds, timeoutMs);
    try {
      const r = await this.#waiting;
      if (r > 0 && !this.#closed) this.#drainWake();
      return r;
    } finally {
      this.#waiting = null;
      if (this.#closed) this.#closeWake();
    }
  }

  /** Makes the pending (or next) wait return now. */
  wake(): void {
    if (this.#wake >= 0) this.#lib.write(this.#wake, this.#one, 8);
  }

  /** Ends a pending wait and releases the eventfd (after that wait returns). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#waiting) this.wake();
    else this.#closeWake();
  }

  #clearRevents(): void {
    const v = this.#view;
    for (let i = 0; i <= this.slots; i++) v.setInt16(i * POLLFD_BYTES + 6, 0, true);
  }

  #drainWake(): void {
    if (this.ready(this.slots)) this.#lib.read(this.#wake, this.#counter, 8);
  }

  #closeWake(): void {
    if (this.#wake >= 0) {
      this.#lib.close(this.#wake);
      this.#wake = -1;
    }
  }
}
