/**
 * Bounded waiting for tests, the one copy every test uses: wait on the
 * condition itself, never sleep and then assert. A sleep passes when the code
 * under test is merely slow and fails when the machine is; these helpers
 * return as soon as the condition holds and fail with what was awaited.
 *
 * - `until(probe, { what })`: poll real time until `probe` is truthy.
 * - `within(promise, ms, what)`: an event (a promise) with a deadline.
 * - `untilAdvanced(clock, probe, { what })`: step an injected clock (unit tests).
 * - `holds(probe, ms, what)`: a condition that must stay true while real time
 *   passes, for tests proving something does NOT happen where no clock can be
 *   injected (a real kernel, a child process).
 */

export interface UntilOptions {
  /** What is awaited, for the error message ("client key", "3 sessions"). */
  what: string;
  /** Give up after this long. @default 5000 */
  timeoutMs?: number;
  /** Time between probes. @default 10 */
  intervalMs?: number;
  /** Appended to the timeout error (e.g. a log tail); called only on failure. */
  detail?: () => string;
}

type Truthy<T> = Exclude<T, false | 0 | "" | null | undefined>;

/**
 * Probes until `probe` returns a truthy value and returns that value. Throws
 * `timed out after N ms waiting for: what` when the deadline passes. An error
 * thrown by `probe` fails the wait at once.
 */
export async function until<T>(probe: () => T | Promise<T>, options: UntilOptions): Promise<Truthy<T>> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as Truthy<T>;
    if (performance.now() >= deadline) {
      const detail = options.detail ? `\n${options.detail()}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${options.what}${detail}`);
    }
    await pause(options.intervalMs ?? 10);
  }
}

/** `promise`, or a rejection naming `what` after `ms`; the timer is cleared either way. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for: ${what}`)), ms);
  });
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

/** `promise`'s value, or `fallback` after `ms` (for "did it happen in time?" probes); the timer is cleared. */
export function settledWithin<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expiry = new Promise<F>((resolve) => timer = setTimeout(() => resolve(fallback), ms));
  return Promise.race([promise, expiry]).finally(() => clearTimeout(timer));
}

/** The part of an injected test clock `untilAdvanced` needs (ManualClock in src/testing/control/clock.ts). */
export interface SteppedClock {
  advance(ms: number): Promise<void>;
}

/**
 * Advances `clock` by `stepMs` until `probe` is truthy and returns the value;
 * fails after `maxSteps` steps. Time moves only when the test says so, so the
 * result does not depend on the machine's speed.
 */
export async function untilAdvanced<T>(
  clock: SteppedClock,
  probe: () => T,
  options: { what: string; stepMs?: number; maxSteps?: number },
): Promise<Truthy<T>> {
  const stepMs = options.stepMs ?? 1;
  const maxSteps = options.maxSteps ?? 5000;
  for (let i = 0; i < maxSteps; i++) {
    const v = probe();
    if (v) return v as Truthy<T>;
    await clock.advance(stepMs);
  }
  const v = probe();
  if (v) return v as Truthy<T>;
  throw new Error(`${options.what} did not happen within ${maxSteps} steps of ${stepMs} ms`);
}

/**
 * Checks `probe` every `intervalMs` while `ms` of real time pass and throws
 * naming `what` the first time it is false. For "X does not happen" in tests
 * that cannot inject a clock; the period is part of the scenario, not a wait.
 */
export async function holds(
  probe: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
  intervalMs = 10,
): Promise<void> {
  const start = performance.now();
  for (;;) {
    if (!(await probe())) {
      throw new Error(`stopped holding after ${Math.round(performance.now() - start)} ms: ${what}`);
    }
    const left = start + ms - performance.now();
    if (left <= 0) return;
    await pause(Math.min(intervalMs, left));
  }
}

/**
 * Lets `ms` of real time pass. Only for letting time pass as part of a
 * scenario (pacing a sender, letting a peer's timer run out), never before an
 * assertion that could wait on its condition instead.
 */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
