/**
 * Socket-read pacing for the poll loop (poll_loop.ts) while junk floods the
 * socket. Normally the loop sleeps in poll(2) until the socket or the device
 * is readable, so every datagram that finds the loop asleep wakes it. A wake
 * is the expensive part of a junk datagram's cost (a context switch: measured
 * ~13 µs on this 2-vCPU VM, against ~1 µs to receive, classify and count a
 * datagram; docs/reliability.md, "Junk flood"), and a flood keeps the loop
 * waking for a handful of datagrams at a time.
 *
 * So when the datagrams the datapath rejected before authentication
 * (`Datapath.rejected`) came at PACE_REJECTS_PER_S or more over the last
 * PACE_WINDOW_MS, the loop stops watching the socket in its sleeps and reads
 * it once every PACE_MS instead: ~100 datagrams per wake at 100 000/s rather
 * than ~10. The device is still watched (traffic from the host is not
 * delayed); datagrams from clients wait up to PACE_MS longer, only during
 * such a flood. The kernel queue holds them meanwhile (the server's: ~36 000
 * junk datagrams, 360 ms at 100 000/s; server_transport.ts). Pacing ends with
 * the window in which the rejects fell below the rate.
 */

/** The window over which the reject rate is measured. */
export const PACE_WINDOW_MS = 20;
/** Rejected datagrams per second from which socket reads are paced. */
export const PACE_REJECTS_PER_S = 20_000;
/** While paced, the socket is read once per this many milliseconds (poll(2)'s granularity). */
export const PACE_MS = 1;

export class SocketPacer {
  /** True while socket reads are paced. */
  paced = false;
  /** Rejects per second from which reads are paced (a test whose sender shares the loop's thread lowers it). */
  threshold = PACE_REJECTS_PER_S;
  /** Windows in which pacing was on, for tests and benches. */
  pacedWindows = 0;
  #windowStart = -Infinity;
  #rejectsAtStart = 0;

  /** Looks at the reject count (`rejected`, ever growing) at time `now` (ms); returns `paced`. */
  update(now: number, rejected: number): boolean {
    const elapsed = now - this.#windowStart;
    if (elapsed < PACE_WINDOW_MS) return this.paced;
    const rate = (rejected - this.#rejectsAtStart) * 1000 / elapsed;
    this.paced = elapsed !== Infinity && rate >= this.threshold;
    if (this.paced) this.pacedWindows++;
    this.#windowStart = now;
    this.#rejectsAtStart = rejected;
    return this.paced;
  }
}
