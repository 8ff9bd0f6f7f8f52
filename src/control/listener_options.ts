/**
 * What a ControlListener is built from: credentials, the hooks that hand each
 * session to the server (authorize, push, onSession, onData) and the limits on
 * sessions and strangers. Kept apart so listener.ts holds only demultiplexing.
 */

import type { Clock } from "./clock.ts";
import type { ControlWrapConfig } from "./control_wrap.ts";
import type { PeerContext } from "./peer_table.ts";
import type { PushOptions } from "./push_options.ts";
import type {
  AuthDecision,
  AuthRequest,
  ControlSession,
  ControlSessionOptions,
  PeerIdentity,
  PeerVerifier,
} from "./session.ts";
import type { GateOptions } from "./stranger_gate.ts";
import type { TlsCredentials } from "./tls_channel.ts";
import type { Logger } from "../log/log.ts";

/** Stranger limits (stranger_gate.ts, reset_cookie.ts): UDP reset cookies, reset and answer rates. */
type StrangerOptions = Pick<
  GateOptions,
  | "resetCookies"
  | "resetReplyRate"
  | "resetReplyBurst"
  | "sourceResetRate"
  | "sourceResetBurst"
  | "sourceTableSize"
>;

export interface ControlListenerOptions extends StrangerOptions {
  credentials: TlsCredentials;
  verifyPeer: PeerVerifier;
  wrap: ControlWrapConfig;
  /** Further per-session settings (ciphers, clock, timeouts, renegotiation...). */
  session?: Partial<
    Omit<
      ControlSessionOptions,
      "role" | "send" | "wrap" | "credentials" | "verifyPeer" | "authorize" | "reauthorize" | "pushOptions"
    >
  >;
  authorize?: (
    peer: PeerIdentity,
    ctx: PeerContext,
    auth: AuthRequest,
  ) => AuthDecision | Promise<AuthDecision>;
  /** Renegotiations: see ControlSessionOptions.reauthorize. */
  reauthorize?: (
    peer: PeerIdentity,
    ctx: PeerContext,
    auth: AuthRequest,
  ) => AuthDecision | Promise<AuthDecision>;
  pushOptions?: (peer: PeerIdentity, ctx: PeerContext) => PushOptions | Promise<PushOptions>;
  /** Called for each new session before its first packet is processed: subscribe to its events here. */
  onSession?: (session: ControlSession, ctx: PeerContext) => void;
  /** Data-channel packets: `session` is null when no peer matches (the data layer counts it). */
  onData?: (
    buf: Uint8Array,
    off: number,
    len: number,
    session: ControlSession | null,
    ctx: PeerContext | null,
  ) => void;
  /** @default 4096 */
  maxSessions?: number;
  /** New sessions per second (token bucket). @default 100 */
  handshakeRate?: number;
  /** @default 200 */
  handshakeBurst?: number;
  /** Randomness for the cookie key. */
  random?: (n: number) => Uint8Array;
  clock?: Clock;
  logger?: Logger;
}
