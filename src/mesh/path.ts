/**
 * One pair's path choice, seen from one side: a sans-IO state machine driven
 * by authenticated events and `tick(now)`; it sends probes through a hook and
 * never touches sockets or timers itself (the owner calls `tick` at
 * `nextDeadline()`).
 *
 *   punching ── first REPLY to an outstanding probe ──▶ direct(endpoint)
 *      │  ▲                                                │   │
 *      │  └──── keepalive/re-probe round got no REPLY ◀────┘   │ REPLY from another
 *      ▼  (punch timeout)                                      │ endpoint: switch
 *   relayed ── retry timer (backoff) or a packet from the peer ─▶ punching
 *
 * - A round sends a PROBE to each of its targets at once, again every
 *   `probeIntervalMs`, until a REPLY or `punchTimeoutMs`. Punching targets
 *   every candidate: the server-observed public endpoint, the peer's reported
 *   local endpoints, and peer-reflexive ones (sources of authenticated packets).
 * - While direct, a keepalive round probes the selected endpoint every
 *   `keepaliveMs` (keeping NAT mappings alive and measuring the RTT). An
 *   authenticated packet from another endpoint (NAT rebinding, roaming) or a
 *   re-introduction by the server start a re-probe round over the new
 *   endpoints and the current one; data keeps flowing on the current one until a REPLY
 *   picks. A direct-state round without any REPLY means the path is lost.
 *   `suspect` (data sent, nothing heard) runs the keepalive round early.
 * - Relayed: retry after `retryMs`, doubling up to `retryMaxMs`; any
 *   authenticated packet from the peer (it is probing us) starts a round at once.
 * Only a REPLY echoing a probe id still outstanding moves the path; the
 * caller has already authenticated it and refused replays.
 */

import { type Endpoint, endpointEquals, endpointKey, isUsableCandidate } from "./endpoint.ts";

export interface PathTimings {
  keepaliveMs: number;
  punchTimeoutMs: number;
  probeIntervalMs: number;
  retryMs: number;
  retryMaxMs: number;
}

export const DEFAULT_PATH_TIMINGS: Readonly<PathTimings> = {
  keepaliveMs: 25_000,
  punchTimeoutMs: 5_000,
  probeIntervalMs: 1_000,
  retryMs: 30_000,
  retryMaxMs: 15 * 60_000,
};

/** Peer-reflexive candidates kept (the oldest is forgotten first). */
export const MAX_REFLEXIVE = 4;
/** Probes remembered for matching replies. */
const OUTSTANDING = 32;

export type PathState = "punching" | "direct" | "relayed" | "closed";

export interface PathSnapshot {
  path: "direct" | "relayed";
  state: PathState;
  endpoint: Endpoint | null;
  rttMs: number | null;
  /** Our own endpoint as the peer saw our last answered probe. */
  observed: Endpoint | null;
}

export interface PathChange {
  path: "direct" | "relayed";
  endpoint: Endpoint | null;
  previous: Endpoint | null;
  reason: string;
}

export interface PathHooks {
  /** Seal and send a PROBE carrying `probeId` to `to`. */
  sendProbe(to: Endpoint, probeId: number): void;
  /** The path kind or the direct endpoint changed (for logs and state reports). */
  changed(change: PathChange): void;
}

interface Round {
  targets: Endpoint[];
  deadline: number;
  nextSendAt: number;
  startedDirect: boolean;
}

export class PathMachine {
  readonly #t: PathTimings;
  readonly #hooks: PathHooks;
  readonly #randomId: () => number;
  #state: PathState = "relayed";
  #endpoint: Endpoint | null = null;
  #candidates: Endpoint[] = [];
  #reflexive: Endpoint[] = [];
  #round: Round | null = null;
  #keepaliveAt = Infinity;
  #retryAt = Infinity;
  #retryDelay: number;
  #rttMs: number | null = null;
  #observed: Endpoint | null = null;
  readonly #probeIds = new Float64Array(OUTSTANDING);
  readonly #probeSentAt = new Float64Array(OUTSTANDING);
  #probeNext = 0;

  constructor(options: { timings?: Partial<PathTimings>; hooks: PathHooks; randomId: () => number }) {
    this.#t = { ...DEFAULT_PATH_TIMINGS, ...options.timings };
    for (const [k, v] of Object.entries(this.#t)) {
      if (!Number.isFinite(v) || v <= 0) throw new RangeError(`Path timing ${k} must be > 0`);
    }
    this.#hooks = options.hooks;
    this.#randomId = options.randomId;
    this.#retryDelay = this.#t.retryMs;
  }

  get state(): PathState {
    return this.#state;
  }

  /** The selected endpoint while direct, else null. */
  get endpoint(): Endpoint | null {
    return this.#state === "direct" ? this.#endpoint : null;
  }

  snapshot(): PathSnapshot {
    return {
      path: this.#state === "direct" ? "direct" : "relayed",
      state: this.#state,
      endpoint: this.endpoint,
      rttMs: this.#rttMs,
      observed: this.#observed,
    };
  }

  /** When `tick` next has something to do (Infinity when nothing is scheduled). */
  nextDeadline(): number {
    if (this.#state === "closed") return Infinity;
    if (this.#round !== null) return Math.min(this.#round.deadline, this.#round.nextSendAt);
    return this.#state === "direct" ? this.#keepaliveAt : this.#retryAt;
  }

  /** Sets the server-provided candidates (public endpoint first) and starts punching. */
  start(candidates: readonly Endpoint[], now: number): void {
    this.#candidates = usable(candidates);
    this.#beginRound(this.#allTargets(), now, "punching");
  }

  /**
   * The server re-introduced the pair (new keys, or a member's endpoint or
   * routes changed): take its candidates and probe them all, and the current
   * endpoint, at once. A direct path keeps carrying data until an answer picks.
   */
  reprobe(candidates: readonly Endpoint[], now: number): void {
    if (this.#state === "closed") return;
    this.#candidates = usable(candidates);
    const direct = this.#state === "direct";
    this.#beginRound(this.#allTargets(direct ? this.#endpoint : null), now, direct ? "direct" : "punching");
  }

  /**
   * Any authenticated, fresh packet from `from` (data, probe or reply). A new
   * source becomes a candidate and is probed; while direct, a source other
   * than the selected endpoint starts a re-probe; while relayed, the peer is
   * evidently sending directly, so a round starts at once.
   */
  onAuthenticated(from: Endpoint, now: number): void {
    if (this.#state === "closed" || !isUsableCandidate(from)) return;
    if (!this.#isCandidate(from)) this.#addReflexive(from);
    const round = this.#round;
    if (round !== null) {
      if (!round.targets.some((t) => endpointEquals(t, from))) {
        round.targets.push(from);
        this.#sendProbe(from, now);
      }
    } else if (this.#state !== "direct") {
      this.#beginRound(this.#allTargets(), now, "punching");
    } else if (!endpointEquals(from, this.#endpoint!)) {
      this.#beginRound([from, this.#endpoint!], now, "direct");
    }
  }

  /**
   * A REPLY from `from` echoing `probeId`, with our endpoint as the peer saw
   * it. Returns false (nothing changes) unless it answers an outstanding probe.
   */
  onReply(probeId: number, from: Endpoint, observed: Endpoint | null, now: number): boolean {
    if (this.#state === "closed" || !isUsableCandidate(from)) return false;
    const i = this.#probeIds.indexOf(probeId);
    if (probeId === 0 || i < 0 || now - this.#probeSentAt[i] > 2 * this.#t.punchTimeoutMs) return false;
    this.#probeIds.fill(0); // the first answer picks: later answers to the same round are stale
    this.#rttMs = Math.max(0, now - this.#probeSentAt[i]);
    this.#observed = observed;
    if (!this.#isCandidate(from)) this.#addReflexive(from);
    const previous = this.#state === "direct" ? this.#endpoint : null;
    const moved = previous === null || !endpointEquals(previous, from);
    this.#state = "direct";
    this.#endpoint = from;
    this.#round = null;
    this.#keepaliveAt = now + this.#t.keepaliveMs;
    this.#retryDelay = this.#t.retryMs;
    if (moved) {
      this.#hooks.changed({
        path: "direct",
        endpoint: from,
        previous,
        reason: previous === null ? "probe answered" : "endpoint changed",
      });
    }
    return true;
  }

  /**
   * Data went out on the direct path and nothing authenticated came back for
   * a while (the owner's liveness check): probe the selected endpoint now,
   * rather than at the next keepalive, so a dead path is noticed within
   * seconds and the pair falls back to the relay.
   */
  suspect(now: number): void {
    if (this.#state === "direct" && this.#round === null) this.#beginRound([this.#endpoint!], now, "direct");
  }

  /** Runs whatever is due: probe resends, round timeouts, keepalives, retries. */
  tick(now: number): void {
    if (this.#state === "closed") return;
    const round = this.#round;
    if (round !== null) {
      if (now >= round.deadline) this.#roundFailed(round, now);
      else if (now >= round.nextSendAt) this.#sendRound(round, now);
      return;
    }
    if (this.#state === "direct" && now >= this.#keepaliveAt) {
      this.#beginRound([this.#endpoint!], now, "direct");
    } else if (this.#state === "relayed" && now >= this.#retryAt) {
      this.#beginRound(this.#allTargets(), now, "punching");
    }
  }

  /** Stops everything (pair closed: revoked, peer left, our session ended). */
  close(): void {
    this.#state = "closed";
    this.#round = null;
    this.#endpoint = null;
    this.#probeIds.fill(0);
  }

  #beginRound(targets: Endpoint[], now: number, state: "punching" | "direct"): void {
    if (targets.length === 0) {
      if (state === "punching") this.#becomeRelayed(now, "no usable candidate");
      return;
    }
    if (state === "punching" && this.#state !== "direct") this.#state = "punching";
    const round: Round = {
      targets: dedupe(targets),
      deadline: now + this.#t.punchTimeoutMs,
      nextSendAt: now,
      startedDirect: this.#state === "direct",
    };
    this.#round = round;
    this.#sendRound(round, now);
  }

  #sendRound(round: Round, now: number): void {
    for (const target of round.targets) this.#sendProbe(target, now);
    round.nextSendAt = now + this.#t.probeIntervalMs;
  }

  #sendProbe(target: Endpoint, now: number): void {
    let id = this.#randomId() >>> 0;
    if (id === 0) id = 1;
    this.#probeIds[this.#probeNext] = id;
    this.#probeSentAt[this.#probeNext] = now;
    this.#probeNext = (this.#probeNext + 1) % OUTSTANDING;
    this.#hooks.sendProbe(target, id);
  }

  #roundFailed(round: Round, now: number): void {
    this.#round = null;
    if (round.startedDirect && this.#state === "direct") {
      // The selected path stopped answering: lose it, then punch every candidate once more.
      const previous = this.#endpoint;
      this.#state = "punching";
      this.#endpoint = null;
      this.#hooks.changed({
        path: "relayed",
        endpoint: null,
        previous,
        reason: "direct path stopped answering",
      });
      this.#beginRound(this.#allTargets(previous), now, "punching");
      return;
    }
    this.#becomeRelayed(now, `no answer within ${this.#t.punchTimeoutMs} ms`);
  }

  /** Punching gave up: stay relayed, retry later (the path kind did not change, but the attempt is logged). */
  #becomeRelayed(now: number, why: string): void {
    this.#state = "relayed";
    this.#retryAt = now + this.#retryDelay;
    this.#hooks.changed({
      path: "relayed",
      endpoint: null,
      previous: null,
      reason: `${why}; retrying in ${Math.round(this.#retryDelay / 1000)} s`,
    });
    this.#retryDelay = Math.min(this.#retryDelay * 2, this.#t.retryMaxMs);
  }

  #allTargets(extra: Endpoint | null = null): Endpoint[] {
    const all = [...this.#candidates, ...this.#reflexive];
    if (extra !== null) all.push(extra);
    return dedupe(all);
  }

  #isCandidate(e: Endpoint): boolean {
    return this.#candidates.some((c) => endpointEquals(c, e)) ||
      this.#reflexive.some((c) => endpointEquals(c, e));
  }

  #addReflexive(e: Endpoint): void {
    this.#reflexive.push(e);
    if (this.#reflexive.length > MAX_REFLEXIVE) this.#reflexive.shift();
  }
}

function usable(list: readonly Endpoint[]): Endpoint[] {
  return dedupe(list.filter(isUsableCandidate));
}

function dedupe(list: readonly Endpoint[]): Endpoint[] {
  const seen = new Set<string>();
  return list.filter((e) => {
    const k = endpointKey(e);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
