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
