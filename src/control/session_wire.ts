/**
 * The wire side of one control session: tls-auth / tls-crypt (control_wrap.ts) around the control packet
 * codec (control_packet.ts), both session ids, the replay guard on what arrives and the packet-id counter
 * of what leaves.
 *
 * A received packet is first checked (check: authentic, from the known peer, addressed to us, not a
 * replay); the session then decides whether it accepts it, and only accept() changes state (the replay
 * window, the peer's session id learned from its first packet). A dropped packet changes nothing.
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
import { P_CONTROL_HARD_RESET_CLIENT_V2, P_CONTROL_HARD_RESET_SERVER_V2, SESSION_ID_SIZE } from "./opcode.ts";
import type { OutgoingControl } from "./reliable.ts";
import { ControlReplayGuard } from "./replay_guard.ts";
import type { Role } from "./session_types.ts";

const SCRATCH = 65600;
const plainScratch = new Uint8Array(SCRATCH);
const wireScratch = new Uint8Array(SCRATCH);
const unwrapScratch = new Uint8Array(SCRATCH);
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

export class ControlWire {
  readonly localSessionId: Uint8Array;
  /** The packet check() decoded; valid until the next check() of any session (shared scratch). */
  readonly packet = packetScratch;
  readonly #remoteSessionId = new Uint8Array(SESSION_ID_SIZE);
  #remoteKnown = false;
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

  /** True once the peer's session id is known. */
  get remoteKnown(): boolean {
    return this.#remoteKnown;
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
    this.#remoteKnown = true;
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
    if (this.#wrap.mode !== "none" && !this.#guard.check(res.packetId, res.time)) return DROP_REPLAY;
    return VERDICT_OK;
  }

  /** Who may send what: the peer's role, its session id, and acks that name us. */
  #checkSender(pkt: ControlPacket): number {
    const op = pkt.opcode;
    if (this.#role === "server" && op === P_CONTROL_HARD_RESET_SERVER_V2) return DROP_UNEXPECTED;
    if (this.#role === "client" && op === P_CONTROL_HARD_RESET_CLIENT_V2) return DROP_UNEXPECTED;
    if (this.#remoteKnown) {
      if (!sameBytes(pkt.sessionId, this.#remoteSessionId)) return DROP_SESSION_MISMATCH;
    } else {
      if (op !== peerHardReset(this.#role)) return DROP_UNEXPECTED;
      // OpenVPN refuses an undefined (all-zero) session id.
      if (isAllZero(pkt.sessionId)) return DROP_MALFORMED;
      // The server's reset must acknowledge ours (2.6 servers always do): otherwise anyone who can reach our
      // port could pin a made-up server session id first and the real server's packets would all mismatch.
      if (this.#role === "client" && !acksInclude(pkt, 0)) return DROP_UNEXPECTED;
    }
    if (pkt.ackCount > 0 && !sameBytes(pkt.remoteSessionId, this.localSessionId)) {
      return DROP_SESSION_MISMATCH;
    }
    return VERDICT_OK;
  }

  /** The session accepted the packet check() passed: record its replay id and learn the peer's session id. */
  accept(): void {
    const res = this.#unwrapped;
    if (this.#wrap.mode !== "none") this.#guard.commit(res.packetId, res.time);
    if (!this.#remoteKnown) {
      this.#remoteSessionId.set(this.packet.sessionId);
      this.#remoteKnown = true;
    }
  }

  /** Session ids, send packet-id and replay guard as text, for tests proving a dropped packet changed nothing. */
  snapshot(): string {
    const sid = this.#remoteKnown ? Array.from(this.#remoteSessionId, (b) => b.toString(16)).join(".") : "-";
    return `remote=${sid} sendPid=${this.#sendPid} guard=${this.#guard.snapshot()}`;
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
