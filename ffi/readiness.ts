/**
 * The readiness wait shared by `tun.ts` and `udp.ts`: poll(2) on one
 * nonblocking fd plus an eventfd, run as a `nonblocking: true` FFI call on
 * Deno's blocking thread pool.
 *
 * Contract:
 * - Wait once per batch: drain the fd with synchronous calls until EAGAIN,
 *   and call `wait()` only when nothing was ready. A wait is one promise and
 *   one pool-thread hop, so it is not for per-packet use.
 * - At most one `wait()` is pending at a time (the owner guards this with its
 *   own "a read is pending" check).
 * - `wait()` resolves when the fd is readable, on poll's timeout, on a poll
 *   error, or when `close()` is called; it never rejects. The caller drains
 *   again after every wait and re-waits if nothing came.
 * - `close()` is idempotent. The owner closes its fd first, then calls
 *   `close()`. A pending poll holds its own reference to the fd's file, so
 *   `close()` writes the eventfd to end it at once; the eventfd itself is
 *   closed when that poll returns, or at once when no wait is pending. Once
 *   closed, `wait()` resolves at once. Nothing is left pending or open after
 *   the pending wait settles, so Deno's test sanitizers stay quiet.
 * - The fd is not owned: `Readiness` never closes it.
 */

import { EFD_CLOEXEC, EFD_NONBLOCK, type LibcSymbols, osError, POLLIN } from "./libc.ts";

const NFDS = 2n;
/** poll(2) timeout; the eventfd wakes a wait on close, this only bounds a stray wait. */
const POLL_TIMEOUT_MS = 60_000;

/** A close-wakeable readiness wait on one fd. See the module comment for the contract. */
export class Readiness {
  #lib: LibcSymbols;
  #wake: number;
  #closed = false;
  /** struct pollfd[2]: { int fd; short events; short revents; } for the fd and the eventfd. */
  #pollfds = new Uint8Array(16);
  #pollView = new DataView(this.#pollfds.buffer);
  #wakeValue = new BigUint64Array([1n]);
  #waiting: Promise<number> | null = null;

  /** Creates the eventfd; throws an `OsError` naming eventfd when that fails. */
  constructor(lib: LibcSymbols, fd: number) {
    const wake = lib.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake < 0) throw osError("eventfd");
    this.#lib = lib;
    this.#wake = wake;
    const view = this.#pollView;
    view.setInt32(0, fd, true);
    view.setInt16(4, POLLIN, true);
    view.setInt32(8, wake, true);
    view.setInt16(12, POLLIN, true);
  }

  /** The eventfd close() writes (tests check that it is released). */
  get wakeFd(): number {
    return this.#wake;
  }

  /** True while a `wait()` is pending. */
  get waiting(): boolean {
    return this.#waiting !== null;
  }

  /** True once `close()` was called (the eventfd may still be open until a pending wait returns). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Waits until the fd is readable or `close()` is called. See the contract for the other wake-ups. */
  async wait(): Promise<void> {
    if (this.#closed) return;
    const view = this.#pollView;
    view.setInt16(6, 0, true);
    view.setInt16(14, 0, true);
    this.#waiting = this.#lib.pollAsync(this.#pollfds, NFDS, POLL_TIMEOUT_MS);
    try {
      // -1 (EINTR on the pool thread; its errno is not visible here) and 0
      // (timeout) both mean "look again": the caller drains and re-waits.
      await this.#waiting;
    } finally {
      this.#waiting = null;
      if (this.#closed) this.#closeWake();
    }
  }

  /** Ends a pending wait and releases the eventfd (after that wait returns). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#waiting) {
      this.#lib.write(this.#wake, this.#wakeValue, 8);
    } else {
      this.#closeWake();
    }
  }

  #closeWake(): void {
    if (this.#wake >= 0) {
      this.#lib.close(this.#wake);
      this.#wake = -1;
    }
  }
}
