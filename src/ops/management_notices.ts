/**
 * One management session's real-time output: which notifications it asked
 * for (`log on`, `state on`), its `bytecount N` timer (every N seconds one
 * `>BYTECOUNT_CLI:CID,BYTES_IN,BYTES_OUT` line per connected client, as an
 * OpenVPN server writes them), and `>HOLD:` while the process waits for
 * `hold release` (every session hears that one, as in OpenVPN).
 *
 * Lines go to `write`, which the session serialises with its replies.
 */
import type { ManagementEvents } from "./management_events.ts";
import type { ServerControl } from "./server_control.ts";

/** setInterval's ceiling (2^31-1 ms); a longer bytecount period is clamped to it. */
const MAX_INTERVAL_MS = 2_147_483_647;

export interface SessionNoticesOptions {
  write: (line: string) => void;
  /** null: no clients to count (the client's interface offers no bytecount). */
  control: ServerControl | null;
  events: ManagementEvents | null;
}

export class SessionNotices {
  logRealtime = false;
  stateRealtime = false;
  readonly #o: SessionNoticesOptions;
  #bytecountTimer: ReturnType<typeof setInterval> | undefined;
  #unsubscribe: (() => void) | null = null;

  constructor(options: SessionNoticesOptions) {
    this.#o = options;
  }

  /** Starts listening to the process's events (after the greeting); a pending hold is told at once. */
  start(): void {
    const events = this.#o.events;
    if (!events || this.#unsubscribe) return;
    this.#unsubscribe = events.subscribe((kind, line) => {
      if (
        kind === "hold" || (kind === "log" && this.logRealtime) || (kind === "state" && this.stateRealtime)
      ) {
        this.#o.write(line);
      }
    });
    if (events.holding) this.#o.write(">HOLD:Waiting for hold release:0");
  }

  /** `bytecount N`: every N seconds (N > 0), or never (N <= 0). */
  setBytecount(seconds: number): void {
    clearInterval(this.#bytecountTimer);
    this.#bytecountTimer = undefined;
    if (seconds <= 0) return;
    const ms = Math.min(seconds * 1000, MAX_INTERVAL_MS);
    this.#bytecountTimer = setInterval(() => this.#bytecount(), ms);
  }

  #bytecount(): void {
    let clients;
    try {
      clients = this.#o.control?.snapshot().clients ?? [];
    } catch {
      return; // No server yet (hold) or it is stopping: nothing to count.
    }
    for (const c of clients) {
      this.#o.write(`>BYTECOUNT_CLI:${c.clientId ?? c.peerId},${c.bytesIn},${c.bytesOut}`);
    }
  }

  /** Stops the timer and the subscription; the session is over. */
  dispose(): void {
    clearInterval(this.#bytecountTimer);
    this.#bytecountTimer = undefined;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
  }
}
