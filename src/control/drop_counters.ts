/**
 * Why a packet was dropped. Counters live in one typed array indexed by the
 * reason so the drop path does a single increment and allocates nothing.
 */

export const DROP_MALFORMED = 0;
export const DROP_BAD_OPCODE = 1;
export const DROP_AUTH_FAILED = 2;
export const DROP_REPLAY = 3;
export const DROP_UNKNOWN_SESSION = 4;
export const DROP_BAD_KEY_ID = 5;
export const DROP_SESSION_MISMATCH = 6;
export const DROP_RATE_LIMITED = 7;
export const DROP_UNSUPPORTED = 8;
export const DROP_OUT_OF_WINDOW = 9;
export const DROP_UNEXPECTED = 10;
export const DROP_TOO_LARGE = 11;
export const DROP_DUPLICATE = 12;
export const DROP_CAPACITY = 13;
/** A peer-initiated soft reset beyond the session's rate limit (soft_reset_limit.ts). */
export const DROP_SOFT_RESET_LIMITED = 14;
/** A reset from a source address (IPv4, IPv6 /64) over its own rate (source_buckets.ts). */
export const DROP_SOURCE_RATE_LIMITED = 15;
/** A packet from an unknown session acknowledging a server session id we did not issue (reset_cookie.ts). */
export const DROP_BAD_COOKIE = 16;

export const DROP_REASON_NAMES: readonly string[] = [
  "malformed",
  "bad_opcode",
  "auth_failed",
  "replay",
  "unknown_session",
  "bad_key_id",
  "session_mismatch",
  "rate_limited",
  "unsupported",
  "out_of_window",
  "unexpected",
  "too_large",
  "duplicate",
  "capacity",
  "soft_reset_limited",
  "source_rate_limited",
  "bad_cookie",
];

export const DROP_REASON_COUNT = DROP_REASON_NAMES.length;

export class DropCounters {
  /** Indexed by DROP_* constants; read freely, write through count(). */
  readonly counts = new Float64Array(DROP_REASON_COUNT);

  count(reason: number): void {
    this.counts[reason]++;
  }

  get total(): number {
    let t = 0;
    for (let i = 0; i < this.counts.length; i++) t += this.counts[i];
    return t;
  }

  /** Non-zero counters by name, for logs and status output. */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < this.counts.length; i++) {
      if (this.counts[i] !== 0) out[DROP_REASON_NAMES[i]] = this.counts[i];
    }
    return out;
  }
}

/** Verdict returned by decoders when a packet is acceptable; any other value is a DROP_* reason. */
export const VERDICT_OK = -1;
