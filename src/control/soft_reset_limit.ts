/**
 * Rate limit for renegotiations a peer starts (a P_CONTROL_SOFT_RESET_V1 that
 * opens a new key-id). Each one costs us a full TLS handshake, certificate
 * verification included, so an authenticated peer that sends them back to
 * back could keep a core busy. OpenVPN has no knob; it only ignores a soft
 * reset while a renegotiation is running, which ControlSession does too.
 *
 * A token bucket: SOFT_RESET_BURST resets at once, then one per
 * SOFT_RESET_REFILL_MS. Why these numbers:
 * - legitimate peers renegotiate every reneg-sec (default 3600 s; tests use
 *   2–4 s) or every reneg-bytes; none needs more than one every 2 s, and a
 *   burst of 4 absorbs a peer whose clock and ours trigger together;
 * - an excess reset is dropped without an acknowledgement, so a stock peer
 *   retransmits it (2 s, 4 s, 8 s… within its 60 s hand-window) and a later
 *   copy is accepted: a too-eager peer is slowed down, not disconnected;
 * - a flooding peer costs at most one server-side TLS handshake per 2 s
 *   (≈ 1–2 ms of CPU), under 0.1 % of a core.
 */

export const SOFT_RESET_BURST = 4;
export const SOFT_RESET_REFILL_MS = 2000;

export class SoftResetLimit {
  readonly #burst: number;
  readonly #refillMs: number;
  #tokens: number;
  #at: number;

  constructor(now: number, burst = SOFT_RESET_BURST, refillMs = SOFT_RESET_REFILL_MS) {
    if (!(burst >= 1) || !(refillMs > 0)) {
      throw new RangeError("Soft reset limit needs burst ≥ 1 and refill > 0");
    }
    this.#burst = burst;
    this.#refillMs = refillMs;
    this.#tokens = burst;
    this.#at = now;
  }

  /** True when a peer-initiated soft reset may start at `now`; changes nothing. */
  allows(now: number): boolean {
    return this.#tokensAt(now) >= 1;
  }

  /** Spends one token for a soft reset that started at `now` (after allows() said yes). */
  take(now: number): void {
    this.#tokens = this.#tokensAt(now) - 1;
    this.#at = now;
  }

  #tokensAt(now: number): number {
    const elapsed = Math.max(0, now - this.#at);
    return Math.min(this.#burst, this.#tokens + elapsed / this.#refillMs);
  }
}
