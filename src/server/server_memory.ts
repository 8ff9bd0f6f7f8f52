/**
 * When the server gives malloc's free memory back (ffi/malloc_trim.ts): after
 * the number of sessions changed (new clients handshake, others leave) and
 * then held still for QUIET_MS, so a burst of handshakes is trimmed once, at
 * its end; under steady churn at most every MAX_WAIT_MS. Never more often
 * than MIN_INTERVAL_MS. Checked from the server's once-a-second tick with
 * the listener's session count; time is passed in, so tests drive it.
 */

import { trimMalloc } from "../../ffi/malloc_trim.ts";

/** A burst is over when the session count held still this long. */
export const QUIET_MS = 2_000;
/** Churn that never pauses is trimmed after this long. */
export const MAX_WAIT_MS = 60_000;
/** Two trims are at least this far apart. */
export const MIN_INTERVAL_MS = 10_000;

export class TrimSchedule {
  #sessions = -1;
  #changedAt = 0;
  /** When the first change not yet trimmed happened; -1 when there is none. */
  #pendingSince = -1;
  #trimmedAt = -Infinity;

  /** The tick: the listener's session count now. True when a trim is due (the caller then trims). */
  due(nowMs: number, sessions: number): boolean {
    if (sessions !== this.#sessions) {
      if (this.#sessions >= 0 && this.#pendingSince < 0) this.#pendingSince = nowMs;
      this.#sessions = sessions;
      this.#changedAt = nowMs;
    }
    if (this.#pendingSince < 0 || nowMs - this.#trimmedAt < MIN_INTERVAL_MS) return false;
    const quiet = nowMs - this.#changedAt >= QUIET_MS;
    if (!quiet && nowMs - this.#pendingSince < MAX_WAIT_MS) return false;
    this.#pendingSince = -1;
    this.#trimmedAt = nowMs;
    return true;
  }
}

/** Runs the schedule; `trim` is injected in tests. */
export class MallocKeeper {
  readonly #schedule = new TrimSchedule();
  readonly #trim: () => boolean;

  constructor(trim: () => boolean = trimMalloc) {
    this.#trim = trim;
  }

  tick(nowMs: number, sessions: number): void {
    if (this.#schedule.due(nowMs, sessions)) this.#trim();
  }
}
