/** A minimal typed event emitter; a throwing listener is reported, never propagated into protocol code. */

// deno-lint-ignore no-explicit-any
export type EventMap = Record<string, (arg: any) => void>;

export class Emitter<E extends EventMap> {
  readonly #listeners = new Map<keyof E, Set<E[keyof E]>>();

  on<K extends keyof E>(event: K, fn: E[K]): this {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, set = new Set());
    set.add(fn);
    return this;
  }

  off<K extends keyof E>(event: K, fn: E[K]): this {
    this.#listeners.get(event)?.delete(fn);
    return this;
  }

  /** Resolves with the next emission of `event`. */
  once<K extends keyof E>(event: K): Promise<Parameters<E[K]>[0]> {
    return new Promise((resolve) => {
      const fn = ((arg: Parameters<E[K]>[0]) => {
        this.off(event, fn);
        resolve(arg);
      }) as E[K];
      this.on(event, fn);
    });
  }

  protected emit<K extends keyof E>(event: K, arg: Parameters<E[K]>[0]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(arg);
      } catch (e) {
        console.error(`Listener for ${String(event)} threw: ${(e as Error)?.message ?? e}`);
      }
    }
  }
}
