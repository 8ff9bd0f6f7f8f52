/**
 * The server's address pool from its configuration (none with bridge: true),
 * and its persistence (server.pool_persist): restored at start, saved in the
 * background when it changed (once a second) and once more at stop.
 */

import { parseIpv4 } from "../addr/ip.ts";
import type { ServerConfig } from "../config/schema.ts";
import type { Logger } from "../log/log.ts";
import { AddressPool, type StaticAddress } from "../pool/address_pool.ts";
import { PoolStore } from "../pool/pool_store.ts";
import { planLayout } from "../pool/topology.ts";

export function poolFromConfig(config: ServerConfig, clock?: () => number): AddressPool | null {
  const s = config.server;
  if (s.bridge || (s.network === null && s.network6 === null)) return null;
  const layout = planLayout({
    network4: s.network?.text,
    network6: s.network6?.text,
    topology: s.topology,
    device: config.dev.type,
  });
  const statics: Record<string, StaticAddress> = {};
  for (const [name, c] of s.clients) {
    if (!c.address && !c.address6) continue;
    statics[name] = {};
    if (c.address) statics[name].ipv4 = c.address.text;
    if (c.address6) statics[name].ipv6 = c.address6.text;
  }
  const range4 = s.poolRange
    ? { start: parseIpv4(s.poolRange.start.text), end: parseIpv4(s.poolRange.end.text) }
    : undefined;
  return new AddressPool(layout, { statics, duplicateNames: s.duplicateCn, clock, range4 });
}

/** The pool and the file it persists to; `pool` is null without addresses to hand out. */
export class PoolKeeper {
  readonly pool: AddressPool | null;
  readonly #store: PoolStore | null;
  readonly #log: Logger;
  /** `pool.changes` when it was last loaded or saved. */
  #savedChanges = -1;
  #saving = false;

  constructor(config: ServerConfig, options: { now: () => number; log: Logger }) {
    this.pool = poolFromConfig(config, options.now);
    this.#store = config.server.poolPersist ? new PoolStore(config.server.poolPersist) : null;
    this.#log = options.log;
  }

  /** Applies the saved snapshot, if there is one; a bad file is a start-up error. */
  async restore(): Promise<void> {
    if (!this.pool || !this.#store) return;
    const snapshot = await this.#store.load();
    if (snapshot) {
      const result = this.pool.restore(snapshot);
      this.#log.info("address pool restored", {
        file: this.#store.path,
        applied: result.applied,
        skipped: result.skipped,
      });
    }
    this.#savedChanges = this.pool.changes;
  }

  /** Starts a save when the pool changed and no save is running; a failure is logged. */
  saveInBackground(): void {
    if (!this.pool || !this.#store || this.#saving || this.pool.changes === this.#savedChanges) return;
    const changes = this.pool.changes;
    this.#saving = true;
    this.#store.save(this.pool.snapshot()).then(
      () => this.#savedChanges = changes,
      (e) => this.#log.warn("could not save the address pool", { reason: (e as Error).message }),
    ).finally(() => this.#saving = false);
  }

  /** The last save, at stop; a failure is logged. */
  async saveNow(): Promise<void> {
    if (!this.pool || !this.#store || this.pool.changes === this.#savedChanges) return;
    try {
      await this.#store.save(this.pool.snapshot());
    } catch (e) {
      this.#log.warn("could not save the address pool", { reason: (e as Error).message });
    }
  }
}
