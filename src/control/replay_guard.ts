/**
 * Replay protection for the tls-auth / tls-crypt packet id ("long form":
 * 32-bit id + 32-bit time). check() has no side effect so a packet can be fully
 * validated before commit() records it: a rejected packet changes nothing.
 */

const WINDOW = 64;

export class ControlReplayGuard {
  #time = -1;
  #highest = 0;
  readonly #seen = new Uint8Array(WINDOW);

  check(packetId: number, time: number): boolean {
    if (packetId === 0) return false;
    if (this.#time < 0 || time > this.#time) return true;
    if (time < this.#time) return false;
    if (packetId > this.#highest) return true;
    if (this.#highest - packetId >= WINDOW) return false;
    return this.#seen[packetId % WINDOW] === 0;
  }

  /** Forgets every id: the packets seen so far came from a sender that is no longer the peer. */
  reset(): void {
    this.#time = -1;
    this.#highest = 0;
    this.#seen.fill(0);
  }

  /** The guard's whole state as text, for tests proving a rejected packet changed nothing. */
  snapshot(): string {
    return `${this.#time}/${this.#highest}/${this.#seen.join("")}`;
  }

  /** Records an id that passed check(); the caller must have called check() first. */
  commit(packetId: number, time: number): void {
    if (this.#time < 0 || time > this.#time) {
      this.#time = time;
      this.#highest = packetId;
      this.#seen.fill(0);
      this.#seen[packetId % WINDOW] = 1;
      return;
    }
    if (packetId > this.#highest) {
      const gap = packetId - this.#highest;
      if (gap >= WINDOW) this.#seen.fill(0);
      else for (let i = this.#highest + 1; i < packetId; i++) this.#seen[i % WINDOW] = 0;
      this.#highest = packetId;
    }
    this.#seen[packetId % WINDOW] = 1;
  }
}
