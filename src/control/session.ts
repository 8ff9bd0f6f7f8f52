/**
 * One OpenVPN control-channel session with one peer: reliability layer ↔ TLS ↔ key-method 2 ↔ control
 * messages, for the first key (key-id 0) and every renegotiation (soft reset, key-ids 1..7 wrapping).
 *
 * The session never touches sockets: packets come in through receive() and go out through the `send`
 * callback (the transport adds TCP framing). Time, randomness and peer-certificate verification are
 * injected.
 *
 * The protocol, per key-id, in the order it happens:
 *
 *   client                                   server
 *   HARD_RESET_CLIENT_V2 (or SOFT_RESET) ->
 *                                       <-   HARD_RESET_SERVER_V2 (or SOFT_RESET), ack
 *   P_CONTROL_V1 TLS handshake records  <->  (both ways, acked)
 *   verify server certificate                verify client certificate
 *   key-method 2 (pre-master, randoms)  ->
 *                                            key-id 0: authorize, choose the data cipher
 *                                       <-   key-method 2 (randoms)   server: key ready
 *   PUSH_REQUEST (repeated)             ->                            (key-id 0 only)
 *                                       <-   PUSH_REPLY,...,cipher X  client: key ready
 *   control messages (INFO, EXIT, RESTART...) both ways
 *
 * Where each step lives: receive() checks a packet (session_wire.ts: wrapping, session ids, replay;
 * key_state.ts: its key-id, or whether it may open one) and hands its in-order messages to
 * key_negotiation.ts (reset, TLS, certificate, key-method 2, key ready). What one role alone does is in
 * session_server.ts (authorize, cookie-started sessions, the PUSH_REPLY) and session_client.ts (the hard
 * reset, PUSH_REQUEST, screening the reply and its cipher); push_exchange.ts keeps the exchange's
 * bookkeeping. Control messages arrive at #onControlMessage: the role's steps take theirs, the rest
 * reach the `message` event.
 *
 * A key lives until its lifetime ends (or its data key wears out) and a soft reset negotiates the next
 * key-id; the replaced key serves through its transition window, then retires (key_state.ts). Deadlines
 * and deferred sends: session_timers.ts. Any failure ends the whole session: session_close.ts.
 *
 * Events: established, key, keyRetired, pushReply, message, error, closed.
 * `error` and `closed` carry a SessionEnd: a `kind` to decide on (session_end.ts lists them) and a
 * `reason` to log.
 */

import { type Clock, systemClock, systemRandom } from "./clock.ts";
import { controlHeaderSize } from "./control_packet.ts";
import { controlMessageKind, encodeControlMessage } from "./control_message.ts";
import { NoWrap } from "./control_wrap.ts";
import {
  DROP_BAD_OPCODE,
  DROP_MALFORMED,
  DROP_UNEXPECTED,
  DropCounters,
  VERDICT_OK,
} from "./drop_counters.ts";
import { Emitter } from "./emitter.ts";
import { KeyNegotiation } from "./key_negotiation.ts";
import { KeySlots, type KeyState, type RekeyReason } from "./key_state.ts";
import { type DataCipher, normalizeCipher, SUPPORTED_CIPHERS } from "./ncp.ts";
import { isDataOpcode, opcodeOf, P_ACK_V1, P_CONTROL_SOFT_RESET_V1, SESSION_ID_SIZE } from "./opcode.ts";
import { ClientSteps } from "./session_client.ts";
import { ROLE_MESSAGES, type RoleSteps, SessionAgreement, type SessionCore } from "./session_core.ts";
import { ServerSteps } from "./session_server.ts";
import { SessionClosing } from "./session_close.ts";
import { SessionTimers, type TimerHooks } from "./session_timers.ts";
import type { ControlSessionEvents, ControlSessionOptions, PeerIdentity, Role } from "./session_types.ts";
import { ControlWire } from "./session_wire.ts";
import type { Logger } from "../log/log.ts";

export type { SessionEnd, SessionEndKind } from "./session_end.ts";
export type { RekeyReason } from "./key_state.ts";
export type {
  AuthDecision,
  AuthRequest,
  ControlSessionEvents,
  ControlSessionOptions,
  EstablishedEvent,
  PeerIdentity,
  PeerVerifier,
  PeerVerifyResult,
  Role,
  SessionKey,
  UserPass,
} from "./session_types.ts";
export { PushRefused } from "./session_types.ts";

/** Most control bytes queued behind a full send window: past it the peer is not acknowledging what we send. */
const MAX_SEND_BACKLOG = 512 * 1024;

export class ControlSession extends Emitter<ControlSessionEvents> {
  readonly role: Role;
  readonly localSessionId: Uint8Array;

  readonly #o: ControlSessionOptions;
  readonly #clock: Clock;
  readonly #drops: DropCounters;
  readonly #log: Logger | undefined;
  readonly #wire: ControlWire;
  readonly #keys: KeySlots;
  readonly #agreed = new SessionAgreement();
  readonly #negotiation: KeyNegotiation;
  readonly #client: ClientSteps | null = null;
  readonly #steps: RoleSteps;
  readonly #timers: SessionTimers;
  readonly #closing: SessionClosing;

  constructor(options: ControlSessionOptions) {
    super();
    this.#o = options;
    this.role = options.role;
    this.#clock = options.clock ?? systemClock;
    this.#drops = options.drops ?? new DropCounters();
    this.#log = options.logger;
    const random = options.random ?? systemRandom;
    const wrap = options.wrap ?? new NoWrap();
    const ciphers = options.ciphers ?? SUPPORTED_CIPHERS;
    this.localSessionId = options.localSessionId?.slice() ?? random(SESSION_ID_SIZE);
    this.#wire = new ControlWire(this.role, wrap, this.localSessionId, this.#clock, (p) => options.send(p));
    const mtu = options.tlsMtu ?? 1250;
    const maxPayload = mtu - wrap.overhead - controlHeaderSize(8, true);
    if (maxPayload < 64) throw new RangeError(`tls-mtu ${mtu} leaves no room for control payload`);
    for (const c of ciphers) {
      if (!normalizeCipher(c)) throw new RangeError(`Unsupported data cipher ${c}`);
    }
    this.#keys = new KeySlots({
      role: this.role,
      clock: this.#clock,
      random,
      maxPayload,
      tlsTimeoutMs: options.tlsTimeoutMs,
      handshakeWindowMs: options.handshakeWindowMs,
      renegotiateMs: options.renegotiateMs,
      transitionWindowMs: options.transitionWindowMs,
      log: this.#log,
      onRetired: (keyId) => this.emit("keyRetired", { keyId }),
    });
    const core = this.#core(ciphers);
    this.#closing = new SessionClosing(core, {
      flushNow: () => this.#guardedFlush(),
      stopTimers: () => this.#timers.stop(),
    });
    const server = this.role === "server" ? new ServerSteps(core) : null;
    if (!server) this.#client = new ClientSteps(core);
    this.#steps = server ?? this.#client!;
    this.#negotiation = new KeyNegotiation(core, this.#steps, {
      keyActivated: () => this.#timers.arm(),
      controlMessage: (ks, text) => this.#onControlMessage(ks, text),
    });
    this.#timers = new SessionTimers(this.#clock, this.#keys, this.#timerHooks());
    if (options.answeredReset) {
      if (!server) throw new Error("Only a server session resumes an answered reset");
      server.resumeAnsweredReset(options.answeredReset);
    }
  }

  /** The peer's session id, or null before its first packet. */
  get remoteSessionId(): Uint8Array | null {
    return this.#wire.remoteConfirmed ? this.#wire.remoteSessionId.slice() : null;
  }

  get peer(): PeerIdentity | null {
    return this.#agreed.peer;
  }

  get cipher(): DataCipher | null {
    return this.#agreed.cipher;
  }

  get established(): boolean {
    return this.#agreed.established;
  }

  get closed(): boolean {
    return this.#closing.closed;
  }

  /**
   * Server: true once the peer acknowledged our first reset, which shows it receives at the address it
   * sends from. Until then the session may have been opened by a spoofed packet.
   */
  get resetAcknowledged(): boolean {
    const k0 = this.#keys.first();
    return this.#agreed.established || (k0 !== undefined && k0.reliable.acknowledged(0));
  }

  /** Key-id of the current primary key, -1 before the first key is active. */
  get activeKeyId(): number {
    return this.#keys.active?.keyId ?? -1;
  }

  get drops(): DropCounters {
    return this.#drops;
  }

  /** Key states held (the primary, one in its transition window, one negotiating: at most 3). */
  get keyCount(): number {
    return this.#keys.all.length;
  }

  /**
   * The protocol state as text: session ids, packet-id counters and replay guard, every key's phase and
   * reliability layer (ids, acks owed, windows). Drop counters are left out: they are meant to move.
   * For tests proving that a packet which fails authentication changes nothing.
   */
  snapshot(): string {
    return `established=${this.established} closed=${this.closed} active=${this.activeKeyId}` +
      ` ${this.#wire.snapshot()} ${this.#keys.snapshot()}`;
  }

  /** Client: sends the hard reset that opens the session. */
  start(): void {
    if (!this.#client) throw new Error("Only a client session starts itself");
    this.#client.start();
  }

  /**
   * Processes one received wire packet (UDP datagram or TCP frame payload).
   * Returns VERDICT_OK or the DROP_* reason; a dropped packet changes nothing.
   */
  receive(wire: Uint8Array, off = 0, len = wire.length - off): number {
    let v: number;
    try {
      v = this.#receive(wire, off, len);
    } catch (e) {
      // A bug reached from peer input must not escape into the transport loop; the session's state is
      // no longer trustworthy, so it ends.
      this.#closing.fatal(
        "internal",
        `internal error while processing a packet: ${(e as Error)?.message ?? e}`,
      );
      v = DROP_MALFORMED;
    }
    if (v !== VERDICT_OK) this.#drops.count(v);
    return v;
  }

  /** Checks first (wire, then key), changes state only for an accepted packet. */
  #receive(wire: Uint8Array, off: number, len: number): number {
    if (this.#closing.closed || len < 1) return DROP_UNEXPECTED;
    if (isDataOpcode(opcodeOf(wire[off]))) return DROP_BAD_OPCODE;
    let v = this.#wire.check(wire, off, len);
    if (v !== VERDICT_OK) return v;
    const pkt = this.#wire.packet;
    const known = this.#keys.find(pkt.keyId);
    v = known
      ? this.#keys.checkPacket(known, pkt)
      : this.#keys.checkOpener(pkt, this.#agreed.peer?.commonName);
    if (v !== VERDICT_OK) return v;
    // Accepted: from here on state changes.
    this.#wire.accept();
    const ks = known ?? this.#keys.answerOpener(pkt);
    ks.reliable.receiveAcks(pkt.acks, pkt.ackCount);
    if (pkt.opcode !== P_ACK_V1) {
      ks.reliable.receive(pkt.opcode, pkt.messageId, pkt.payload());
      for (const m of ks.reliable.takeDelivered()) {
        this.#negotiation.receive(ks, m.opcode, m.messageId, m.payload);
      }
    }
    if (this.#wire.justConfirmed) this.#negotiation.serverConfirmed(ks);
    this.#wire.sendResetAck();
    this.#timers.scheduleFlush();
    return VERDICT_OK;
  }

  /**
   * A complete control message. The role's steps consume theirs (the push exchange, AUTH_FAILED, EXIT,
   * RESTART, HALT) and the other role's are ignored; everything else reaches the `message` event. A new
   * message carried over the session gets its keyword in control_message.ts and is read from `message`,
   * or, when the protocol itself must act on it, from a case in a role's controlMessage step.
   */
  #onControlMessage(ks: KeyState, text: string): void {
    const kind = controlMessageKind(text);
    this.#log?.debug("control message", { kind, keyId: ks.keyId });
    if (this.#steps.controlMessage(ks, kind, text) || ROLE_MESSAGES.has(kind)) return;
    this.emit("message", { kind, text });
  }

  /** Sends a control message (e.g. INFO) over the primary key's TLS channel. */
  sendControlMessage(text: string): void {
    const ks = this.#keys.active;
    if (!ks) throw new Error("Control channel is not established");
    this.#sendMessage(ks, text);
  }

  #sendMessage(ks: KeyState, text: string): void {
    ks.tls?.write(encodeControlMessage(text));
  }

  /**
   * Starts a soft reset (new key-id) now; false when one is already running or not established.
   * `reason` is logged (e.g. "bytes" when the data key carried reneg_bytes).
   */
  renegotiate(reason: RekeyReason = "requested"): boolean {
    const keys = this.#keys;
    if (this.#closing.closed || !this.#agreed.established || !keys.active || keys.negotiating) return false;
    const ks = keys.open(keys.nextKeyId);
    ks.reliable.sendMessage(P_CONTROL_SOFT_RESET_V1);
    this.#log?.info("renegotiating", { keyId: ks.keyId, reason, cn: this.#agreed.peer?.commonName });
    this.#timers.scheduleFlush();
    return true;
  }

  /**
   * Ends the session. With `notify` and an established channel the peer is told
   * first (client: EXIT, server: RESTART) when it supports exit notification;
   * a `message` (server: OpenVPN's client-kill text, e.g. "HALT") replaces
   * that word and is sent whatever the peer announced.
   */
  close(reason = "closed", notify = true, message?: string): void {
    this.#closing.close("local", reason, notify, message);
  }

  /** Flushes from deferred work (microtask, timer), where a throw would be uncaught and end the process. */
  #guardedFlush(): void {
    try {
      this.#flush();
    } catch (e) {
      this.#closing.fatal("internal", `internal error: ${(e as Error)?.message ?? e}`);
    }
  }

  /** Sends what every key's reliability layer has due, then re-arms the timers. */
  #flush(): void {
    if (this.#closing.closed) return;
    const now = this.#clock.now();
    for (const ks of this.#keys.all) {
      if (ks.reliable.backlogBytes > MAX_SEND_BACKLOG && ks.phase !== "failed") {
        this.#closing.failKey(ks, "timeout", "peer stopped acknowledging control packets");
        return;
      }
    }
    for (const ks of this.#keys.all) {
      for (const o of ks.reliable.poll(now)) {
        if (this.#wire.send(ks.keyId, o) && o.messageId >= 0) this.#closing.messageSent();
      }
    }
    this.#timers.arm();
  }

  /** What the parts (key negotiation, role steps) share with the session. */
  #core(ciphers: readonly string[]): SessionCore {
    const closing = () => this.#closing;
    return {
      role: this.role,
      options: this.#o,
      clock: this.#clock,
      log: this.#log,
      ciphers,
      keys: this.#keys,
      wire: this.#wire,
      agreed: this.#agreed,
      get closed() {
        return closing().closed;
      },
      emit: (event, arg) => this.emit(event, arg),
      sendMessage: (ks, text) => this.#sendMessage(ks, text),
      sendKeyMethod2: (ks) => this.#negotiation.sendKeyMethod2(ks),
      failKey: (ks, kind, reason, graceMs) => this.#closing.failKey(ks, kind, reason, graceMs),
      fatal: (kind, reason) => this.#closing.fatal(kind, reason),
      closeOnGoodbye: (kind, reason) => this.#closing.closeOnGoodbye(kind, reason),
      scheduleFlush: () => this.#timers.scheduleFlush(),
      flushSoon: () => this.#timers.flushSoon(),
    };
  }

  /** The deadlines' view of the session and what happens when each passes (session_timers.ts). */
  #timerHooks(): TimerHooks {
    return {
      isClosed: () => this.#closing.closed,
      pendingClose: () => this.#closing.pending,
      pushRequestAt: () => this.#steps.pushRequestAt,
      expiredClosingGrace: () => this.#closing.finish(this.#closing.pending!.end),
      expiredHandshakeWindow: (ks) => {
        const seconds = this.#keys.handshakeWindowMs / 1000;
        this.#closing.failKey(
          ks,
          "timeout",
          `TLS key negotiation for key ${ks.keyId} did not complete within ${seconds} s`,
        );
      },
      expiredTransitionWindow: (ks) => this.#keys.retire(ks),
      expiredKeyLifetime: () => this.renegotiate("reneg_seconds"),
      expiredPushRequest: () => this.#steps.expiredPushRequest(),
      flush: () => this.#guardedFlush(),
    };
  }
}
