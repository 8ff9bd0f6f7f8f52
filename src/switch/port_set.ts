/**
 * The set of client ports (session ids) attached to the switch, kept dense in
 * an Int32Array so flooding iterates it without allocating. Port 0 (the tap
 * device) is implicit and never stored. add/delete are O(1) (swap-remove).
 */

export class PortSet {
  #ports: Int32Array;
  #count = 0;
  readonly #index = new Map<number, number>();

  constructor(initialCapacity = 64) {
    this.#ports = new Int32Array(Math.max(1, initialCapacity));
  }

  /** Number of client ports. */
  get count(): number {
    return this.#count;
  }

  /** Dense view storage: valid entries are `ports[0 .. count)`; do not keep it across add(). */
  get ports(): Int32Array {
    return this.#ports;
  }

  has(port: number): boolean {
    return this.#index.has(port);
  }

  /** Adds a client port (an integer ≥ 1); returns false if it was present. */
  add(port: number): boolean {
    if (!Number.isInteger(port) || port < 1 || port > 0x7fffffff) {
      throw new RangeError(`Client port must be an integer 1..2147483647, got ${port}`);
    }
    if (this.#index.has(port)) return false;
    if (this.#count === this.#ports.length) {
      const grown = new Int32Array(this.#ports.length * 2);
      grown.set(this.#ports);
      this.#ports = grown;
    }
    this.#index.set(port, this.#count);
    this.#ports[this.#count++] = port;
    return true;
  }

  /** Removes a client port; returns false if it was absent. */
  delete(port: number): boolean {
    const i = this.#index.get(port);
    if (i === undefined) return false;
    const last = this.#ports[--this.#count];
    this.#ports[i] = last;
    this.#index.set(last, i);
    this.#index.delete(port);
    return true;
  }
}
