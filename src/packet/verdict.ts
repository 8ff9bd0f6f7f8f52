/**
 * Verdicts returned by the header checks. They never throw: whatever a peer
 * sends yields one of these numbers, which callers count by reason.
 */

export const PACKET_OK = 0;
export const PACKET_TOO_SHORT = -1;
export const PACKET_BAD_VERSION = -2;
export const PACKET_BAD_HEADER_LEN = -3;
export const PACKET_BAD_TOTAL_LEN = -4;

/** Short names for counters and logs, indexed by `-verdict`. */
export const PACKET_VERDICT_NAMES: readonly string[] = [
  "ok",
  "too-short",
  "bad-version",
  "bad-header-len",
  "bad-total-len",
];
