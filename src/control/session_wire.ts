/**
 * The wire side of one control session: tls-auth / tls-crypt (control_wrap.ts) around the control packet
 * codec (control_packet.ts), both session ids, the replay guard on what arrives and the packet-id counter
 * of what leaves.
 *
 * A received packet is first checked (check: authentic, from the known peer, addressed to us, not a
 * replay); the session then decides whether it accepts it, and only accept() changes state (the replay
 * window, the peer's session id learned from its first packet). A dropped packet changes nothing.
 *
 * Client: the server's session id is trusted only once a packet carrying it acknowledges ours under our
 * own session id, which a blind attacker cannot know. A stock server's reset does that at once; a tsvpn
 * server's stateless answer carries no ack (it may not outweigh the reset, reset_cookie.ts), so its id is
 * held provisionally: acknowledged, replaced by any later ack-less reset (message 0 of key 0), and
 * confirmed by the first packet that proves it saw our reset — from one of the last few ids held, or a
 * stock server's acknowledging reset. TLS starts on confirmation (key_negotiation.ts), so a
 * forged reset pins nothing and costs the real handshake nothing.
 */

import type { Clock } from "./clock.ts";
import { ControlPacket, decodeControlPacket, encodeControlPacket } from "./control_packet.ts";
import { type ControlWrap, WrapResult } from "./control_wrap.ts";
import {
  DROP_MALFORMED,
  DROP_REPLAY,
  DROP_SESSION_MISMATCH,
  DROP_UNEXPECTED,
  VERDICT_OK,
} from "./drop_counters.ts";
import {
  P_ACK_V1,
  P_CONTROL_HARD_RESET_CLIENT_V2,
  P_CONTROL_HARD_RESET_SERVER_V2,
  SESSION_ID_SIZE,
} from "./opcode.ts";
import type { OutgoingControl } from "./reliable.ts";
import { ControlReplayGuard } from "./replay_guard.ts";
import type { Role } from "./session_types.ts";

const SCRATCH = 65600;
const plainScratch = new Uint8Array(SCRATCH);
const wireScratch = new Uint8Array(SCRATCH);
const unwrapScratch = new Uint8Array(SCRATCH);
/** The ack of a server's reset: its message 0. */
const RESET_ACK = [0];
/**
 * The packet check() decodes into, shared by every session of this thread like the buffers above (its payload
 * points into unwrapScratch anyway): a session reads it synchronously right after check(), before any other
 * packet is checked. One per session cost ~1 KiB each (three typed arrays and their backing stores).
 */
const packetScratch = new ControlPacket();

function isAllZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

export function acksInclude(pkt: ControlPacket, id: number): boolean {
  for (let i = 0; i < pkt.ackCount; i++) if (pkt.acks[i] === id) return true;
  return false;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The hard reset that opens a session from `role`'s peer. */
export function peerHardReset(role: Role): number {
  return role === "server" ? P_CONTROL_HARD_RESET_CLIENT_V2 : P_CONTROL_HARD_RESET_SERVER_V2;
}

/**
 * The last few session ids seen, in a fixed ring: a forged ack-less reset that replaces the real server's
 * must not make the real server's proof, which follows, unacceptable.
 */
class RecentSessionIds {
  readonly #ids: Uint8Array[];
  #next = 0;
  #count = 0;

  constructor(size: number) {
    this.#ids = Array.from({ length: size }, () => new Uint8Array(SESSION_ID_SIZE));
  }

  has(sid: Uint8Array): boolean {
    const id = sid.subarray(0, SESSION_ID_SIZE);
    for (let i = 0; i < this.#count; i++) if (sameBytes(this.#ids[i], id)) return true;
    return false;
  }

  add(sid: Uint8Array): void {
    if (this.has(sid)) return;
    this.#ids[this.#next].set(sid.subarray(0, SESSION_ID_SIZE));
    this.#next = (this.#next + 1) % this.#ids.length;
    this.#count = Math.min(this.#count + 1, this.#ids.length);
  }
}

/** How far the peer's session id is trusted. */
const REMOTE_UNKNOWN = 0;
/** Client: from an ack-less server reset; any later ack-less reset or proof replaces it. */
const REMOTE_PROVISIONAL = 1;
/** Server: from the peer's reset or cookie. Client: the sender proved it received our reset. */
const REMOTE_CONFIRMED = 2;

/** What accept() does with the sender of the packet check() passed. */
const KEEP = 0;
const PIN_PROVISIONAL = 1;
const PIN_CONFIRMED = 2;

export class ControlWire {
  readonly localSessionId: Uint8Array;
  /** The packet check() decoded; valid until the next check() of any session (shared scratch). */
  readonly packet = packetScratch;
  readonly #remoteSessionId = new Uint8Array(SESSION_ID_SIZE);
  #remote = REMOTE_UNKNOWN;
  /** Set by check() for accept(): KEEP, PIN_PROVISIONAL or PIN_CONFIRMED. */
  #pin = KEEP;
  /** Set by check(): the packet comes from another session id than the one held (a new replay window). */
  #newSender = false;
  /** Set by accept(): this packet confirmed the peer's session id. */
  #justConfirmed = false;
  /** Client: the session ids of the last ack-less server resets held; a proof from any of them confirms it. */
  #candidates: RecentSessionIds | null = null;
  /** Client: the held reset accept() took last, to acknowledge under its own id (sendResetAck). */
  #resetAckTo: Uint8Array | null = null;
  #resetAckDue = false;
  readonly #role: Role;
  readonly #wrap: ControlWrap;
  readonly #send: (packet: Uint8Array) => void;
  readonly #guard = new ControlReplayGuard();
  readonly #unwrapped = new WrapResult();
  #sendPid = 0;
  readonly #wrapTime: number;

  constructor(
    role: Role,
    wrap: ControlWrap,
    localSessionId: Uint8Array,
    clock: Clock,
    send: (packet: Uint8Array) => void,
  ) {
    this.#role = role;
    this.#wrap = wrap;
    this.localSessionId = localSessionId;
    this.#send = send;
    this.#wrapTime = Math.floor(clock.now() / 1000) >>> 0;
  }

  /** True once the peer's session id is known (client: provisionally or confirmed). */
  get remoteKnown(): boolean {
    return this.#remote !== REMOTE_UNKNOWN;
  }

  /** True once the peer's session id is trusted (see the header). */
  get remoteConfirmed(): boolean {
    return this.#remote === REMOTE_CONFIRMED;
  }

  /** True when the packet accept() took last confirmed the peer's session id. */
  get justConfirmed(): boolean {
    return this.#justConfirmed;
  }

  /** The peer's session id (all zero until known); the live buffer, not a copy. */
  get remoteSessionId(): Uint8Array {
    return this.#remoteSessionId;
  }

  /**
   * Server, cookie-started session (reset_cookie.ts): the peer's session id is known and our stateless
   * answer used wrap packet id `packetId`.
   */
  resume(remoteSessionId: Uint8Array, packetId: number): void {
    this.#remoteSessionId.set(remoteSessionId.subarray(0, SESSION_ID_SIZE));
    this.#remote = REMOTE_CONFIRMED;
    this.#sendPid = packetId >>> 0;
  }

  /** Unwraps and decodes a packet into `packet`; VERDICT_OK or the DROP_* reason. Changes nothing. */
  check(wire: Uint8Array, off: number, len: number): number {
    const res = this.#unwrapped;
    let v = this.#wrap.unwrap(wire, off, len, unwrapScratch, res);
    if (v !== VERDICT_OK) return v;
    const pkt = this.packet;
    v = decodeControlPacket(res.buffer, res.offset, res.length, pkt);
    if (v !== VERDICT_OK) return v;
    v = this.#checkSender(pkt);
    if (v !== VERDICT_OK) return v;
    if (this.#wrap.mode !== "none" && !this.#replayFree(res.packetId, res.time)) return DROP_REPLAY;
    return VERDICT_OK;
  }

  /** A new sender starts a fresh replay window: what the replaced one sent says nothing about it. */
  #replayFree(packetId: number, time: number): boolean {
    return this.#newSender ? packetId !== 0 : this.#guard.check(packetId, time);
  }

  /** Who may send what: the peer's role, its session id, and acks that name us. Sets #pin. */
  #checkSender(pkt: ControlPacket): number {
    this.#pin = KEEP;
    this.#newSender = false;
    const op = pkt.opcode;
    if (this.#role === "server" && op === P_CONTROL_HARD_RESET_SERVER_V2) return DROP_UNEXPECTED;
    if (this.#role === "client" && op === P_CONTROL_HARD_RESET_CLIENT_V2) return DROP_UNEXPECTED;
    if (pkt.ackCount > 0 && !sameBytes(pkt.remoteSessionId, this.localSessionId)) {
      return DROP_SESSION_MISMATCH;
    }
    const known = this.#remote !== REMOTE_UNKNOWN && sameBytes(pkt.sessionId, this.#remoteSessionId);
    this.#newSender = !known;
    if (this.#remote === REMOTE_CONFIRMED) return known ? VERDICT_OK : DROP_SESSION_MISMATCH;
    if (this.#role === "server") return this.#checkOpener(pkt, PIN_CONFIRMED);
    // Client, server not yet trusted. An ack under our session id proves the sender saw our reset: a stock
    // server's reset, or a later packet from a server whose ack-less reset we hold.
    if (pkt.ackCount > 0) {
      if (this.#remote === REMOTE_PROVISIONAL && this.#candidates?.has(pkt.sessionId)) {
        this.#pin = PIN_CONFIRMED;
        return VERDICT_OK;
      }
      return this.#checkOpener(pkt, PIN_CONFIRMED);
    }
    if (op === P_CONTROL_HARD_RESET_SERVER_V2 && !known) return this.#checkOpener(pkt, PIN_PROVISIONAL);
    return known ? VERDICT_OK : DROP_SESSION_MISMATCH;
  }

  /** The peer's first packet: its hard reset (client: message 0 of key 0), with a defined session id. */
  #checkOpener(pkt: ControlPacket, pin: number): number {
    if (pkt.opcode !== peerHardReset(this.#role)) return DROP_UNEXPECTED;
    if (this.#role === "client" && (pkt.keyId !== 0 || pkt.messageId !== 0)) return DROP_UNEXPECTED;
    // OpenVPN refuses an undefined (all-zero) session id.
    if (isAllZero(pkt.sessionId)) return DROP_MALFORMED;
    this.#pin = pin;
    return VERDICT_OK;
  }

  /** The session accepted the packet check() passed: record its replay id and learn the peer's session id. */
  accept(): void {
    const res = this.#unwrapped;
    this.#justConfirmed = false;
    if (this.#pin !== KEEP) {
      if (this.#newSender) this.#guard.reset();
      this.#remoteSessionId.set(this.packet.sessionId);
      if (this.#pin === PIN_PROVISIONAL) {
        (this.#candidates ??= new RecentSessionIds(4)).add(this.packet.sessionId);
      }
      this.#justConfirmed = this.#pin === PIN_CONFIRMED;
      this.#remote = this.#justConfirmed ? REMOTE_CONFIRMED : REMOTE_PROVISIONAL;
      this.#pin = KEEP;
    }
    if (this.#wrap.mode !== "none") this.#guard.commit(res.packetId, res.time);
    if (this.#remote === REMOTE_PROVISIONAL && this.packet.opcode === P_CONTROL_HARD_RESET_SERVER_V2) {
      (this.#resetAckTo ??= new Uint8Array(SESSION_ID_SIZE)).set(this.packet.sessionId);
      this.#resetAckDue = true;
    }
  }

  /**
   * Client: acknowledges a held ack-less server reset at once, under that reset's own session id (the
   * session calls this once it is done with the shared decoded packet). The ack the reliability layer owes
   * goes out later under whichever id is held then; a forged reset arriving in between must not leave the
   * real server's answer unacknowledged.
   */
  sendResetAck(): void {
    if (!this.#resetAckDue) return;
    this.#resetAckDue = false;
    const serverSid = this.#resetAckTo!;
    const n = encodeControlPacket(
      plainScratch,
      0,
      P_ACK_V1,
      0,
      this.localSessionId,
      RESET_ACK,
      1,
      serverSid,
      -1,
      null,
    );
    this.#sendPid = (this.#sendPid + 1) >>> 0;
    const w = this.#wrap.wrap(plainScratch, n, this.#sendPid, this.#wrapTime, wireScratch);
    this.#send(wireScratch.slice(0, w));
  }

  /** Session ids, send packet-id and replay guard as text, for tests proving a dropped packet changed nothing. */
  snapshot(): string {
    const sid = this.#remote !== REMOTE_UNKNOWN
      ? Array.from(this.#remoteSessionId, (b) => b.toString(16)).join(".")
      : "-";
    return `remote=${sid}/${this.#remote} sendPid=${this.#sendPid} guard=${this.#guard.snapshot()}`;
  }

  /** Encodes, wraps and sends one outgoing message of key `keyId`; false when it does not encode. */
  send(keyId: number, o: OutgoingControl): boolean {
    const n = encodeControlPacket(
      plainScratch,
      0,
      o.opcode,
      keyId,
      this.localSessionId,
      o.acks,
      o.acks.length,
      this.#remoteSessionId,
      o.messageId,
      o.payload,
    );
    if (n < 0) return false;
    this.#sendPid = (this.#sendPid + 1) >>> 0;
    const w = this.#wrap.wrap(plainScratch, n, this.#sendPid, this.#wrapTime, wireScratch);
    this.#send(wireScratch.slice(0, w));
    return true;
  }
}
