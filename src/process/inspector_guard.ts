/**
 * Keeps Deno's SIGUSR1 debugger closed. Since Deno 2.9.2 a SIGUSR1 starts the
 * V8 inspector on 127.0.0.1:9229 in any running process, and its HTTP
 * endpoint /json/list hands the debugger URL to whoever asks — for a tsvpn
 * running as root, every local user could then run code as root. OpenVPN
 * administrators send SIGUSR1 by habit (it is OpenVPN's soft restart, and
 * tsvpn's too), and Deno has no switch to turn the debugger off.
 *
 * The inspector gives up when its port is taken ("Failed to start inspector
 * server"), so a long-running tsvpn holds 127.0.0.1:9229 itself: connections
 * are accepted and closed at once. When another process already has the
 * port, the inspector cannot start either; the guard says so and takes the
 * port as soon as it is free. Measured and documented in docs/security.md.
 */

import type { Logger } from "../log/log.ts";

/** Where Deno 2.9's SIGUSR1 inspector listens (fixed in its source). */
export const SIGUSR1_INSPECTOR = { hostname: "127.0.0.1", port: 9229 } as const;
const RETRY_MS = 5000;

export interface InspectorGuardOptions {
  log: Logger;
  /** @default SIGUSR1_INSPECTOR (tests use port 0) */
  address?: { hostname: string; port: number };
  /** Between attempts while another process holds the port. @default 5000 */
  retryMs?: number;
}

export class InspectorGuard {
  readonly #log: Logger;
  readonly #address: { hostname: string; port: number };
  readonly #retryMs: number;
  #listener: Deno.Listener | null = null;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #warned = false;
  #closed = false;

  constructor(options: InspectorGuardOptions) {
    this.#log = options.log;
    this.#address = options.address ?? SIGUSR1_INSPECTOR;
    this.#retryMs = options.retryMs ?? RETRY_MS;
    this.#take();
  }

  /** True while the guard holds the port. */
  get holding(): boolean {
    return this.#listener !== null;
  }

  /** The port held (the real one when 0 was asked), or null. */
  get port(): number | null {
    return this.#listener ? (this.#listener.addr as Deno.NetAddr).port : null;
  }

  close(): void {
    this.#closed = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    try {
      this.#listener?.close();
    } catch {
      // Closed already.
    }
    this.#listener = null;
  }

  #take(): void {
    if (this.#closed) return;
    try {
      this.#listener = Deno.listen({ transport: "tcp", ...this.#address });
    } catch (e) {
      this.#waitForPort(e);
      return;
    }
    // The guard must not keep a process alive that is otherwise done.
    this.#listener.unref();
    if (this.#warned) this.#log.info("holding the SIGUSR1 debugger port now", this.#fields());
    void this.#refuseAll(this.#listener);
  }

  #waitForPort(e: unknown): void {
    if (!this.#warned) {
      this.#warned = true;
      this.#log.warn(
        "another process holds the port Deno's SIGUSR1 debugger would open; retrying to take it",
        { ...this.#fields(), error: (e as Error).message.split("\n")[0] },
      );
    }
    const retry = setTimeout(() => this.#take(), this.#retryMs);
    Deno.unrefTimer(retry);
    this.#retry = retry;
  }

  /** Accepts and closes every connection, so none waits in the backlog. */
  async #refuseAll(listener: Deno.Listener): Promise<void> {
    try {
      for await (const conn of listener) conn.close();
    } catch {
      // Closed by close().
    }
  }

  #fields() {
    return { address: `${this.#address.hostname}:${this.#address.port}` };
  }
}
