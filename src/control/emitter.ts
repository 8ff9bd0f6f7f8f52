/** A minimal typed event emitter; a throwing listener is reported, never propagated into protocol code. */

// deno-lint-ignore no-explicit-any
export type EventMap = Record<string, (arg: any) => void>;

export class Emitter<E extends EventMap> {
  /**
   * Listeners per event, each once, in the order added. Arrays rather than Sets: a server holds an emitter per
   * session with a listener or two per event, and a Set costs ~250 bytes more than such an array.
   */
  readonly #listeners = new Map<keyof E, E[keyof E][]>();

  on<K extends keyof E>(event: K, fn: E[K]): this {
    const list = this.#listeners.get(event);
    if (!list) this.#listeners.set(event, [fn]);
    else if (!list.includes(fn)) list.push(fn);
    return this;
  }

  off<K extends keyof E>(event: K, fn: E[K]): this {
    const list = this.#listeners.get(event);
    const i = list ? list.indexOf(fn) : -1;
    if (i >= 0) list!.splice(i, 1);
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
    const list = this.#listeners.get(event);
    if (!list || list.length === 0) return;
    for (const fn of list.slice()) {
      try {
        fn(arg);
      } catch (e) {
        console.error(`Listener for ${String(event)} threw: ${(e as Error)?.message ?? e}`);
      }
    }
  }
}
