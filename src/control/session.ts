/**
 * One OpenVPN control-channel session with one peer: reliability layer ↔ TLS
 * ↔ key-method 2 ↔ control messages, for the first key (key-id 0) and every
 * renegotiation (soft reset, key-ids 1..7 wrapping).
 *
 * The session never touches sockets: packets come in through receive() and go
 * out through the `send` callback (the transport adds TCP framing). Time,
 * randomness and peer-certificate verification are injected.
 *
 * Per key-id, the exchange is:
 *
 *   client                                   server
 *   HARD_RESET_CLIENT_V2 (or SOFT_RESET) ->
 *                                       <-   HARD_RESET_SERVER_V2 (or SOFT_RESET), ack
 *   P_CONTROL_V1 TLS handshake records  <->  (both ways, acked)
 *   verify server certificate                verify client certificate
 *   key-method 2 (pre-master, randoms)  ->
 *                                       <-   key-method 2 (randoms)   server: key ready
 *   PUSH_REQUEST                        ->                            (key-id 0 only)
 *                                       <-   PUSH_REPLY,...,cipher X  client: key ready
 *
 * Events: established, key, keyRetired, pushReply, message, error, closed.
 * `error` and `closed` carry a SessionEnd: a `kind` to decide on (session_end.ts
 * lists them) and a `reason` to log.
 */

import { type Clock, systemClock, systemRandom } from "./clock.ts";
import {
  controlHeaderSize,
  ControlPacket,
  decodeControlPacket,
  encodeControlPacket,
} from "./control_packet.ts";
import {
  controlMessageArgument,
  type ControlMessageKind,
  controlMessageKind,
  ControlMessageReader,
  encodeControlMessage,
} from "./control_message.ts";
import { type ControlWrap, NoWrap, WrapResult } from "./control_wrap.ts";
import {
  DROP_BAD_KEY_ID,
  DROP_BAD_OPCODE,
  DROP_MALFORMED,
  DROP_OUT_OF_WINDOW,
  DROP_REPLAY,
  DROP_SESSION_MISMATCH,
  DROP_SOFT_RESET_LIMITED,
  DROP_UNEXPECTED,
  DropCounters,
  VERDICT_OK,
} from "./drop_counters.ts";
import { Emitter } from "./emitter.ts";
import {
  decodeKeyMethod2,
  encodeKeyMethod2,
  type KeyMethod2Message,
  randomKeySource,
} from "./key_method2.ts";
import {
  acceptPushedCipher,
  type DataCipher,
  normalizeCipher,
  optionsStringCipher,
  selectCipher,
  SUPPORTED_CIPHERS,
} from "./ncp.ts";
import {
  isDataOpcode,
  nextKeyId,
  opcodeOf,
  P_ACK_V1,
  P_CONTROL_HARD_RESET_CLIENT_V2,
  P_CONTROL_HARD_RESET_SERVER_V2,
  P_CONTROL_SOFT_RESET_V1,
  P_CONTROL_V1,
  SESSION_ID_SIZE,
} from "./opcode.ts";
import {
  buildClientPeerInfo,
  type ClientPeerInfoOptions,
  IV_PROTO_CC_EXIT_NOTIFY,
  parsePeerInfo,
  peerIvProto,
} from "./peer_info.ts";
import { deriveKey2, type KeySource } from "./prf.ts";
import { buildPushReplies, parsePushOptions, type PushOptions, PushReplyAssembler } from "./push_options.ts";
import { ReliableChannel } from "./reliable.ts";
import { ControlReplayGuard } from "./replay_guard.ts";
import { SoftResetLimit } from "./soft_reset_limit.ts";
import {
  ALERT_BAD_CERTIFICATE,
  ALERT_CERTIFICATE_EXPIRED,
  ALERT_CERTIFICATE_REVOKED,
  ALERT_UNKNOWN_CA,
  fatalAlertRecord,
  TlsChannel,
  type TlsCredentials,
  type TlsSecureInfo,
} from "./tls_channel.ts";
import type { Logger } from "../log/log.ts";
import type { SessionEnd, SessionEndKind } from "./session_end.ts";

export type { SessionEnd, SessionEndKind } from "./session_end.ts";

export type Role = "client" | "server";

/** Result of checking the peer's certificate (same shape as pki/verify.ts). */
export type PeerVerifyResult = { ok: true; commonName: string; serial: string } | {
  ok: false;
  reason: string;
};

/** Checks the peer's leaf certificate (DER) and the untrusted certificates it sent after it. */
export type PeerVerifier = (der: Uint8Array, chain: Uint8Array[]) => Promise<PeerVerifyResult>;

export interface PeerIdentity {
  commonName: string;
  /** Serial, certificate (DER) and the chain sent after it, from the latest handshake or renegotiation. */
  serial: string;
  certificate: Uint8Array;
  chain: Uint8Array[];
  /** Peer-info variables (empty for most servers). */
  peerInfo: Map<string, string>;
  ivProto: number;
  /** The peer's options compatibility string. */
  remoteOptions: string;
  username: string;
  /** IV_TSVPN of a tsvpn peer, null for stock OpenVPN. */
  tsvpn: string | null;
}

export type AuthDecision = { ok: true } | { ok: false; reason: string };

/** New data-channel keys for one key-id: hand key2 + cipher + role to data/key_material.ts. */
export interface SessionKey {
  keyId: number;
  /** 256-byte key2 block from the PRF. */
  key2: Uint8Array;
  cipher: DataCipher;
  role: Role;
  /** False for keys from renegotiation. */
  initial: boolean;
}

export interface EstablishedEvent {
  keyId: number;
  peer: PeerIdentity;
  /** Server: the negotiated cipher. Client: null until the PUSH_REPLY names it. */
  cipher: DataCipher | null;
  tlsProtocol: string | null;
}

export type ControlSessionEvents = {
  established: (e: EstablishedEvent) => void;
  key: (k: SessionKey) => void;
  keyRetired: (e: { keyId: number }) => void;
  pushReply: (e: { options: PushOptions; raw: string[] }) => void;
  message: (e: { kind: ControlMessageKind; text: string }) => void;
  /** A fatal problem; `closed` follows (at once, or after a grace period that carries a refusal to the peer). */
  error: (e: SessionEnd) => void;
  closed: (e: SessionEnd) => void;
};

export interface ControlSessionOptions {
  role: Role;
  credentials: TlsCredentials;
  verifyPeer: PeerVerifier;
  /** Wire packet out; the session does not reuse the buffer. */
  send: (packet: Uint8Array) => void;
  /** tls-auth / tls-crypt / none, built by createControlWrap() for this role. */
  wrap?: ControlWrap;
  clock?: Clock;
  random?: (n: number) => Uint8Array;
  /** data-ciphers, in preference order. */
  ciphers?: readonly string[];
  proto?: "udp" | "tcp";
  /** Largest control packet on the wire (OpenVPN --tls-mtu). @default 1250 */
  tlsMtu?: number;
  /** First retransmission timeout (OpenVPN --tls-timeout). @default 2000 */
  tlsTimeoutMs?: number;
  /** A key negotiation must finish within this (OpenVPN --hand-window). @default 60000 */
  handshakeWindowMs?: number;
  /** Start a soft reset this long after a key became active; 0 disables (OpenVPN --reneg-sec). @default 3600000 */
  renegotiateMs?: number;
  /**
   * How long a replaced key stays usable for receiving (OpenVPN --tran-window, whose own
   * default is 3600 s; see DEFAULT_TRANSITION_WINDOW_MS in data/data_channel.ts). @default 60000
   */
  transitionWindowMs?: number;
  logger?: Logger;
  drops?: DropCounters;
  localSessionId?: Uint8Array;
  /** Client: extra peer-info settings. */
  peerInfo?: Omit<ClientPeerInfoOptions, "ciphers">;
  /**
   * Client: sees a complete PUSH_REPLY's option lines before they are parsed and returns those to
   * apply, or `{ reject }` to fail the push (the session ends with kind "protocol").
   */
  screenPush?: (options: string[]) => string[] | { reject: string };
  /** Client: PUSH_REQUEST repeat interval until a reply arrives. @default 2000 */
  pushRequestIntervalMs?: number;
  /** Server: peer-id pushed to the client for P_DATA_V2. */
  peerId?: number;
  /** Server: decides whether a verified client may connect. */
  authorize?: (peer: PeerIdentity) => AuthDecision | Promise<AuthDecision>;
  /** Server: options for the PUSH_REPLY (cipher, peer-id and protocol-flags are added). */
  pushOptions?: (peer: PeerIdentity) => PushOptions | Promise<PushOptions>;
  /** Server: largest PUSH_REPLY part before push-continuation. @default 1024 */
  pushChunk?: number;
  /**
   * Server: the peer's reset was answered statelessly (reset_cookie.ts; `localSessionId` is the cookie) and
   * the peer proved it received the answer, which used tls-auth/tls-crypt packet id `packetId`. The session
   * starts after that exchange: message 0 done in both directions.
   */
  answeredReset?: { remoteSessionId: Uint8Array; packetId: number };
}

type Phase = "reset" | "tls" | "verify" | "km2" | "active" | "failed";

class KeyState {
  readonly keyId: number;
  readonly reliable: ReliableChannel;
  readonly startedAt: number;
  tls: TlsChannel | null = null;
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
}

const SCRATCH = 65600;
const plainScratch = new Uint8Array(SCRATCH);
const wireScratch = new Uint8Array(SCRATCH);
const unwrapScratch = new Uint8Array(SCRATCH);

const EXIT_GRACE_MS = 2000;
const TRANSITION_WINDOW_MS = 60_000;
const AUTH_FAILED_GRACE_MS = 1000;
/** Repeated PUSH_REQUESTs are ignored this long after a PUSH_REPLY (OpenVPN push.c sent_push_reply_expiry). */
const PUSH_REPLY_HOLDOFF_MS = 30_000;
/** Most TLS plaintext held while the peer certificate is being verified (a key-method 2 message is < 2 KiB). */
const MAX_PENDING_PLAIN = 64 * 1024;
/** Most control bytes queued behind a full send window: past it the peer is not acknowledging what we send. */
const MAX_SEND_BACKLOG = 512 * 1024;

/** AUTH_FAILED text: the reason may quote peer-chosen names, and NUL/comma/newline would break the message. */
function authFailedMessage(reason: string): string {
  return `AUTH_FAILED,${reason.replace(/[,\0\r\n]/g, " ")}`;
}

function isAllZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function acksInclude(pkt: ControlPacket, id: number): boolean {
  for (let i = 0; i < pkt.ackCount; i++) if (pkt.acks[i] === id) return true;
  return false;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function alertFor(reason: string): number {
  if (/revoked/i.test(reason)) return ALERT_CERTIFICATE_REVOKED;
  if (/expired|not yet valid/i.test(reason)) return ALERT_CERTIFICATE_EXPIRED;
  if (/CA|issuer|chain|signature/i.test(reason)) return ALERT_UNKNOWN_CA;
  return ALERT_BAD_CERTIFICATE;
}

export class ControlSession extends Emitter<ControlSessionEvents> {
  readonly role: Role;
  readonly localSessionId: Uint8Array;
  readonly #remoteSessionId = new Uint8Array(SESSION_ID_SIZE);
  #remoteKnown = false;

  readonly #o: ControlSessionOptions;
  readonly #clock: Clock;
  readonly #random: (n: number) => Uint8Array;
  readonly #wrap: ControlWrap;
  readonly #ciphers: readonly string[];
  readonly #drops: DropCounters;
  readonly #log: Logger | undefined;
  readonly #maxPayload: number;

  readonly #guard = new ControlReplayGuard();
  readonly #wrapResult = new WrapResult();
  readonly #pkt = new ControlPacket();
  #sendPid = 0;
  readonly #wrapTime: number;

  readonly #keys: KeyState[] = [];
  #primary: KeyState | null = null;
  #nextKeyId = 0;
  /** Renegotiations the peer may start (soft_reset_limit.ts). */
  readonly #peerResets: SoftResetLimit;
  #peerResetsLimited = false;

  #peer: PeerIdentity | null = null;
  #cipher: DataCipher | null = null;
  #established = false;
  #authRejected: string | null = null;
  #pushed = false;
  #pushPending = false;
  #pushAsm = new PushReplyAssembler();
  #pushRequestAt = Infinity;
  /** Server: when the last PUSH_REPLY went out. */
  #pushRepliedAt = -Infinity;
  #peerCcExit = false;
  /** Client: key2 of key-id 0, held until the PUSH_REPLY names the cipher. */
  #pendingKey2: Uint8Array | null = null;

  #timer: number | null = null;
  #flushQueued = false;
  /** Pending close: finish at the deadline, or (exit notification) once what we sent is acknowledged. */
  #closing: { end: SessionEnd; deadline: number; sent: boolean; untilAcked: boolean } | null = null;
  #closed = false;

  constructor(options: ControlSessionOptions) {
    super();
    this.#o = options;
    this.role = options.role;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? systemRandom;
    this.#wrap = options.wrap ?? new NoWrap();
    this.#ciphers = options.ciphers ?? SUPPORTED_CIPHERS;
    this.#drops = options.drops ?? new DropCounters();
    this.#log = options.logger;
    this.localSessionId = options.localSessionId?.slice() ?? this.#random(SESSION_ID_SIZE);
    this.#wrapTime = Math.floor(this.#clock.now() / 1000) >>> 0;
    this.#peerResets = new SoftResetLimit(this.#clock.now());
    const mtu = options.tlsMtu ?? 1250;
    this.#maxPayload = mtu - this.#wrap.overhead - controlHeaderSize(8, true);
    if (this.#maxPayload < 64) throw new RangeError(`tls-mtu ${mtu} leaves no room for control payload`);
    for (const c of this.#ciphers) {
      if (!normalizeCipher(c)) throw new RangeError(`Unsupported data cipher ${c}`);
    }
    if (options.answeredReset) this.#resumeAnsweredReset(options.answeredReset);
  }

  #resumeAnsweredReset(r: { remoteSessionId: Uint8Array; packetId: number }): void {
    if (this.role !== "server") throw new Error("Only a server session resumes an answered reset");
    this.#remoteSessionId.set(r.remoteSessionId.subarray(0, SESSION_ID_SIZE));
    this.#remoteKnown = true;
    this.#sendPid = r.packetId >>> 0;
    const ks = this.#newKey(0, 1);
    ks.peerResetSeen = true;
    this.#primary = ks;
    this.#nextKeyId = nextKeyId(0);
  }

  /** The peer's session id, or null before its first packet. */
  get remoteSessionId(): Uint8Array | null {
    return this.#remoteKnown ? this.#remoteSessionId.slice() : null;
  }

  get peer(): PeerIdentity | null {
    return this.#peer;
  }

  get cipher(): DataCipher | null {
    return this.#cipher;
  }

  get established(): boolean {
    return this.#established;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Server: true once the peer acknowledged our first reset, which shows it receives at the address it
   * sends from. Until then the session may have been opened by a spoofed packet.
   */
  get resetAcknowledged(): boolean {
    const k0 = this.#keys.find((k) => k.keyId === 0);
    return this.#established || (k0 !== undefined && k0.reliable.acknowledged(0));
  }

  /** Key-id of the current primary key, -1 before the first key is active. */
  get activeKeyId(): number {
    return this.#primary && this.#primary.phase === "active" ? this.#primary.keyId : -1;
  }

  get drops(): DropCounters {
    return this.#drops;
  }

  /** Client: sends the hard reset that opens the session. */
  start(): void {
    if (this.role !== "client") throw new Error("Only a client session starts itself");
    if (this.#keys.length > 0) return;
    const ks = this.#newKey(0);
    ks.reliable.sendMessage(P_CONTROL_HARD_RESET_CLIENT_V2);
    this.#primary = ks;
    this.#nextKeyId = nextKeyId(0);
    this.#scheduleFlush();
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

  #receive(wire: Uint8Array, off: number, len: number): number {
    if (this.#closed || len < 1) return DROP_UNEXPECTED;
    if (isDataOpcode(opcodeOf(wire[off]))) return DROP_BAD_OPCODE;
    const res = this.#wrapResult;
    let v = this.#wrap.unwrap(wire, off, len, unwrapScratch, res);
    if (v !== VERDICT_OK) return v;
    const pkt = this.#pkt;
    v = decodeControlPacket(res.buffer, res.offset, res.length, pkt);
    if (v !== VERDICT_OK) return v;
    const op = pkt.opcode;
    // Who may send what.
    if (this.role === "server" && op === P_CONTROL_HARD_RESET_SERVER_V2) return DROP_UNEXPECTED;
    if (this.role === "client" && op === P_CONTROL_HARD_RESET_CLIENT_V2) return DROP_UNEXPECTED;
    // Session ids: the sender's must be the known peer; acks must name us.
    if (this.#remoteKnown) {
      if (!sameBytes(pkt.sessionId, this.#remoteSessionId)) return DROP_SESSION_MISMATCH;
    } else {
      const opener = this.role === "server" ? P_CONTROL_HARD_RESET_CLIENT_V2 : P_CONTROL_HARD_RESET_SERVER_V2;
      if (op !== opener) return DROP_UNEXPECTED;
      // OpenVPN refuses an undefined (all-zero) session id.
      if (isAllZero(pkt.sessionId)) return DROP_MALFORMED;
      // The server's reset must acknowledge ours (2.6 servers always do): otherwise anyone who can reach our
      // port could pin a made-up server session id first and the real server's packets would all mismatch.
      if (this.role === "client" && !acksInclude(pkt, 0)) return DROP_UNEXPECTED;
    }
    if (pkt.ackCount > 0 && !sameBytes(pkt.remoteSessionId, this.localSessionId)) {
      return DROP_SESSION_MISMATCH;
    }
    if (this.#wrap.mode !== "none" && !this.#guard.check(res.packetId, res.time)) return DROP_REPLAY;
    // Key state lookup or creation.
    let ks = this.#keys.find((k) => k.keyId === pkt.keyId && k.phase !== "failed");
    let created = false;
    if (!ks) {
      if (op === P_CONTROL_HARD_RESET_CLIENT_V2 && this.#keys.length === 0 && pkt.keyId === 0) {
        created = true;
      } else if (
        op === P_CONTROL_SOFT_RESET_V1 && pkt.keyId === this.#nextKeyId && pkt.messageId === 0 &&
        this.#primary?.phase === "active" && !this.#keys.some((k) => k.phase !== "active")
      ) {
        if (!this.#peerResetAllowed()) return DROP_SOFT_RESET_LIMITED;
        created = true;
      } else {
        return DROP_BAD_KEY_ID;
      }
    } else if (op === P_CONTROL_SOFT_RESET_V1 && pkt.messageId !== 0) {
      return DROP_UNEXPECTED;
    }
    if (created) {
      // Pre-check the window so that creating state cannot be triggered by a packet we then drop.
      if (pkt.messageId !== 0) return DROP_OUT_OF_WINDOW;
    } else if (ks && op !== P_ACK_V1 && !this.#messageFits(ks, pkt.messageId)) {
      return DROP_OUT_OF_WINDOW;
    }
    // Server, first key: TLS input only from a peer that acknowledged our reset, i.e. that receives at the
    // address it sends from (OpenVPN 2.6 demands the same). A spoofed source gets no TLS work done for it.
    if (
      this.role === "server" && ks && ks.keyId === 0 && op === P_CONTROL_V1 &&
      !ks.reliable.acknowledged(0) && !acksInclude(pkt, 0)
    ) {
      return DROP_UNEXPECTED;
    }
    // Accepted: from here on state changes.
    if (this.#wrap.mode !== "none") this.#guard.commit(res.packetId, res.time);
    if (!this.#remoteKnown) {
      this.#remoteSessionId.set(pkt.sessionId);
      this.#remoteKnown = true;
    }
    if (created) {
      ks = this.#newKey(pkt.keyId);
      ks.reliable.sendMessage(
        op === P_CONTROL_HARD_RESET_CLIENT_V2 ? P_CONTROL_HARD_RESET_SERVER_V2 : P_CONTROL_SOFT_RESET_V1,
      );
      this.#nextKeyId = nextKeyId(pkt.keyId);
      if (pkt.keyId === 0) this.#primary = ks;
      if (op === P_CONTROL_SOFT_RESET_V1) this.#peerResetStarted();
      this.#log?.debug("key negotiation started by peer", { keyId: pkt.keyId });
    }
    const k = ks!;
    k.reliable.receiveAcks(pkt.acks, pkt.ackCount);
    if (op !== P_ACK_V1) {
      k.reliable.receive(op, pkt.messageId, pkt.payload());
      for (const m of k.reliable.takeDelivered()) this.#onMessage(k, m.opcode, m.messageId, m.payload);
    }
    this.#scheduleFlush();
    return VERDICT_OK;
  }

  /**
   * May the peer start a renegotiation now (soft_reset_limit.ts)? When not, its soft reset is dropped
   * unacknowledged, and a genuine peer retransmits it later. Warns once per episode.
   */
  #peerResetAllowed(): boolean {
    if (this.#peerResets.allows(this.#clock.now())) return true;
    if (!this.#peerResetsLimited) {
      this.#peerResetsLimited = true;
      this.#log?.warn("peer starts renegotiations too often; ignoring them for now", {
        cn: this.#peer?.commonName,
      });
    }
    return false;
  }

  #peerResetStarted(): void {
    this.#peerResets.take(this.#clock.now());
    this.#peerResetsLimited = false;
  }

  #messageFits(ks: KeyState, id: number): boolean {
    // Mirrors ReliableChannel's receive window so an out-of-window packet is rejected before any commit.
    return id < ks.reliable.nextReceiveId || id - ks.reliable.nextReceiveId < 12;
  }

  #newKey(keyId: number, startId = 0): KeyState {
    const ks = new KeyState(
      keyId,
      new ReliableChannel({
        maxPayload: this.#maxPayload,
        initialTimeoutMs: this.#o.tlsTimeoutMs ?? 2000,
        startId,
      }),
      this.#clock.now(),
      randomKeySource(this.#random, this.role === "client"),
    );
    this.#keys.push(ks);
    // The server's TLS starts with the peer's first P_CONTROL_V1 (#onMessage): a session opened by a reset
    // that is never followed up costs no TLS context.
    return ks;
  }

  /** In-order reliable message for a key state. */
  #onMessage(ks: KeyState, opcode: number, id: number, payload: Uint8Array): void {
    if (id === 0) {
      const expect = ks.keyId === 0
        ? (this.role === "server" ? P_CONTROL_HARD_RESET_CLIENT_V2 : P_CONTROL_HARD_RESET_SERVER_V2)
        : P_CONTROL_SOFT_RESET_V1;
      if (opcode !== expect) {
        this.#failKey(ks, "protocol", `peer opened key ${ks.keyId} with an unexpected packet`);
        return;
      }
      ks.peerResetSeen = true;
      if (this.role === "client") this.#startTls(ks);
      return;
    }
    if (opcode !== P_CONTROL_V1) {
      this.#failKey(ks, "protocol", `unexpected reset packet inside key ${ks.keyId}`);
      return;
    }
    if (!ks.tls && this.role === "server") this.#startTls(ks);
    ks.tls?.feed(payload);
  }

  #startTls(ks: KeyState): void {
    if (ks.tls) return;
    ks.phase = "tls";
    ks.tls = new TlsChannel(this.role, this.#o.credentials, {
      onCiphertext: (b) => {
        // Still sent after the key failed: carries a refusal (alert, AUTH_FAILED) to the peer.
        if (this.#closed) return;
        ks.reliable.write(b);
        this.#scheduleFlush();
      },
      onSecure: (info) => {
        this.#onSecure(ks, info).catch((e) =>
          this.#failKey(ks, "internal", `internal error: ${(e as Error)?.message ?? e}`)
        );
      },
      onPlaintext: (b) => this.#onPlaintext(ks, b),
      onError: (reason) => this.#failKey(ks, "tls", reason),
    });
  }

  async #onSecure(ks: KeyState, info: TlsSecureInfo): Promise<void> {
    if (ks.phase === "failed" || this.#closed) return;
    ks.phase = "verify";
    ks.tlsProtocol = info.protocol;
    const who = this.role === "server" ? "client" : "server";
    if (!info.peerCertificate) {
      this.#refuseCertificate(ks, `${who} presented no certificate`);
      return;
    }
    let result: PeerVerifyResult;
    try {
      result = await this.#o.verifyPeer(info.peerCertificate, info.peerChain);
    } catch (e) {
      result = { ok: false, reason: `verifier failed: ${(e as Error).message}` };
    }
    if ((ks.phase as Phase) === "failed" || this.#closed) return;
    if (!result.ok) {
      this.#refuseCertificate(ks, `${who} certificate refused: ${result.reason}`);
      return;
    }
    if (this.#peer && this.#peer.commonName !== result.commonName) {
      this.#refuseCertificate(ks, `${who} certificate changed common name during renegotiation`);
      return;
    }
    this.#log?.info(`${who} certificate verified`, {
      cn: result.commonName,
      keyId: ks.keyId,
      tls: info.protocol,
    });
    if (!this.#peer) {
      this.#peer = {
        commonName: result.commonName,
        serial: result.serial,
        certificate: info.peerCertificate,
        chain: info.peerChain,
        peerInfo: new Map(),
        ivProto: 0,
        remoteOptions: "",
        username: "",
        tsvpn: null,
      };
    } else {
      // A renegotiation may present another certificate of the same name: later checks (CRL reload) use it.
      this.#peer.serial = result.serial;
      this.#peer.certificate = info.peerCertificate;
      this.#peer.chain = info.peerChain;
    }
    ks.phase = "km2";
    if (this.role === "client") this.#writeKm2(ks);
    const pending = ks.pendingPlain;
    ks.pendingPlain = [];
    ks.pendingPlainBytes = 0;
    for (const b of pending) this.#onPlaintext(ks, b);
  }

  #refuseCertificate(ks: KeyState, reason: string): void {
    // The handshake already completed at the TLS layer; a fatal alert makes a stock peer stop at once.
    ks.reliable.write(fatalAlertRecord(alertFor(reason)));
    this.#scheduleFlush();
    this.#log?.error(reason, { keyId: ks.keyId });
    this.#failKey(ks, "verify", reason, EXIT_GRACE_MS / 2);
  }

  #onPlaintext(ks: KeyState, bytes: Uint8Array): void {
    if (ks.phase === "failed" || this.#closed) return;
    if (ks.phase === "tls" || ks.phase === "verify") {
      ks.pendingPlainBytes += bytes.length;
      if (ks.pendingPlainBytes > MAX_PENDING_PLAIN) {
        this.#failKey(ks, "protocol", "peer sent too much data before its certificate was verified");
        return;
      }
      ks.pendingPlain.push(bytes);
      return;
    }
    if (!ks.remote) {
      const buf = new Uint8Array(ks.km2Buf.length + bytes.length);
      buf.set(ks.km2Buf);
      buf.set(bytes, ks.km2Buf.length);
      const r = decodeKeyMethod2(buf, this.role === "server");
      if (r.status === "incomplete") {
        if (buf.length > 65536) this.#failKey(ks, "protocol", "key-method 2 message too long");
        else ks.km2Buf = buf;
        return;
      }
      if (r.status === "invalid") {
        this.#failKey(ks, "protocol", `bad key-method 2 message: ${r.reason}`);
        return;
      }
      ks.km2Buf = new Uint8Array(0);
      ks.remote = r.message;
      this.#onRemoteKm2(ks).catch((e) =>
        this.#failKey(ks, "internal", `internal error: ${(e as Error)?.message ?? e}`)
      );
      const rest = buf.subarray(r.consumed);
      if (rest.length === 0) return;
      bytes = rest;
    }
    const msgs = ks.reader.push(bytes);
    if (msgs === null) {
      this.#failKey(ks, "protocol", "control message too long");
      return;
    }
    for (const m of msgs) this.#onControlMessage(ks, m);
  }

  #writeKm2(ks: KeyState): void {
    const client = this.role === "client";
    const msg: KeyMethod2Message = {
      keySource: ks.local,
      options: this.#optionsString(),
      username: "",
      password: "",
      peerInfo: client ? buildClientPeerInfo({ ciphers: this.#ciphers, ...this.#o.peerInfo }) : "",
    };
    ks.tls?.write(encodeKeyMethod2(msg, client));
  }

  #optionsString(): string {
    const cipher = this.#cipher ?? normalizeCipher(this.#ciphers[0]) ?? "AES-256-GCM";
    const keysize = cipher === "AES-128-GCM" ? 128 : 256;
    const proto = this.#o.proto === "tcp"
      ? (this.role === "server" ? "TCPv4_SERVER" : "TCPv4_CLIENT")
      : "UDPv4";
    return `V4,dev-type tun,link-mtu 1549,tun-mtu 1500,proto ${proto},cipher ${cipher},auth [null-digest],` +
      `keysize ${keysize},key-method 2,tls-${this.role}`;
  }

  async #onRemoteKm2(ks: KeyState): Promise<void> {
    const remote = ks.remote!;
    const initial = !this.#established;
    if (initial && this.#peer) {
      const info = parsePeerInfo(remote.peerInfo);
      this.#peer.peerInfo = info;
      this.#peer.ivProto = peerIvProto(info);
      this.#peer.remoteOptions = remote.options;
      this.#peer.username = remote.username;
      this.#peer.tsvpn = info.get("IV_TSVPN") ?? null;
      this.#peerCcExit = (this.#peer.ivProto & IV_PROTO_CC_EXIT_NOTIFY) !== 0;
    }
    if (this.role === "server") {
      if (initial) {
        let decision: AuthDecision = { ok: true };
        if (this.#o.authorize) {
          try {
            decision = await this.#o.authorize(this.#peer!);
          } catch (e) {
            decision = { ok: false, reason: `authorization failed: ${(e as Error).message}` };
          }
        }
        if (ks.phase === "failed" || this.#closed) return;
        if (decision.ok) {
          const cipher = selectCipher(this.#ciphers, this.#peer!.peerInfo, remote.options);
          if (!cipher) decision = { ok: false, reason: "no common data cipher" };
          else this.#cipher = cipher;
        }
        this.#writeKm2(ks);
        if (!decision.ok) {
          this.#authRejected = decision.reason;
          this.#log?.warn("client refused", { cn: this.#peer!.commonName, reason: decision.reason });
          this.#sendMessage(ks, authFailedMessage(decision.reason));
          this.#failKey(ks, "auth-failed", `client refused: ${decision.reason}`, AUTH_FAILED_GRACE_MS);
          return;
        }
      } else {
        this.#writeKm2(ks);
      }
    }
    const key2 = this.role === "client"
      ? deriveKey2(ks.local, remote.keySource, this.localSessionId, this.#remoteSessionId)
      : deriveKey2(remote.keySource, ks.local, this.#remoteSessionId, this.localSessionId);
    this.#activate(ks);
    if (initial) {
      this.#established = true;
      this.emit("established", {
        keyId: ks.keyId,
        peer: this.#peer!,
        cipher: this.#cipher,
        tlsProtocol: ks.tlsProtocol,
      });
      if (this.role === "client") {
        this.#pendingKey2 = key2;
        this.#sendPushRequest();
      } else {
        this.emit("key", { keyId: ks.keyId, key2, cipher: this.#cipher!, role: this.role, initial: true });
      }
    } else if (this.#cipher) {
      this.emit("key", { keyId: ks.keyId, key2, cipher: this.#cipher, role: this.role, initial: false });
    }
    this.#arm();
  }

  #activate(ks: KeyState): void {
    const now = this.#clock.now();
    ks.phase = "active";
    ks.activatedAt = now;
    const old = this.#primary;
    if (old && old !== ks) {
      for (const k of this.#keys) {
        if (k !== ks && k !== old && k.retireAt !== Infinity) this.#retire(k);
      }
      old.retireAt = now + (this.#o.transitionWindowMs ?? TRANSITION_WINDOW_MS);
    }
    this.#primary = ks;
    this.#log?.info("key negotiation complete", { keyId: ks.keyId, role: this.role });
  }

  #retire(ks: KeyState): void {
    const i = this.#keys.indexOf(ks);
    if (i < 0) return;
    this.#keys.splice(i, 1);
    ks.tls?.destroy();
    if (ks.phase === "active") this.emit("keyRetired", { keyId: ks.keyId });
  }

  #sendMessage(ks: KeyState, text: string): void {
    ks.tls?.write(encodeControlMessage(text));
  }

  /** Sends a control message (e.g. INFO) over the primary key's TLS channel. */
  sendControlMessage(text: string): void {
    const ks = this.#primary;
    if (!ks || ks.phase !== "active") throw new Error("Control channel is not established");
    this.#sendMessage(ks, text);
  }

  #sendPushRequest(): void {
    const ks = this.#primary;
    if (!ks || this.#pushed) return;
    this.#sendMessage(ks, "PUSH_REQUEST");
    this.#pushRequestAt = this.#clock.now() + (this.#o.pushRequestIntervalMs ?? 2000);
  }

  #onControlMessage(ks: KeyState, text: string): void {
    const kind = controlMessageKind(text);
    this.#log?.debug("control message", { kind, keyId: ks.keyId });
    switch (kind) {
      case "PUSH_REQUEST":
        if (this.role === "server") {
          this.#onPushRequest(ks).catch((e) =>
            this.#fatal("internal", `push reply failed: ${(e as Error)?.message ?? e}`)
          );
        }
        return;
      case "PUSH_REPLY":
        if (this.role === "client") this.#onPushReply(text);
        return;
      case "AUTH_FAILED":
        if (this.role === "client") {
          const why = controlMessageArgument(text, kind);
          this.#fatal("auth-failed", `server refused authentication${why ? ": " + why : ""}`);
        }
        return;
      case "EXIT":
        if (this.role === "server") this.#closeOnGoodbye("exit", "client sent EXIT");
        return;
      case "RESTART":
      case "HALT":
        if (this.role === "client") {
          this.emit("message", { kind, text });
          this.#closeOnGoodbye(kind === "HALT" ? "halt" : "restart", `server sent ${text}`);
        }
        return;
      default:
        this.emit("message", { kind, text });
    }
  }

  async #onPushRequest(ks: KeyState): Promise<void> {
    if (this.#authRejected) {
      this.#sendMessage(ks, authFailedMessage(this.#authRejected));
      return;
    }
    if (!this.#established || this.#pushPending) return;
    // One reply per holdoff: a peer repeating PUSH_REQUEST without acknowledging would otherwise queue a
    // full PUSH_REPLY per request (many fit in one TLS record).
    if (this.#clock.now() < this.#pushRepliedAt + PUSH_REPLY_HOLDOFF_MS) return;
    this.#pushPending = true;
    let opts: PushOptions = {};
    try {
      opts = this.#o.pushOptions ? await this.#o.pushOptions(this.#peer!) : {};
    } catch (e) {
      this.#pushPending = false;
      this.#fatal("internal", `push options failed: ${(e as Error).message}`);
      return;
    }
    this.#pushPending = false;
    if (this.#closed) return;
    const flags = new Set(opts.protocolFlags ?? []);
    if (this.#peerCcExit) flags.add("cc-exit");
    const full: PushOptions = {
      ...opts,
      peerId: opts.peerId ?? this.#o.peerId,
      cipher: this.#cipher!,
      protocolFlags: flags.size > 0 ? [...flags] : undefined,
    };
    const target = this.#primary ?? ks;
    for (const part of buildPushReplies(full, this.#o.pushChunk)) this.#sendMessage(target, part);
    this.#pushed = true;
    this.#pushRepliedAt = this.#clock.now();
    this.#flushSoon();
  }

  #onPushReply(text: string): void {
    if (this.#pushed) return;
    const received = this.#pushAsm.add(text);
    if (this.#pushAsm.overflowed) {
      this.#fatal("protocol", "server sent a PUSH_REPLY longer than we accept");
      return;
    }
    if (!received) return;
    const raw = this.#o.screenPush ? this.#o.screenPush(received) : received;
    if (!Array.isArray(raw)) {
      this.#fatal("protocol", raw.reject);
      return;
    }
    const options = parsePushOptions(raw);
    let cipher: DataCipher | null = null;
    if (options.cipher) {
      cipher = acceptPushedCipher(options.cipher, this.#ciphers);
      if (!cipher) {
        this.#fatal("protocol", `server pushed cipher ${options.cipher} which is not in our data-ciphers`);
        return;
      }
    } else {
      const fromOptions = optionsStringCipher(this.#primary?.remote?.options ?? "");
      cipher = fromOptions ? acceptPushedCipher(fromOptions, this.#ciphers) : null;
      if (!cipher) {
        this.#fatal("protocol", "server pushed no usable cipher");
        return;
      }
    }
    this.#cipher = cipher;
    this.#peerCcExit = (options.protocolFlags ?? []).includes("cc-exit");
    this.#pushed = true;
    this.#pushRequestAt = Infinity;
    this.emit("pushReply", { options, raw });
    const ks = this.#primary!;
    const key2 = this.#pendingKey2;
    this.#pendingKey2 = null;
    if (key2) this.emit("key", { keyId: ks.keyId, key2, cipher, role: this.role, initial: true });
  }

  /**
   * Starts a soft reset (new key-id) now; false when one is already running or not established.
   * `reason` is logged (e.g. "bytes" when the data key carried reneg_bytes).
   */
  renegotiate(reason = "requested"): boolean {
    if (this.#closed || !this.#established || this.#primary?.phase !== "active") return false;
    if (this.#keys.some((k) => k.phase !== "active")) return false;
    const ks = this.#newKey(this.#nextKeyId);
    this.#nextKeyId = nextKeyId(ks.keyId);
    ks.reliable.sendMessage(P_CONTROL_SOFT_RESET_V1);
    this.#log?.info("renegotiating", { keyId: ks.keyId, reason, cn: this.#peer?.commonName });
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
    const ks = this.#primary;
    const end = { kind, reason };
    if (notify && this.#established && ks?.phase === "active" && this.#peerCcExit) {
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
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
    for (const k of this.#keys) k.tls?.destroy();
    this.#keys.length = 0;
    this.#primary = null;
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

  #flush(): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    for (const ks of this.#keys) {
      if (ks.reliable.backlogBytes > MAX_SEND_BACKLOG && ks.phase !== "failed") {
        this.#failKey(ks, "timeout", "peer stopped acknowledging control packets");
        return;
      }
    }
    for (const ks of this.#keys) {
      for (const o of ks.reliable.poll(now)) {
        const n = encodeControlPacket(
          plainScratch,
          0,
          o.opcode,
          ks.keyId,
          this.localSessionId,
          o.acks,
          o.acks.length,
          this.#remoteSessionId,
          o.messageId,
          o.payload,
        );
        if (n < 0) continue;
        this.#sendPid = (this.#sendPid + 1) >>> 0;
        const w = this.#wrap.wrap(plainScratch, n, this.#sendPid, this.#wrapTime, wireScratch);
        this.#o.send(wireScratch.slice(0, w));
        if (this.#closing && o.messageId >= 0) this.#closing.sent = true;
      }
    }
    this.#arm();
  }

  /** Sets the single timer to the earliest pending deadline and handles expired ones. */
  #arm(): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    if (this.#closing) {
      const acked = this.#closing.untilAcked && this.#closing.sent &&
        this.#keys.every((k) => k.reliable.inflight === 0 && k.reliable.backlog === 0);
      if (now >= this.#closing.deadline || acked) {
        this.#finish(this.#closing.end);
        return;
      }
    }
    const hand = this.#o.handshakeWindowMs ?? 60_000;
    const reneg = this.#o.renegotiateMs ?? 3_600_000;
    let next = this.#closing ? this.#closing.deadline : Infinity;
    for (const ks of [...this.#keys]) {
      if (ks.phase !== "active" && ks.phase !== "failed") {
        const deadline = ks.startedAt + hand;
        if (now >= deadline) {
          this.#failKey(
            ks,
            "timeout",
            `TLS key negotiation for key ${ks.keyId} did not complete within ${hand / 1000} s`,
          );
          return;
        }
        next = Math.min(next, deadline);
      }
      if (ks.retireAt !== Infinity) {
        if (now >= ks.retireAt) {
          this.#retire(ks);
          continue;
        }
        next = Math.min(next, ks.retireAt);
      }
      next = Math.min(next, ks.reliable.nextWakeup());
    }
    const p = this.#primary;
    if (reneg > 0 && p && p.phase === "active" && !this.#keys.some((k) => k.phase !== "active")) {
      const at = p.activatedAt + reneg;
      if (now >= at) {
        this.renegotiate("reneg_seconds");
        return;
      }
      next = Math.min(next, at);
    }
    if (this.#pushRequestAt !== Infinity && !this.#pushed) {
      if (now >= this.#pushRequestAt) {
        this.#sendPushRequest();
        this.#flushSoon();
      }
      next = Math.min(next, this.#pushRequestAt);
    }
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
    if (next === Infinity) return;
    this.#timer = this.#clock.setTimer(() => {
      this.#timer = null;
      this.#guarded(() => this.#flush());
    }, Math.max(0, next - now));
  }
}
