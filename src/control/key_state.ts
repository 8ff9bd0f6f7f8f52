/**
 * The keys of one control session. OpenVPN negotiates them one key-id at a time: 0 first, then 1..7
 * wrapping at each renegotiation (soft reset). Each key-id has its own reliability layer, TLS session
 * and key-method 2 exchange (KeyState) and moves through the phases
 *
 *   reset → tls → verify → km2 → active      (or → failed from any of them: the session ends)
 *
 * KeySlots holds the live keys and their lifetimes:
 * - the primary key: the newest active one, which sends;
 * - the handshake window a negotiation must finish in (OpenVPN --hand-window);
 * - the key lifetime after which a soft reset starts (--reneg-sec), one key negotiating at a time;
 * - the transition window a replaced key still serves (--tran-window), then it retires;
 * - the rate of renegotiations the peer may start (soft_reset_limit.ts);
 * and decides which key a packet belongs to, or whether the peer's reset may open a new one.
 */

import type { Clock } from "./clock.ts";
import type { ControlPacket } from "./control_packet.ts";
import { ControlMessageReader } from "./control_message.ts";
import {
  DROP_BAD_KEY_ID,
  DROP_OUT_OF_WINDOW,
  DROP_SOFT_RESET_LIMITED,
  DROP_UNEXPECTED,
  VERDICT_OK,
} from "./drop_counters.ts";
import { type KeyMethod2Message, randomKeySource } from "./key_method2.ts";
import {
  nextKeyId,
  P_ACK_V1,
  P_CONTROL_HARD_RESET_CLIENT_V2,
  P_CONTROL_HARD_RESET_SERVER_V2,
  P_CONTROL_SOFT_RESET_V1,
  P_CONTROL_V1,
} from "./opcode.ts";
import type { KeySource } from "./prf.ts";
import { ReliableChannel } from "./reliable.ts";
import type { Role } from "./session_types.ts";
import { acksInclude } from "./session_wire.ts";
import { SoftResetLimit } from "./soft_reset_limit.ts";
import type { TlsEndpoint } from "./tls_channel.ts";
import type { Logger } from "../log/log.ts";

export type Phase = "reset" | "tls" | "verify" | "km2" | "active" | "failed";

/**
 * Why a key is renegotiated, for the log: its lifetime ended ("reneg_seconds"), the data key wore out
 * ("bytes", "packet-id": data_channel.ts rekeyReason), or a caller asked ("requested").
 */
export type RekeyReason = "requested" | "reneg_seconds" | "bytes" | "packet-id";

const DEFAULT_TLS_TIMEOUT_MS = 2000;
const DEFAULT_HANDSHAKE_WINDOW_MS = 60_000;
const DEFAULT_RENEGOTIATE_MS = 3_600_000;
const DEFAULT_TRANSITION_WINDOW_MS = 60_000;

/** What a key's sources are once its key block is derived (shared, holds nothing). */
const SPENT_KEY_SOURCE: KeySource = Object.freeze({
  random1: new Uint8Array(0),
  random2: new Uint8Array(0),
}) as KeySource;

function wipeKeySource(source: KeySource): void {
  source.preMaster?.fill(0);
  source.random1.fill(0);
  source.random2.fill(0);
}

/** One key-id's negotiation and, once active, its lifetime. */
export class KeyState {
  readonly keyId: number;
  readonly reliable: ReliableChannel;
  readonly startedAt: number;
  tls: TlsEndpoint | null = null;
  phase: Phase = "reset";
  peerResetSeen = false;
  local: KeySource;
  remote: KeyMethod2Message | null = null;
  km2Buf: Uint8Array = new Uint8Array(0);
  pendingPlain: Uint8Array[] = [];
  pendingPlainBytes = 0;
  readonly reader = new ControlMessageReader();
  activatedAt = 0;
  retireAt = Infinity;
  tlsProtocol: string | null = null;

  constructor(keyId: number, reliable: ReliableChannel, now: number, local: KeySource) {
    this.keyId = keyId;
    this.reliable = reliable;
    this.startedAt = now;
    this.local = local;
  }

  /**
   * The key block is derived (key_negotiation.ts #keyReady): the key-method 2 secrets (pre-master, randoms,
   * both sides) are wiped and dropped, and so is the peer's peer-info text (parsed into the session's peer
   * record already). A live session keeps no handshake-only material for its key's lifetime.
   */
  forgetKeySources(): void {
    wipeKeySource(this.local);
    this.local = SPENT_KEY_SOURCE;
    if (this.remote !== null) {
      wipeKeySource(this.remote.keySource);
      this.remote.keySource = SPENT_KEY_SOURCE;
      this.remote.peerInfo = "";
    }
  }

  /** Mirrors ReliableChannel's receive window, so an out-of-window packet is refused before any commit. */
  fitsReceiveWindow(messageId: number): boolean {
    const next = this.reliable.nextReceiveId;
    return messageId < next || messageId - next < 12;
  }

  /** Phase, negotiation buffers and reliability layer as text (tests: a dropped packet changes nothing). */
  snapshot(): string {
    return `key${this.keyId} ${this.phase} peerReset=${this.peerResetSeen} km2=${this.km2Buf.length}` +
      ` plain=${this.pendingPlainBytes} remote=${this.remote !== null} retire=${this.retireAt}` +
      ` ${this.reliable.snapshot()}`;
  }
}

export interface KeySlotsOptions {
  role: Role;
  clock: Clock;
  random: (n: number) => Uint8Array;
  /** Largest control payload per packet (tls-mtu less headers). */
  maxPayload: number;
  /** First retransmission timeout (--tls-timeout). @default 2000 */
  tlsTimeoutMs?: number;
  /** @default 60000 */
  handshakeWindowMs?: number;
  /** 0 disables. @default 3600000 */
  renegotiateMs?: number;
  /** @default 60000 */
  transitionWindowMs?: number;
  log?: Logger;
  /** An active key retired: its data-channel key goes too. */
  onRetired: (keyId: number) => void;
}

export class KeySlots {
  readonly #o: KeySlotsOptions;
  readonly #keys: KeyState[] = [];
  #primary: KeyState | null = null;
  #nextKeyId = 0;
  /** Renegotiations the peer may start. */
  readonly #peerResets: SoftResetLimit;
  #peerResetsLimited = false;

  constructor(options: KeySlotsOptions) {
    this.#o = options;
    this.#peerResets = new SoftResetLimit(options.clock.now());
  }

  /** Live keys, oldest first. */
  get all(): readonly KeyState[] {
    return this.#keys;
  }

  get primary(): KeyState | null {
    return this.#primary;
  }

  /** The primary key once it is active, else null. */
  get active(): KeyState | null {
    return this.#primary?.phase === "active" ? this.#primary : null;
  }

  /** The key-id the next negotiation (ours or the peer's) uses. */
  get nextKeyId(): number {
    return this.#nextKeyId;
  }

  /** True while a key is still negotiating (the first, or a renegotiation). */
  get negotiating(): boolean {
    return this.#keys.some((k) => k.phase !== "active");
  }

  get handshakeWindowMs(): number {
    return this.#o.handshakeWindowMs ?? DEFAULT_HANDSHAKE_WINDOW_MS;
  }

  /** Every key's state, the primary and the next key-id as text (tests: a dropped packet changes nothing). */
  snapshot(): string {
    return `primary=${this.#primary?.keyId ?? -1} next=${this.#nextKeyId} ` +
      this.#keys.map((k) => k.snapshot()).join(" | ");
  }

  /** The live (not failed) key with this id. */
  find(keyId: number): KeyState | undefined {
    return this.#keys.find((k) => k.keyId === keyId && k.phase !== "failed");
  }

  /** Key-id 0 in any phase. */
  first(): KeyState | undefined {
    return this.#keys.find((k) => k.keyId === 0);
  }

  /** True when everything every key sent was acknowledged. */
  allAcknowledged(): boolean {
    return this.#keys.every((k) => k.reliable.inflight === 0 && k.reliable.backlog === 0);
  }

  /**
   * Starts key `keyId` (its reset is sent or answered by the caller); key-id 0 becomes the primary.
   * `startId` > 0 resumes a reliability layer whose first message was already exchanged (reset_cookie.ts).
   */
  open(keyId: number, startId = 0): KeyState {
    const o = this.#o;
    const ks = new KeyState(
      keyId,
      new ReliableChannel({
        maxPayload: o.maxPayload,
        initialTimeoutMs: o.tlsTimeoutMs ?? DEFAULT_TLS_TIMEOUT_MS,
        startId,
      }),
      o.clock.now(),
      randomKeySource(o.random, o.role === "client"),
    );
    this.#keys.push(ks);
    this.#nextKeyId = nextKeyId(keyId);
    if (keyId === 0) this.#primary = ks;
    // The server's TLS starts with the peer's first P_CONTROL_V1 (key_negotiation.ts): a session opened by a
    // reset that is never followed up costs no TLS context.
    return ks;
  }

  /** Key `ks` finished negotiating: it becomes the primary, and the one it replaces starts its transition window. */
  activate(ks: KeyState): void {
    const now = this.#o.clock.now();
    ks.phase = "active";
    ks.activatedAt = now;
    const old = this.#primary;
    if (old && old !== ks) {
      for (const k of this.#keys) {
        if (k !== ks && k !== old && k.retireAt !== Infinity) this.retire(k);
      }
      old.retireAt = now + (this.#o.transitionWindowMs ?? DEFAULT_TRANSITION_WINDOW_MS);
    }
    this.#primary = ks;
    this.#o.log?.info("key negotiation complete", { keyId: ks.keyId, role: this.#o.role });
  }

  retire(ks: KeyState): void {
    const i = this.#keys.indexOf(ks);
    if (i < 0) return;
    this.#keys.splice(i, 1);
    ks.tls?.destroy();
    if (ks.phase === "active") this.#o.onRetired(ks.keyId);
  }

  /** The session ended: every key goes, without retirement events. */
  clear(): void {
    for (const k of this.#keys) k.tls?.destroy();
    this.#keys.length = 0;
    this.#primary = null;
  }

  /** When key `ks` must have finished negotiating. */
  handshakeDeadline(ks: KeyState): number {
    return ks.startedAt + this.handshakeWindowMs;
  }

  /** When the primary key's lifetime ends and a soft reset starts; Infinity when none is due. */
  lifetimeEnd(): number {
    const reneg = this.#o.renegotiateMs ?? DEFAULT_RENEGOTIATE_MS;
    const active = this.active;
    if (!(reneg > 0) || !active || this.negotiating) return Infinity;
    return active.activatedAt + reneg;
  }

  /** A packet for live key `ks`: VERDICT_OK or why it is dropped. Changes nothing. */
  checkPacket(ks: KeyState, pkt: ControlPacket): number {
    const op = pkt.opcode;
    if (op === P_CONTROL_SOFT_RESET_V1 && pkt.messageId !== 0) return DROP_UNEXPECTED;
    if (op !== P_ACK_V1 && !ks.fitsReceiveWindow(pkt.messageId)) return DROP_OUT_OF_WINDOW;
    // Server, first key: TLS input only from a peer that acknowledged our reset, i.e. that receives at the
    // address it sends from (OpenVPN 2.6 demands the same). A spoofed source gets no TLS work done for it.
    if (
      this.#o.role === "server" && ks.keyId === 0 && op === P_CONTROL_V1 &&
      !ks.reliable.acknowledged(0) && !acksInclude(pkt, 0)
    ) {
      return DROP_UNEXPECTED;
    }
    return VERDICT_OK;
  }

  /**
   * A packet for a key-id without a live key: only the peer's reset opening the next key may create one
   * (answerOpener). `commonName` names the peer in the log. Changes nothing but the rate limit's warning.
   */
  checkOpener(pkt: ControlPacket, commonName: string | undefined): number {
    const op = pkt.opcode;
    if (op === P_CONTROL_HARD_RESET_CLIENT_V2 && this.#keys.length === 0 && pkt.keyId === 0) {
      // The client's first reset (the server's session was created for it).
    } else if (
      op === P_CONTROL_SOFT_RESET_V1 && pkt.keyId === this.#nextKeyId && pkt.messageId === 0 &&
      this.active !== null && !this.negotiating
    ) {
      if (!this.#peerMayRenegotiate(commonName)) return DROP_SOFT_RESET_LIMITED;
    } else {
      return DROP_BAD_KEY_ID;
    }
    // Pre-check the window so that creating state cannot be triggered by a packet we then drop.
    return pkt.messageId === 0 ? VERDICT_OK : DROP_OUT_OF_WINDOW;
  }

  /** The peer's reset that checkOpener() let through opens its key: answer it with ours. */
  answerOpener(pkt: ControlPacket): KeyState {
    const hard = pkt.opcode === P_CONTROL_HARD_RESET_CLIENT_V2;
    const ks = this.open(pkt.keyId);
    ks.reliable.sendMessage(hard ? P_CONTROL_HARD_RESET_SERVER_V2 : P_CONTROL_SOFT_RESET_V1);
    if (!hard) {
      this.#peerResets.take(this.#o.clock.now());
      this.#peerResetsLimited = false;
    }
    this.#o.log?.debug("key negotiation started by peer", { keyId: pkt.keyId });
    return ks;
  }

  /**
   * May the peer start a renegotiation now? When not, its soft reset is dropped unacknowledged, and a
   * genuine peer retransmits it later. Warns once per episode.
   */
  #peerMayRenegotiate(commonName: string | undefined): boolean {
    if (this.#peerResets.allows(this.#o.clock.now())) return true;
    if (!this.#peerResetsLimited) {
      this.#peerResetsLimited = true;
      this.#o.log?.warn("peer starts renegotiations too often; ignoring them for now", { cn: commonName });
    }
    return false;
  }
}
