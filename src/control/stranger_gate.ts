/**
 * The listener's door for packets that name no session (strangers). It
 * authenticates and decodes them, applies the reset rates, answers UDP resets
 * statelessly (reset_cookie.ts), and tells the listener when a stranger has
 * earned a session. It keeps nothing per stranger besides the bounded
 * per-source rate table (source_buckets.ts).
 *
 *   P_CONTROL_HARD_RESET_CLIENT_V2 ─ verify ─ per-source bucket ─┬─ UDP: answer bucket → one stateless answer
 *                                                               └─ TCP (or cookies off): open
 *   P_CONTROL_V1 / P_ACK_V1 (UDP) ── verify ─ acks our cookie? ──── open, past the reset exchange
 *   (also a repeated reset carrying such an ack)
 *
 * Rates (token buckets; no config keys, defaults in GateOptions): resets per
 * source address 8/s, burst 32 — a NAT full of clients reconnecting at once
 * still gets in, a spoofed victim receives at most 32 answers and then 8 a
 * second; stateless answers overall 1000/s, of which the last quarter of the
 * burst (250) is kept for newcomers: a source that sent at most one reset
 * within its burst time (32 / 8 = 4 s), as a client dialling in does (its
 * retransmissions every 2 s included). A flood from many addresses that keep
 * sending then drains only the shared part, and a client's reset is still
 * answered at once (tests/e2e/flood_connect_test.ts measured 4.4 s to connect
 * without the reserve, the first reset lost to the global cap).
 */

import type { Clock } from "./clock.ts";
import { ControlPacket, decodeControlPacket } from "./control_packet.ts";
import { type ControlWrap, WrapResult } from "./control_wrap.ts";
import {
  DROP_BAD_COOKIE,
  DROP_MALFORMED,
  DROP_RATE_LIMITED,
  DROP_SOURCE_RATE_LIMITED,
  DROP_UNKNOWN_SESSION,
  VERDICT_OK,
} from "./drop_counters.ts";
import { keyIdOf, opcodeOf, P_ACK_V1, P_CONTROL_HARD_RESET_CLIENT_V2, P_CONTROL_V1 } from "./opcode.ts";
import {
  completesCookieExchange,
  COOKIE_REPLY_PACKET_ID,
  COOKIE_REPLY_PLAIN_BYTES,
  encodeCookieReply,
  ResetCookies,
} from "./reset_cookie.ts";
import { SourceBuckets, sourceKeyOf, TokenBucket } from "./source_buckets.ts";

export type TransportKind = "udp" | "tcp";

export interface GateOptions {
  wrap: ControlWrap;
  clock: Clock;
  /** Randomness for the cookie key. */
  random: (n: number) => Uint8Array;
  /** The handshake window; cookies live 1 to 1.5 of it. */
  handshakeWindowMs: number;
  /**
   * UDP: answer resets statelessly and open a session only once the peer acknowledges the answer, as
   * OpenVPN 2.6 does (false: open it at the reset, as over TCP). @default true
   */
  resetCookies?: boolean;
  /**
   * Stateless answers per second, all sources together; the last quarter of the burst only for sources that
   * sent no other reset within their burst time (newcomers). @default 1000
   */
  resetReplyRate?: number;
  /** @default 1000 */
  resetReplyBurst?: number;
  /** Resets per second from one source address (IPv4 address, IPv6 /64), either transport. @default 8 */
  sourceResetRate?: number;
  /** @default 32 */
  sourceResetBurst?: number;
  /** Sources whose reset rate is remembered; past it one not used lately is forgotten. @default 4096 */
  sourceTableSize?: number;
}

/** What the gate did, for status output. */
export class GateStats {
  /** Stateless answers sent to resets. */
  cookieReplies = 0;
  /** Sessions created because a peer acknowledged a stateless answer (counted by the listener). */
  cookieSessions = 0;

  record(): Record<string, number> {
    return { reset_cookies_sent: this.cookieReplies, reset_cookies_verified: this.cookieSessions };
  }
}

/** The session ids a peer proved through the cookie exchange. */
export interface AnsweredReset {
  serverSid: Uint8Array;
  clientSid: Uint8Array;
}

/**
 * Whether a packet naming no session, with this first byte, could get past the
 * gate's opcode and key-id checks (a client reset, or over UDP an answer to a
 * cookie, key-id 0): everything else admit() refuses as unknown_session before
 * any crypto, so a caller may refuse it the same way without asking.
 */
export function mayConcernGate(firstByte: number): boolean {
  const op = opcodeOf(firstByte);
  return keyIdOf(firstByte) === 0 &&
    (op === P_CONTROL_HARD_RESET_CLIENT_V2 || op === P_CONTROL_V1 || op === P_ACK_V1);
}

function isAllZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

export class StrangerGate {
  readonly stats = new GateStats();
  /**
   * After admit() returned VERDICT_OK: true when the listener should open a session for the packet (false:
   * it was answered and nothing more happens).
   */
  opens = false;
  /** With `opens`: the session ids proven by the cookie exchange, or null for a session opened at a reset. */
  answered: AnsweredReset | null = null;
  readonly #wrap: ControlWrap;
  readonly #clock: Clock;
  readonly #scratch = new Uint8Array(65600);
  readonly #wrapResult = new WrapResult();
  readonly #pkt = new ControlPacket();
  readonly #replies: TokenBucket;
  /** Answer tokens only newcomers may take. */
  readonly #newcomerReserve: number;
  readonly #sourceBurst: number;
  readonly #sources: SourceBuckets;
  readonly #cookies: ResetCookies | null;
  readonly #replyPlain = new Uint8Array(COOKIE_REPLY_PLAIN_BYTES);
  readonly #replyWire = new Uint8Array(COOKIE_REPLY_PLAIN_BYTES + 128);

  constructor(o: GateOptions) {
    this.#wrap = o.wrap;
    this.#clock = o.clock;
    const replyBurst = o.resetReplyBurst ?? 1000;
    this.#replies = new TokenBucket(o.resetReplyRate ?? 1000, replyBurst, o.clock.now());
    this.#newcomerReserve = Math.floor(replyBurst / 4);
    this.#sourceBurst = o.sourceResetBurst ?? 32;
    this.#sources = new SourceBuckets({
      rate: o.sourceResetRate ?? 8,
      burst: this.#sourceBurst,
      capacity: o.sourceTableSize ?? 4096,
    });
    this.#cookies = o.resetCookies === false
      ? null
      : new ResetCookies({ random: o.random, handshakeWindowMs: o.handshakeWindowMs });
  }

  /** Source addresses whose reset rate is being tracked. */
  get trackedSources(): number {
    return this.#sources.size;
  }

  /**
   * Whether this control packet naming no session may go further: VERDICT_OK (see `opens`) or a DROP_*
   * reason. Sends the stateless answer through `reply` itself. Returns DROP_UNKNOWN_SESSION for
   * opcodes it has no use for.
   */
  admit(
    transport: TransportKind,
    linkKey: string,
    remote: string,
    reply: (packet: Uint8Array) => void,
    buf: Uint8Array,
    off: number,
    len: number,
  ): number {
    this.opens = false;
    this.answered = null;
    const op = opcodeOf(buf[off]);
    const isReset = op === P_CONTROL_HARD_RESET_CLIENT_V2;
    const cookies = transport === "udp" ? this.#cookies : null;
    if (!isReset && !(cookies && (op === P_CONTROL_V1 || op === P_ACK_V1))) return DROP_UNKNOWN_SESSION;
    const v = this.#decode(buf, off, len);
    if (v !== VERDICT_OK) return v;
    // A retransmitted reset repeats the client's acks: one naming a live cookie completes the exchange
    // (a stock client whose ack of our answer was lost has nothing else to send); any other is answered.
    if (isReset && !(cookies && this.#pkt.ackCount > 0 && this.#acksLiveCookie(cookies, linkKey))) {
      return this.#reset(transport, linkKey, remote, reply);
    }
    return this.#cookieAnswer(cookies!, linkKey);
  }

  /** Whether the decoded packet acknowledges a cookie issued to `linkKey` that is still valid. */
  #acksLiveCookie(cookies: ResetCookies, linkKey: string): boolean {
    const pkt = this.#pkt;
    return completesCookieExchange(pkt) &&
      cookies.matches(linkKey, pkt.sessionId, pkt.remoteSessionId, this.#clock.now());
  }

  /** Authenticates and decodes into #pkt, changing nothing else. */
  #decode(buf: Uint8Array, off: number, len: number): number {
    if (keyIdOf(buf[off]) !== 0) return DROP_UNKNOWN_SESSION;
    const v = this.#wrap.unwrap(buf, off, len, this.#scratch, this.#wrapResult);
    if (v !== VERDICT_OK) return v;
    const r = this.#wrapResult;
    return decodeControlPacket(r.buffer, r.offset, r.length, this.#pkt);
  }

  /** A decoded (in #pkt) client hard reset. */
  #reset(
    transport: TransportKind,
    linkKey: string,
    remote: string,
    reply: (packet: Uint8Array) => void,
  ): number {
    const pkt = this.#pkt;
    // Acks on a reset name an answer of ours that expired (or is forged): the reset is answered afresh.
    if (pkt.messageId !== 0) return DROP_MALFORMED;
    if (isAllZero(pkt.sessionId)) return DROP_MALFORMED; // OpenVPN: an undefined session id
    const now = this.#clock.now();
    if (!this.#sources.take(sourceKeyOf(remote), now)) return DROP_SOURCE_RATE_LIMITED;
    if (!this.#cookies || transport !== "udp") {
      this.opens = true;
      return VERDICT_OK;
    }
    const newcomer = this.#sources.left >= this.#sourceBurst - 1;
    if (!this.#replies.take(now, newcomer ? 0 : this.#newcomerReserve)) return DROP_RATE_LIMITED;
    // One answer, nothing kept: our session id is a cookie only `linkKey` can learn.
    const clientSid = pkt.sessionId;
    const n = encodeCookieReply(this.#replyPlain, this.#cookies.issue(linkKey, clientSid, now));
    const time = Math.floor(now / 1000) >>> 0;
    const w = this.#wrap.wrap(this.#replyPlain, n, COOKIE_REPLY_PACKET_ID, time, this.#replyWire);
    this.stats.cookieReplies++;
    reply(this.#replyWire.slice(0, w));
    return VERDICT_OK;
  }

  /** A decoded (in #pkt) P_CONTROL_V1/P_ACK_V1 that may answer our cookie. */
  #cookieAnswer(cookies: ResetCookies, linkKey: string): number {
    const pkt = this.#pkt;
    // Without acks it names no session of ours: a stray packet, e.g. from before a restart.
    if (pkt.ackCount === 0) return DROP_UNKNOWN_SESSION;
    const now = this.#clock.now();
    if (!completesCookieExchange(pkt) || !cookies.matches(linkKey, pkt.sessionId, pkt.remoteSessionId, now)) {
      return DROP_BAD_COOKIE;
    }
    this.opens = true;
    this.answered = { serverSid: pkt.remoteSessionId.slice(), clientSid: pkt.sessionId.slice() };
    return VERDICT_OK;
  }
}
