/**
 * One OpenVPN control-channel session with one peer: reliability layer ↔ TLS ↔ key-method 2 ↔ control
 * messages, for the first key (key-id 0) and every renegotiation (soft reset, key-ids 1..7 wrapping).
 *
 * The session never touches sockets: packets come in through receive() and go out through the `send`
 * callback (the transport adds TCP framing). Time, randomness and peer-certificate verification are
 * injected.
 *
 * The protocol, per key-id, in the order it happens (right: where each step lives):
 *
 *   client                                   server
 *   HARD_RESET_CLIENT_V2 (or SOFT_RESET) ->                           reset: session_wire.ts (ids, replay),
 *                                       <-   HARD_RESET_SERVER_V2     key_state.ts (key-ids), reliable.ts
 *                                            (or SOFT_RESET), ack
 *   P_CONTROL_V1 TLS handshake records  <->  (both ways, acked)       tls: key_negotiation.ts, tls_channel.ts
 *   verify server certificate                verify client certificate  verify: key_negotiation.ts
 *   key-method 2 (pre-master, randoms)  ->                            km2: key_negotiation.ts
 *                                            authorize, pick cipher   (key-id 0: session_server.ts)
 *                                       <-   key-method 2 (randoms)   server: key ready
 *   PUSH_REQUEST (repeated)             ->                            key-id 0 only: push_exchange.ts,
 *                                       <-   PUSH_REPLY,...,cipher X  session_client.ts: client: key ready
 *   control messages                    <->  (INFO, EXIT, RESTART...)  #onControlMessage → `message`
 *
 * A key lives until its lifetime ends (or its data key wears out) and a soft reset negotiates the next
 * key-id; the replaced key serves through its transition window, then retires (key_state.ts). Every
 * deadline is in session_timers.ts. A failure in any step ends the whole session.
 *
 * Events: established, key, keyRetired, pushReply, message, error, closed.
 * `error` and `closed` carry a SessionEnd: a `kind` to decide on (session_end.ts lists them) and a
 * `reason` to log.
 */

import { type Clock, systemClock, systemRandom } from "./clock.ts";
import { controlHeaderSize, type ControlPacket } from "./control_packet.ts";
import { type ControlMessageKind, controlMessageKind, encodeControlMessage } from "./control_message.ts";
import { NoWrap } from "./control_wrap.ts";
import {
  DROP_BAD_KEY_ID,
  DROP_BAD_OPCODE,
  DROP_MALFORMED,
  DROP_OUT_OF_WINDOW,
  DROP_SOFT_RESET_LIMITED,
  DROP_UNEXPECTED,
  DropCounters,
  VERDICT_OK,
} from "./drop_counters.ts";
import { Emitter } from "./emitter.ts";
import { KeyNegotiation } from "./key_negotiation.ts";
import { KeySlots, type KeyState, type RekeyReason } from "./key_state.ts";
import { type DataCipher, normalizeCipher, SUPPORTED_CIPHERS } from "./ncp.ts";
import {
  isDataOpcode,
  opcodeOf,
  P_ACK_V1,
  P_CONTROL_HARD_RESET_CLIENT_V2,
  P_CONTROL_HARD_RESET_SERVER_V2,
  P_CONTROL_SOFT_RESET_V1,
  P_CONTROL_V1,
  SESSION_ID_SIZE,
} from "./opcode.ts";
import { deriveKey2 } from "./prf.ts";
import { ClientSteps } from "./session_client.ts";
import { type RoleSteps, SessionAgreement, type SessionCore } from "./session_core.ts";
import type { SessionEnd, SessionEndKind } from "./session_end.ts";
import { ServerSteps } from "./session_server.ts";
import { type PendingClose, SessionTimers, type TimerHooks } from "./session_timers.ts";
import type { ControlSessionEvents, ControlSessionOptions, PeerIdentity, Role } from "./session_types.ts";
import { acksInclude, ControlWire } from "./session_wire.ts";
import type { Logger } from "../log/log.ts";

export type { SessionEnd, SessionEndKind } from "./session_end.ts";
export type { RekeyReason } from "./key_state.ts";
export type {
  AuthDecision,
  ControlSessionEvents,
  ControlSessionOptions,
  EstablishedEvent,
  PeerIdentity,
  PeerVerifier,
  PeerVerifyResult,
  Role,
  SessionKey,
} from "./session_types.ts";

/** How long an exit notification (EXIT, RESTART) may wait for its acknowledgement. */
const EXIT_GRACE_MS = 2000;
/** Most control bytes queued behind a full send window: past it the peer is not acknowledging what we send. */
const MAX_SEND_BACKLOG = 512 * 1024;

/** Control messages one role acts on (RoleSteps.controlMessage) and the other ignores. */
const ROLE_MESSAGES: ReadonlySet<ControlMessageKind> = new Set<ControlMessageKind>([
  "PUSH_REQUEST",
  "PUSH_REPLY",
  "AUTH_FAILED",
  "EXIT",
  "RESTART",
  "HALT",
]);

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

  #flushQueued = false;
  #closing: PendingClose | null = null;
  #closed = false;

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
    const server = this.role === "server" ? new ServerSteps(core) : null;
    if (!server) this.#client = new ClientSteps(core);
    this.#steps = server ?? this.#client!;
    this.#negotiation = new KeyNegotiation(core, this.#steps, {
      keyMethod2Received: (ks) => this.#keyMethod2Received(ks),
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
    return this.#wire.remoteKnown ? this.#wire.remoteSessionId.slice() : null;
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
    return this.#closed;
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
      this.#fatal("internal", `internal error while processing a packet: ${(e as Error)?.message ?? e}`);
      v = DROP_MALFORMED;
    }
    if (v !== VERDICT_OK) this.#drops.count(v);
    return v;
  }

  /** Checks first (wire, then key), changes state only for an accepted packet. */
  #receive(wire: Uint8Array, off: number, len: number): number {
    if (this.#closed || len < 1) return DROP_UNEXPECTED;
    if (isDataOpcode(opcodeOf(wire[off]))) return DROP_BAD_OPCODE;
    let v = this.#wire.check(wire, off, len);
    if (v !== VERDICT_OK) return v;
    const pkt = this.#wire.packet;
    const known = this.#keys.find(pkt.keyId);
    v = known ? this.#checkForKey(known, pkt) : this.#checkOpensKey(pkt);
    if (v !== VERDICT_OK) return v;
    // Accepted: from here on state changes.
    this.#wire.accept();
    const ks = known ?? this.#answerPeerReset(pkt);
    ks.reliable.receiveAcks(pkt.acks, pkt.ackCount);
    if (pkt.opcode !== P_ACK_V1) {
      ks.reliable.receive(pkt.opcode, pkt.messageId, pkt.payload());
      for (const m of ks.reliable.takeDelivered()) {
        this.#negotiation.receive(ks, m.opcode, m.messageId, m.payload);
      }
    }
    this.#scheduleFlush();
    return VERDICT_OK;
  }

  /** A packet for key `ks`, which exists. */
  #checkForKey(ks: KeyState, pkt: ControlPacket): number {
    const op = pkt.opcode;
    if (op === P_CONTROL_SOFT_RESET_V1 && pkt.messageId !== 0) return DROP_UNEXPECTED;
    if (op !== P_ACK_V1 && !ks.fitsReceiveWindow(pkt.messageId)) return DROP_OUT_OF_WINDOW;
    // Server, first key: TLS input only from a peer that acknowledged our reset, i.e. that receives at the
    // address it sends from (OpenVPN 2.6 demands the same). A spoofed source gets no TLS work done for it.
    if (
      this.role === "server" && ks.keyId === 0 && op === P_CONTROL_V1 &&
      !ks.reliable.acknowledged(0) && !acksInclude(pkt, 0)
    ) {
      return DROP_UNEXPECTED;
    }
    return VERDICT_OK;
  }

  /** A packet for a key-id we have no key for: only the peer's reset opening the next one may create it. */
  #checkOpensKey(pkt: ControlPacket): number {
    const keys = this.#keys;
    const op = pkt.opcode;
    if (op === P_CONTROL_HARD_RESET_CLIENT_V2 && keys.all.length === 0 && pkt.keyId === 0) {
      // The client's first reset (the server's session was created for it).
    } else if (
      op === P_CONTROL_SOFT_RESET_V1 && pkt.keyId === keys.nextKeyId && pkt.messageId === 0 &&
      keys.active !== null && !keys.negotiating
    ) {
      if (!keys.peerMayRenegotiate(this.#agreed.peer?.commonName)) return DROP_SOFT_RESET_LIMITED;
    } else {
      return DROP_BAD_KEY_ID;
    }
    // Pre-check the window so that creating state cannot be triggered by a packet we then drop.
    return pkt.messageId === 0 ? VERDICT_OK : DROP_OUT_OF_WINDOW;
  }

  /** The peer's reset opens a key: answer it with ours. */
  #answerPeerReset(pkt: ControlPacket): KeyState {
    const hard = pkt.opcode === P_CONTROL_HARD_RESET_CLIENT_V2;
    const ks = this.#keys.open(pkt.keyId);
    ks.reliable.sendMessage(hard ? P_CONTROL_HARD_RESET_SERVER_V2 : P_CONTROL_SOFT_RESET_V1);
    if (!hard) this.#keys.peerRenegotiationStarted();
    this.#log?.debug("key negotiation started by peer", { keyId: pkt.keyId });
    return ks;
  }

  /** The peer's key-method 2 arrived: the role's step, then the key becomes active. */
  async #keyMethod2Received(ks: KeyState): Promise<void> {
    const initial = !this.#agreed.established;
    if (initial) this.#negotiation.learnPeerInfo(ks.remote!);
    await this.#steps.keyMethod2Received(ks, initial, () => this.#keyReady(ks, initial));
  }

  /** Derives the key block from both key-method 2 messages; `ks` becomes the primary key. */
  #keyReady(ks: KeyState, initial: boolean): void {
    const { localSessionId, remoteSessionId } = this.#wire;
    const remote = ks.remote!;
    const key2 = this.role === "client"
      ? deriveKey2(ks.local, remote.keySource, localSessionId, remoteSessionId)
      : deriveKey2(remote.keySource, ks.local, remoteSessionId, localSessionId);
    this.#keys.activate(ks);
    const agreed = this.#agreed;
    if (initial) {
      agreed.established = true;
      this.emit("established", {
        keyId: ks.keyId,
        peer: agreed.peer!,
        cipher: agreed.cipher,
        tlsProtocol: ks.tlsProtocol,
      });
      this.#steps.firstKeyReady(ks, key2);
    } else if (agreed.cipher) {
      this.emit("key", { keyId: ks.keyId, key2, cipher: agreed.cipher, role: this.role, initial: false });
    }
    this.#timers.arm();
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
    if (this.#closed || !this.#agreed.established || !keys.active || keys.negotiating) return false;
    const ks = keys.open(keys.nextKeyId);
    ks.reliable.sendMessage(P_CONTROL_SOFT_RESET_V1);
    this.#log?.info("renegotiating", { keyId: ks.keyId, reason, cn: this.#agreed.peer?.commonName });
    this.#scheduleFlush();
    return true;
  }

  /**
   * Ends the session. With `notify` and an established channel the peer is told
   * first (client: EXIT, server: RESTART) when it supports exit notification.
   */
  close(reason = "closed", notify = true): void {
    this.#close("local", reason, notify);
  }

  #close(kind: SessionEndKind, reason: string, notify: boolean): void {
    if (this.#closed || this.#closing) return;
    const ks = this.#keys.active;
    const end = { kind, reason };
    if (notify && this.#agreed.established && ks && this.#agreed.peerCcExit) {
      this.#sendMessage(ks, this.role === "client" ? "EXIT" : "RESTART");
      this.#closing = { end, deadline: this.#clock.now() + EXIT_GRACE_MS, sent: false, untilAcked: true };
      this.#flushSoon();
      return;
    }
    this.#finish(end);
  }

  /**
   * The peer said it is going away. Its goodbye is acknowledged before the session ends (the message
   * may have arrived inside the packet being processed, whose ack would otherwise never go out), so the
   * peer finishes at once instead of waiting out its exit grace period.
   */
  #closeOnGoodbye(kind: SessionEndKind, reason: string): void {
    this.#guarded(() => this.#flush());
    this.#close(kind, reason, false);
  }

  #failKey(ks: KeyState, kind: SessionEndKind, reason: string, graceMs = 0): void {
    if (ks.phase === "failed" || this.#closed) return;
    // A failed renegotiation ends the whole session, like an OpenVPN TLS error does.
    ks.phase = "failed";
    if (graceMs > 0) {
      const end = { kind, reason };
      this.#closing = { end, deadline: this.#clock.now() + graceMs, sent: false, untilAcked: false };
      this.emit("error", end);
      this.#flushSoon();
      return;
    }
    this.#fatal(kind, reason);
  }

  #fatal(kind: SessionEndKind, reason: string): void {
    if (this.#closed) return;
    this.#log?.error(reason);
    const end = { kind, reason };
    this.emit("error", end);
    this.#finish(end);
  }

  #finish(end: SessionEnd): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#timers.stop();
    this.#keys.clear();
    this.emit("closed", end);
  }

  #scheduleFlush(): void {
    if (this.#flushQueued || this.#closed) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      this.#guarded(() => this.#flush());
    });
  }

  /** Lets TLS emit pending records (a macrotask later) before flushing. */
  #flushSoon(): void {
    this.#scheduleFlush();
    this.#clock.setTimer(() => this.#guarded(() => this.#scheduleFlush()), 0);
  }

  /** Runs deferred work (microtask, timer): a throw there would be uncaught and end the process. */
  #guarded(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.#fatal("internal", `internal error: ${(e as Error)?.message ?? e}`);
    }
  }

  /** Sends what every key's reliability layer has due, then re-arms the timers. */
  #flush(): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    for (const ks of this.#keys.all) {
      if (ks.reliable.backlogBytes > MAX_SEND_BACKLOG && ks.phase !== "failed") {
        this.#failKey(ks, "timeout", "peer stopped acknowledging control packets");
        return;
      }
    }
    for (const ks of this.#keys.all) {
      for (const o of ks.reliable.poll(now)) {
        if (this.#wire.send(ks.keyId, o) && this.#closing && o.messageId >= 0) this.#closing.sent = true;
      }
    }
    this.#timers.arm();
  }

  /** What the parts (key negotiation, role steps) share with the session. */
  #core(ciphers: readonly string[]): SessionCore {
    const session = this;
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
        return session.#closed;
      },
      emit(event, arg) {
        session.emit(event, arg);
      },
      sendMessage: (ks, text) => this.#sendMessage(ks, text),
      sendKeyMethod2: (ks) => this.#negotiation.sendKeyMethod2(ks),
      failKey: (ks, kind, reason, graceMs) => this.#failKey(ks, kind, reason, graceMs),
      fatal: (kind, reason) => this.#fatal(kind, reason),
      closeOnGoodbye: (kind, reason) => this.#closeOnGoodbye(kind, reason),
      scheduleFlush: () => this.#scheduleFlush(),
      flushSoon: () => this.#flushSoon(),
    };
  }

  /** The deadlines' view of the session and what happens when each passes (session_timers.ts). */
  #timerHooks(): TimerHooks {
    const session = this;
    return {
      get closed() {
        return session.#closed;
      },
      get closing() {
        return session.#closing;
      },
      get pushRequestAt() {
        return session.#steps.pushRequestAt;
      },
      expiredClosingGrace: () => this.#finish(this.#closing!.end),
      expiredHandshakeWindow: (ks) => {
        const seconds = this.#keys.handshakeWindowMs / 1000;
        this.#failKey(
          ks,
          "timeout",
          `TLS key negotiation for key ${ks.keyId} did not complete within ${seconds} s`,
        );
      },
      expiredTransitionWindow: (ks) => this.#keys.retire(ks),
      expiredKeyLifetime: () => this.renegotiate("reneg_seconds"),
      expiredPushRequest: () => this.#steps.expiredPushRequest(),
      timerFired: () => this.#guarded(() => this.#flush()),
    };
  }
}
