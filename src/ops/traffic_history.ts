/**
 * The status page's traffic graph: bytes per second in and out over the last
 * ten minutes, from the tunnel's byte totals sampled once a second. A fixed
 * ring of 600 slots; a sample after a gap fills the missed seconds with zero
 * (the gap's bytes are counted in the second they were seen).
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
  #lastSecond = -1;
  #lastIn = 0;
  #lastOut = 0;

  /** Records the totals seen at `nowMs`: the difference to the previous sample goes to this second. */
  sample(totalIn: number, totalOut: number, nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    if (this.#lastSecond < 0) {
      this.#start(totalIn, totalOut, second);
      return;
    }
    const dIn = Math.max(0, totalIn - this.#lastIn);
    const dOut = Math.max(0, totalOut - this.#lastOut);
    this.#lastIn = totalIn;
    this.#lastOut = totalOut;
    const steps = Math.min(second - this.#lastSecond, HISTORY_SECONDS);
    if (steps <= 0) {
      this.#add(dIn, dOut);
      return;
    }
    for (let i = 1; i < steps; i++) this.#push(0, 0);
    this.#push(dIn, dOut);
    this.#lastSecond = second;
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
    return { end: Math.max(0, this.#lastSecond), bytesIn, bytesOut };
  }

  #start(totalIn: number, totalOut: number, second: number): void {
    this.#lastIn = totalIn;
    this.#lastOut = totalOut;
    this.#lastSecond = second;
  }

  #push(dIn: number, dOut: number): void {
    this.#in[this.#head] = dIn;
    this.#out[this.#head] = dOut;
    this.#head = (this.#head + 1) % HISTORY_SECONDS;
    if (this.#filled < HISTORY_SECONDS) this.#filled++;
  }

  /** Adds to the newest slot (a second sample within the same second). */
  #add(dIn: number, dOut: number): void {
    if (this.#filled === 0) {
      this.#push(dIn, dOut);
      return;
    }
    const slot = (this.#head - 1 + HISTORY_SECONDS) % HISTORY_SECONDS;
    this.#in[slot] += dIn;
    this.#out[slot] += dOut;
  }
}
