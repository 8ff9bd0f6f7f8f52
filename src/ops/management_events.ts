/**
 * What OpenVPN's management interface remembers between sessions and tells
 * sessions as it happens: the log history (`log`), the state history
 * (`state`), and the hold gate (`hold`, `management.hold`). One instance per
 * process; every session subscribes to its notifications and decides, by its
 * own `log on`/`state on`, which it writes.
 *
 * History lines are OpenVPN's: `TIME,FLAGS,MESSAGE` for the log (flags I, W,
 * N, D: OpenVPN writes F only just before a fatal exit) and
 * `TIME,STATE,DESCRIPTION,LOCAL_IP,REMOTE_IP,REMOTE_PORT,LOCAL_ADDR,LOCAL_PORT`
 * for states; real-time notifications are the same text behind `>LOG:` and
 * `>STATE:`. Both histories are bounded rings, like OpenVPN's
 * --management-log-cache.
 */
import type { LogLevel } from "../log/log.ts";

/** OpenVPN's server-side states (management-notes.txt, "COMMAND -- state"). */
export type ManagementState = "CONNECTING" | "ASSIGN_IP" | "CONNECTED" | "RECONNECTING" | "EXITING";

export type NotificationKind = "log" | "state" | "hold";

/** A subscriber gets each notification as its full line (`>LOG:…`, `>STATE:…`, `>HOLD:…`). */
export type NotificationListener = (kind: NotificationKind, line: string) => void;

export const HOLD_NOTIFICATION = ">HOLD:Waiting for hold release:0";

const LOG_FLAGS: Record<LogLevel, string> = { error: "N", warn: "W", info: "I", debug: "D" };

/** A bounded ring of history lines, oldest first. */
export class History {
  readonly #lines: string[] = [];
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  push(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > this.#max) this.#lines.shift();
  }

  /** The newest `n` lines (all when n is omitted), oldest first. */
  latest(n?: number): string[] {
    return n === undefined ? [...this.#lines] : this.#lines.slice(Math.max(0, this.#lines.length - n));
  }
}

/** A management line never carries a line break or a NUL (it would end or corrupt the line). */
function oneLine(text: string): string {
  return text.replace(/[\r\n\0]/g, " ");
}

export interface ManagementEventsOptions {
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number;
  /** Log lines kept for `log all`. @default 1000 (OpenVPN's --management-log-cache default) */
  logCache?: number;
  /** Start in hold: `waitForRelease()` waits for `hold release` (OpenVPN's --management-hold). */
  hold?: boolean;
}

export class ManagementEvents {
  readonly log: History;
  readonly state = new History(100);
  readonly #now: () => number;
  readonly #listeners = new Set<NotificationListener>();
  /** The persistent hold flag (`hold on|off`). */
  holdFlag: boolean;
  #holding = false;
  #release: (() => void) | null = null;
  /** A `hold release` that came before the hold: the next hold passes at once (OpenVPN keeps it too). */
  #releasedEarly = false;

  constructor(options: ManagementEventsOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.log = new History(options.logCache ?? 1000);
    this.holdFlag = options.hold ?? false;
  }

  #seconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  subscribe(listener: NotificationListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(kind: NotificationKind, line: string): void {
    for (const listener of [...this.#listeners]) listener(kind, line);
  }

  /** A log line (the Logger's tap): history and `>LOG:` notification. */
  recordLog(level: LogLevel, text: string): void {
    const line = `${this.#seconds()},${LOG_FLAGS[level]},${oneLine(text)}`;
    this.log.push(line);
    this.#emit("log", `>LOG:${line}`);
  }

  /** A state transition: history and `>STATE:` notification. */
  recordState(state: ManagementState, description = "", localIp = "", localIp6 = ""): void {
    const fields = [
      String(this.#seconds()),
      state,
      oneLine(description).replaceAll(",", " "),
      localIp,
      "",
      "",
      "",
      "",
    ];
    if (localIp6 !== "") fields.push(localIp6);
    const line = fields.join(",");
    this.state.push(line);
    this.#emit("state", `>STATE:${line}`);
  }

  /** True while waiting for `hold release`. */
  get holding(): boolean {
    return this.#holding;
  }

  /**
   * Resolves at once without the hold flag; otherwise tells every session
   * `>HOLD:Waiting for hold release:0` and resolves on `hold release`.
   */
  waitForRelease(): Promise<void> {
    if (!this.holdFlag || this.#releasedEarly) {
      this.#releasedEarly = false;
      return Promise.resolve();
    }
    this.#holding = true;
    const released = new Promise<void>((resolve) => this.#release = resolve);
    this.#emit("hold", HOLD_NOTIFICATION);
    return released;
  }

  /** `hold release`: ends the hold in progress, or lets the next one pass. */
  release(): void {
    const release = this.#release;
    this.#holding = false;
    this.#release = null;
    if (release) release();
    else this.#releasedEarly = true;
  }
}
