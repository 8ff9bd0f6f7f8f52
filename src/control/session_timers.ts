/**
 * Every deadline of one control session, behind one clock timer (the shape of wireguard-go's timers.go).
 * The session calls arm() whenever a deadline may have moved (packets went out, a key became active);
 * when one has passed, the matching `expired…` hook runs. The deferred sends (scheduleFlush, flushSoon)
 * are here too: nothing else in the session sets timers or queues work.
 *
 * | deadline          | starts when                                   | when it passes                    |
 * | ----------------- | --------------------------------------------- | --------------------------------- |
 * | closing grace     | a close with exit notification, a refusal     | the session ends; an exit         |
 * |                   | (alert, AUTH_FAILED) on its way to the peer   | notification ends it once acked   |
 * | handshake window  | a key-id's reset (--hand-window)              | the key fails: the session ends   |
 * | transition window | the key's successor became active (--tran-window) | the old key retires           |
 * | key lifetime      | the primary key became active (--reneg-sec)   | a soft reset starts the next key  |
 * | push request      | client: PUSH_REQUEST went out                 | PUSH_REQUEST again                |
 * | retransmission    | reliable.ts: a message or an ack is pending   | resend, acknowledge               |
 *
 * The windows and the lifetime are kept per key in key_state.ts.
 */

import type { Clock } from "./clock.ts";
import type { KeySlots, KeyState } from "./key_state.ts";
import type { PendingClose } from "./session_close.ts";

/** What the timers read from the session, and the hooks they call when a deadline passes. */
export interface TimerHooks {
  isClosed(): boolean;
  pendingClose(): PendingClose | null;
  /** Client: when PUSH_REQUEST is repeated; Infinity when nothing is due. */
  pushRequestAt(): number;
  /** The closing grace ended, or everything the exit notification needed was acknowledged. */
  expiredClosingGrace(): void;
  /** Key `ks` did not finish negotiating within the handshake window. */
  expiredHandshakeWindow(ks: KeyState): void;
  /** Replaced key `ks` served through its transition window. */
  expiredTransitionWindow(ks: KeyState): void;
  /** The primary key reached the end of its lifetime. */
  expiredKeyLifetime(): void;
  /** No PUSH_REPLY within the repeat interval. */
  expiredPushRequest(): void;
  /** Sends what is due (retransmissions, acks), which arms the timer again; never throws. */
  flush(): void;
}

export class SessionTimers {
  readonly #clock: Clock;
  readonly #keys: KeySlots;
  readonly #hooks: TimerHooks;
  #timer: number | null = null;
  #flushQueued = false;

  constructor(clock: Clock, keys: KeySlots, hooks: TimerHooks) {
    this.#clock = clock;
    this.#keys = keys;
    this.#hooks = hooks;
  }

  /** Handles the deadlines that passed and sets the timer to the earliest one left. */
  arm(): void {
    const hooks = this.#hooks;
    if (hooks.isClosed()) return;
    const now = this.#clock.now();
    const closing = hooks.pendingClose();
    if (closing) {
      const acked = closing.untilAcked && closing.sent && this.#keys.allAcknowledged();
      if (now >= closing.deadline || acked) {
        hooks.expiredClosingGrace();
        return;
      }
    }
    let next = closing ? closing.deadline : Infinity;
    for (const ks of [...this.#keys.all]) {
      if (ks.phase !== "active" && ks.phase !== "failed") {
        const deadline = this.#keys.handshakeDeadline(ks);
        if (now >= deadline) {
          hooks.expiredHandshakeWindow(ks);
          return;
        }
        next = Math.min(next, deadline);
      }
      if (ks.retireAt !== Infinity) {
        if (now >= ks.retireAt) {
          hooks.expiredTransitionWindow(ks);
          continue;
        }
        next = Math.min(next, ks.retireAt);
      }
      next = Math.min(next, ks.reliable.nextWakeup());
    }
    const lifetimeEnd = this.#keys.lifetimeEnd();
    if (lifetimeEnd !== Infinity) {
      if (now >= lifetimeEnd) {
        hooks.expiredKeyLifetime();
        return;
      }
      next = Math.min(next, lifetimeEnd);
    }
    if (hooks.pushRequestAt() !== Infinity) {
      if (now >= hooks.pushRequestAt()) hooks.expiredPushRequest();
      next = Math.min(next, hooks.pushRequestAt());
    }
    this.#set(next, now);
  }

  /** Sends what the reliability layers hold in a microtask (once, however often asked before it runs). */
  scheduleFlush(): void {
    if (this.#flushQueued || this.#hooks.isClosed()) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      this.#hooks.flush();
    });
  }

  /** Like scheduleFlush, and again a macrotask later: TLS emits its records from its own callbacks. */
  flushSoon(): void {
    this.scheduleFlush();
    this.#clock.setTimer(() => this.scheduleFlush(), 0);
  }

  /** The session ended. */
  stop(): void {
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
  }

  #set(next: number, now: number): void {
    this.stop();
    if (next === Infinity) return;
    this.#timer = this.#clock.setTimer(() => {
      this.#timer = null;
      this.#hooks.flush();
    }, Math.max(0, next - now));
  }
}
