/**
 * The public face of a control session (session.ts): its options, the events it emits and what they
 * carry. session.ts re-exports all of them, so callers import from there.
 */

import type { Clock } from "./clock.ts";
import type { ControlMessageKind } from "./control_message.ts";
import type { ControlWrap } from "./control_wrap.ts";
import type { DropCounters } from "./drop_counters.ts";
import type { DataCipher } from "./ncp.ts";
import type { ClientPeerInfoOptions } from "./peer_info.ts";
import type { PushOptions } from "./push_options.ts";
import type { SessionEnd } from "./session_end.ts";
import type { TlsCredentials } from "./tls_channel.ts";
import type { Logger } from "../log/log.ts";

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

/**
 * Thrown (or rejected with) by the server's `pushOptions` to refuse the client
 * at the push step (a failing client-connect script): it gets AUTH_FAILED, as
 * a refusal at authorize, instead of an internal error.
 */
export class PushRefused extends Error {}
/** A username and password, as key-method 2 carries them (OpenVPN's auth-user-pass). */
export interface UserPass {
  username: string;
  password: string;
}

/**
 * What a client presented with one key-method 2 message, for the server's authorize/reauthorize hooks.
 * The password is a secret: hooks must not log it, and the session wipes its copy after the hook.
 */
export interface AuthRequest extends UserPass {
  keyId: number;
  /** True for key-id 0 of the session, false for a renegotiation. */
  initial: boolean;
}

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
  /**
   * A control message no protocol step consumes: INFO, INFO_PRE, AUTH_PENDING, CR_RESPONSE, keywords this
   * version does not know, and (client) the server's RESTART or HALT just before the session closes. Messages
   * layered on the control channel are read here and sent with sendControlMessage().
   */
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
  /** The device kind, named in the options string OpenVPN peers compare. @default "tun" */
  devType?: "tun" | "tap";
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
   * default is 3600 s; see DEFAULT_TRANSITION_WINDOW_MS in data/key_lifetime.ts). @default 60000
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
  /**
   * Client: the username and password to send in each key-method 2 message (OpenVPN's auth-user-pass);
   * asked at every (re)negotiation, so an auth-token received in a push can replace the password.
   */
  userPass?: () => UserPass | null;
  /** Client: the server pushed `auth-token TOKEN` (first PUSH_REPLY or a later renewal); it is kept out of the push. */
  authToken?: (token: string) => void;
  /** Client: PUSH_REQUEST repeat interval until a reply arrives. @default 2000 */
  pushRequestIntervalMs?: number;
  /** Server: peer-id pushed to the client for P_DATA_V2. */
  peerId?: number;
  /** Server: decides whether a verified client may connect (may defer: the data plane keeps running). */
  authorize?: (peer: PeerIdentity, auth: AuthRequest) => AuthDecision | Promise<AuthDecision>;
  /**
   * Server: decides whether a renegotiation's key may become active (OpenVPN re-runs
   * auth-user-pass-verify, or checks the auth-token); a refusal sends AUTH_FAILED and ends the session.
   * Absent: renegotiations are accepted.
   */
  reauthorize?: (peer: PeerIdentity, auth: AuthRequest) => AuthDecision | Promise<AuthDecision>;
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
