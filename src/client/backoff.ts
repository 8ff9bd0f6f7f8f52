/**
 * When and where the client dials next. Pure: time and randomness come in as
 * arguments, so every decision is reproducible in tests.
 *
 * Rules:
 * - A failed attempt moves on to the next remote. Within one pass over the
 *   remotes the next dial waits `initial_delay`; after a whole pass failed,
 *   the wait doubles per failed pass up to `max_delay`, with jitter.
 * - A connection that was up and then lost (keepalive timeout, transport
 *   error) re-dials the same remote first, after `initial_delay`; a
 *   connection that stayed up for at least STABLE_MS also forgets earlier
 *   failures.
 * - A server that says it is going away (RESTART, OCC exit) is re-dialled at
 *   once, the same remote first.
 * - An authentication refusal is not a network problem: it waits `max_delay`
 *   (at least AUTH_RETRY_FLOOR_MS), so a refused client never loops tightly.
 */

import type { Remote } from "../config/schema.ts";
import type { ConnectionEnd } from "./connection.ts";

/** A connection that stayed up this long resets the backoff. */
export const STABLE_MS = 60_000;
/** Minimum wait after AUTH_FAILED whatever max_delay says. */
export const AUTH_RETRY_FLOOR_MS = 30_000;

export interface BackoffSettings {
  /** Seconds. */
  initialDelay: number;
  /** Seconds. */
  maxDelay: number;
}

/**
 * Delay in ms after `failedPasses` complete passes over the remotes failed:
 * base = initial × 2^(passes − 1) capped at max, then "equal jitter" (a
 * uniform pick in [base/2, base]), never below initial nor above max.
 * `random` returns [0, 1).
 */
export function backoffDelayMs(failedPasses: number, s: BackoffSettings, random: () => number): number {
  const initial = s.initialDelay * 1000;
  const max = Math.max(initial, s.maxDelay * 1000);
  if (failedPasses <= 0) return initial;
  const base = Math.min(max, initial * 2 ** Math.min(failedPasses - 1, 40));
  const jittered = base / 2 + random() * (base / 2);
  return Math.round(Math.min(max, Math.max(initial, jittered)));
}

/** Order in which remotes are tried: as configured, or shuffled once (remote_random). */
export function orderRemotes(remotes: readonly Remote[], shuffle: boolean, random: () => number): Remote[] {
  const out = [...remotes];
  if (!shuffle) return out;
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export type Outcome =
  /** The attempt never got to a working tunnel (DNS, refused, timeout, TLS). */
  | { kind: "failed" }
  /** The tunnel was up and then dropped (ping-restart, transport error). */
  | { kind: "lost"; upForMs: number }
  /** The server announced it is going away (RESTART, OCC exit). */
  | { kind: "server-restart"; upForMs: number }
  /** The server refused our credentials (AUTH_FAILED). */
  | { kind: "auth-failed" };

export interface ReconnectState {
  /** Index into the ordered remotes of the one to dial next. */
  remote: number;
  /** Failed attempts in the current pass over the remotes. */
  failedInPass: number;
  /** Complete passes that failed since the last good connection. */
  failedPasses: number;
}

export interface ReconnectDecision {
  state: ReconnectState;
  /** Wait this long, then dial `state.remote`. */
  delayMs: number;
}

export const INITIAL_RECONNECT_STATE: ReconnectState = { remote: 0, failedInPass: 0, failedPasses: 0 };

/** The next dial after `outcome`, for `remoteCount` remotes. */
export function nextAttempt(
  state: ReconnectState,
  outcome: Outcome,
  remoteCount: number,
  s: BackoffSettings,
  random: () => number,
): ReconnectDecision {
  const n = Math.max(1, remoteCount);
  switch (outcome.kind) {
    case "server-restart":
      return { state: { remote: state.remote, failedInPass: 0, failedPasses: 0 }, delayMs: 0 };
    case "lost": {
      const passes = outcome.upForMs >= STABLE_MS ? 0 : state.failedPasses;
      return {
        state: { remote: state.remote, failedInPass: 0, failedPasses: passes },
        delayMs: passes > 0 ? backoffDelayMs(passes, s, random) : s.initialDelay * 1000,
      };
    }
    case "auth-failed": {
      const next = (state.remote + 1) % n;
      const delayMs = Math.max(AUTH_RETRY_FLOOR_MS, s.maxDelay * 1000);
      return { state: { remote: next, failedInPass: 0, failedPasses: state.failedPasses + 1 }, delayMs };
    }
    case "failed": {
      const next = (state.remote + 1) % n;
      const failedInPass = state.failedInPass + 1;
      if (failedInPass < n) {
        return {
          state: { remote: next, failedInPass, failedPasses: state.failedPasses },
          delayMs: s.initialDelay * 1000,
        };
      }
      const failedPasses = state.failedPasses + 1;
      return {
        state: { remote: next, failedInPass: 0, failedPasses },
        delayMs: backoffDelayMs(failedPasses, s, random),
      };
    }
  }
}

/** After a successful connection: this remote first next time, failures forgotten only once stable. */
export function connected(state: ReconnectState): ReconnectState {
  return { remote: state.remote, failedInPass: 0, failedPasses: state.failedPasses };
}

/** A connection end after which the client dials again (nextAttempt decides when and where). */
export type RetryableEnd = Exclude<ConnectionEnd, { kind: "stopped" | "fatal" | "halt" }>;

/** What backoff.ts needs to know about how a connection ended (a dead server is re-dialled at once). */
export function outcomeOf(end: RetryableEnd): Outcome {
  if (end.kind === "lost" && end.deadPeer) return { kind: "server-restart", upForMs: end.upForMs };
  return end.kind === "lost" || end.kind === "server-restart"
    ? { kind: end.kind, upForMs: end.upForMs }
    : { kind: end.kind };
}
