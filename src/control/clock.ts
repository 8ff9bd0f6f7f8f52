/** Time source and timers for the control channel; tests inject a manual clock. */

export interface Clock {
  /** Milliseconds, monotonic enough for timeouts. */
  now(): number;
  setTimer(fn: () => void, ms: number): number;
  clearTimer(id: number): void;
}

export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, Math.max(0, ms)) as unknown as number,
  clearTimer: (id) => clearTimeout(id),
};

export function systemRandom(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

/** A clock whose timers set and neither fired nor cleared are counted (the server's status shows them). */
export class TimerCountingClock implements Clock {
  readonly #inner: Clock;
  readonly #pending = new Set<number>();

  constructor(inner: Clock) {
    this.#inner = inner;
  }

  /** Timers set and still waiting. */
  get pending(): number {
    return this.#pending.size;
  }

  now(): number {
    return this.#inner.now();
  }

  setTimer(fn: () => void, ms: number): number {
    const id: number = this.#inner.setTimer(() => {
      this.#pending.delete(id);
      fn();
    }, ms);
    this.#pending.add(id);
    return id;
  }

  clearTimer(id: number): void {
    this.#pending.delete(id);
    this.#inner.clearTimer(id);
  }
}
