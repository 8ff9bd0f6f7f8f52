/** Test helper: a Clock whose timers fire only when the test advances time. */

import type { Clock } from "../../control/clock.ts";

export class ManualClock implements Clock {
  t: number;
  #timers = new Map<number, { at: number; fn: () => void }>();
  #id = 0;

  constructor(start = 1_000_000) {
    this.t = start;
  }

  now = (): number => this.t;

  setTimer = (fn: () => void, ms: number): number => {
    this.#timers.set(++this.#id, { at: this.t + ms, fn });
    return this.#id;
  };

  clearTimer = (id: number): void => void this.#timers.delete(id);

  /** Timers not yet fired or cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /**
   * Moves time forward by `ms`, firing due timers in deadline order; lets
   * macrotasks run before each timer and at the end, so I/O callbacks and
   * promise chains they start get to react.
   */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await new Promise((r) => setTimeout(r, 0));
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.#timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.#timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
    }
    this.t = end;
    await new Promise((r) => setTimeout(r, 0));
  }
}
