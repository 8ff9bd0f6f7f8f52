/**
 * Reports the client's mesh-port drops (DirectPath.drops, by reason) in its
 * log: once a second at most, and only when a count moved, so a flood of
 * forged datagrams costs one debug line a second, never one per packet.
 *
 *   mesh: dropped on the mesh port {"not_introduced":3,"bad_tag":1}
 */

import type { Clock } from "../control/clock.ts";
import type { Logger } from "../log/log.ts";
import { MESH_DROP_NAMES } from "../mesh/wire.ts";

export const DROP_LOG_INTERVAL_MS = 1000;

export class MeshDropLog {
  readonly #drops: Float64Array;
  readonly #logged: Float64Array;
  readonly #log: Logger;
  readonly #clock: Clock;
  #timer: number | null = null;

  constructor(drops: Float64Array, log: Logger, clock: Clock) {
    this.#drops = drops;
    this.#logged = new Float64Array(drops.length);
    this.#log = log;
    this.#clock = clock;
  }

  start(): void {
    if (this.#timer !== null) return;
    this.#timer = this.#clock.setTimer(() => this.#check(), DROP_LOG_INTERVAL_MS);
  }

  stop(): void {
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
  }

  /** The running totals by reason name (reasons never counted left out). */
  totals(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < this.#drops.length; i++) {
      if (this.#drops[i] > 0) out[MESH_DROP_NAMES[i] ?? `reason_${i}`] = this.#drops[i];
    }
    return out;
  }

  #check(): void {
    this.#timer = null;
    if (this.#drops.some((n, i) => n !== this.#logged[i])) {
      this.#logged.set(this.#drops);
      this.#log.debug("mesh: dropped on the mesh port", this.totals());
    }
    this.start();
  }
}
