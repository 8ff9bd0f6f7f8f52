/**
 * How a control session ends (session_end.ts lists the kinds). Whatever the cause, the whole session
 * ends: a failed renegotiation too, as an OpenVPN TLS error does.
 *
 * - At once: fatal() (a protocol, TLS or internal error), or close() without exit notification.
 * - After a grace period: a key refused with `graceMs` keeps sending for that long, so the refusal
 *   (a TLS alert, AUTH_FAILED) reaches the peer.
 * - After an exit notification: close() on an established session whose peer takes them sends EXIT
 *   (client) or RESTART (server), then ends once that is acknowledged, or after EXIT_GRACE_MS.
 * - After the peer's goodbye (EXIT, RESTART, HALT): it is acknowledged first, so the peer need not wait.
 *
 * A pending close's deadline is one of the session's deadlines (session_timers.ts).
 */

import type { KeyState } from "./key_state.ts";
import type { SessionCore } from "./session_core.ts";
import type { SessionEnd, SessionEndKind } from "./session_end.ts";

/** How long an exit notification (EXIT, RESTART) may wait for its acknowledgement. */
const EXIT_GRACE_MS = 2000;

/** A close in progress: it finishes at `deadline`, or (`untilAcked`) once what was `sent` is acknowledged. */
export interface PendingClose {
  end: SessionEnd;
  deadline: number;
  sent: boolean;
  untilAcked: boolean;
}

/** What closing uses of the session. */
type ClosingCore = Pick<
  SessionCore,
  "role" | "clock" | "log" | "keys" | "agreed" | "emit" | "sendMessage" | "flushSoon"
>;

export interface ClosingActions {
  /** Sends what is due now; a throw ends the session as an internal error. */
  flushNow(): void;
  /** The session ended: no more deadlines. */
  stopTimers(): void;
}

export class SessionClosing {
  readonly #core: ClosingCore;
  readonly #actions: ClosingActions;
  #pending: PendingClose | null = null;
  #closed = false;

  constructor(core: ClosingCore, actions: ClosingActions) {
    this.#core = core;
    this.#actions = actions;
  }

  /** True once the session ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The close in progress, if any. */
  get pending(): PendingClose | null {
    return this.#pending;
  }

  /** Ends the session, after an exit notification when `notify` and the peer takes them. */
  close(kind: SessionEndKind, reason: string, notify: boolean, message?: string): void {
    if (this.#closed || this.#pending) return;
    const core = this.#core;
    const ks = core.keys.active;
    const end = { kind, reason };
    if (notify && core.agreed.established && ks && (core.agreed.peerCcExit || message !== undefined)) {
      core.sendMessage(ks, message ?? (core.role === "client" ? "EXIT" : "RESTART"));
      this.#pending = { end, deadline: core.clock.now() + EXIT_GRACE_MS, sent: false, untilAcked: true };
      core.flushSoon();
      return;
    }
    this.finish(end);
  }

  /**
   * The peer said it is going away. Its goodbye is acknowledged before the session ends (the message
   * may have arrived inside the packet being processed, whose ack would otherwise never go out), so the
   * peer finishes at once instead of waiting out its exit grace period.
   */
  closeOnGoodbye(kind: SessionEndKind, reason: string): void {
    this.#actions.flushNow();
    this.close(kind, reason, false);
  }

  /** Key `ks` failed, which ends the session; with `graceMs` a refusal still reaches the peer first. */
  failKey(ks: KeyState, kind: SessionEndKind, reason: string, graceMs = 0): void {
    if (ks.phase === "failed" || this.#closed) return;
    ks.phase = "failed";
    if (graceMs > 0) {
      const end = { kind, reason };
      this.#pending = { end, deadline: this.#core.clock.now() + graceMs, sent: false, untilAcked: false };
      this.#core.emit("error", end);
      this.#core.flushSoon();
      return;
    }
    this.fatal(kind, reason);
  }

  fatal(kind: SessionEndKind, reason: string): void {
    if (this.#closed) return;
    this.#core.log?.error(reason);
    const end = { kind, reason };
    this.#core.emit("error", end);
    this.finish(end);
  }

  finish(end: SessionEnd): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#actions.stopTimers();
    this.#core.keys.clear();
    this.#core.emit("closed", end);
  }

  /** A reliable message went out: what a pending exit notification waits to see acknowledged. */
  messageSent(): void {
    if (this.#pending) this.#pending.sent = true;
  }
}
