/**
 * The status page's traffic graph: bytes per second in and out over the last
 * ten minutes, from the tunnel's byte totals sampled about once a second. A
 * fixed ring of 600 slots. Each sample spreads the bytes since the previous
 * one evenly over the whole seconds between them (rounded, at least one), so
 * a timer firing a little early or late neither doubles one second nor leaves
 * the next at zero; a sample under half a second after the previous waits for
 * the next.
 */

export const HISTORY_SECONDS = 600;

export interface TrafficSeries {
  /** Seconds since the epoch of the last sample (the newest value's second). */
  end: number;
  /** Bytes per second, oldest first, HISTORY_SECONDS long at most. */
  bytesIn: number[];
  bytesOut: number[];
}

export class TrafficHistory {
  readonly #in = new Float64Array(HISTORY_SECONDS);
  readonly #out = new Float64Array(HISTORY_SECONDS);
  #filled = 0;
  #head = 0;
  #lastMs = -1;
  #lastIn = 0;
  #lastOut = 0;

  /** Records the totals seen at `nowMs`. */
  sample(totalIn: number, totalOut: number, nowMs: number): void {
    if (this.#lastMs < 0) {
      this.#take(totalIn, totalOut, nowMs);
      return;
    }
    const elapsedS = (nowMs - this.#lastMs) / 1000;
    if (elapsedS < 0.5) return;
    const steps = Math.min(Math.round(elapsedS), HISTORY_SECONDS);
    const dIn = Math.max(0, totalIn - this.#lastIn) / steps;
    const dOut = Math.max(0, totalOut - this.#lastOut) / steps;
    for (let i = 0; i < steps; i++) this.#push(dIn, dOut);
    this.#take(totalIn, totalOut, nowMs);
  }

  series(): TrafficSeries {
    const bytesIn: number[] = [];
    const bytesOut: number[] = [];
    const first = (this.#head - this.#filled + HISTORY_SECONDS) % HISTORY_SECONDS;
    for (let i = 0; i < this.#filled; i++) {
      const slot = (first + i) % HISTORY_SECONDS;
      bytesIn.push(this.#in[slot]);
      bytesOut.push(this.#out[slot]);
    }
    return { end: Math.max(0, Math.floor(this.#lastMs / 1000)), bytesIn, bytesOut };
  }

  #take(totalIn: number, totalOut: number, nowMs: number): void {
    this.#lastIn = totalIn;
    this.#lastOut = totalOut;
    this.#lastMs = nowMs;
  }

  #push(dIn: number, dOut: number): void {
    this.#in[this.#head] = dIn;
    this.#out[this.#head] = dOut;
    this.#head = (this.#head + 1) % HISTORY_SECONDS;
    if (this.#filled < HISTORY_SECONDS) this.#filled++;
  }
}
