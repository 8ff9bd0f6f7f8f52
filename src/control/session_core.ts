/**
 * What the parts of one control session share. ControlSession (session.ts) owns the state and hands a
 * SessionCore to its parts: the key negotiation (key_negotiation.ts) and the steps only one role takes
 * (session_client.ts, session_server.ts), which plug in through RoleSteps.
 */

import type { Clock } from "./clock.ts";
import type { ControlMessageKind } from "./control_message.ts";
import type { KeySlots, KeyState } from "./key_state.ts";
import type { DataCipher } from "./ncp.ts";
import type { SessionEndKind } from "./session_end.ts";
import type { ControlSessionEvents, ControlSessionOptions, PeerIdentity, Role } from "./session_types.ts";
import type { ControlWire } from "./session_wire.ts";
import type { Logger } from "../log/log.ts";

/** What the session learned from and agreed with its peer. */
export class SessionAgreement {
  /** Set once the first certificate is verified; renegotiations must present the same common name. */
  peer: PeerIdentity | null = null;
  /** Server: chosen at the first key-method 2. Client: named by the PUSH_REPLY. */
  cipher: DataCipher | null = null;
  /** True once key-id 0 is active. */
  established = false;
  /** The peer takes exit notification over the control channel (IV_PROTO_CC_EXIT_NOTIFY, pushed cc-exit). */
  peerCcExit = false;
}

export interface SessionCore {
  readonly role: Role;
  readonly options: ControlSessionOptions;
  readonly clock: Clock;
  readonly log: Logger | undefined;
  /** data-ciphers, in preference order. */
  readonly ciphers: readonly string[];
  readonly keys: KeySlots;
  readonly wire: ControlWire;
  readonly agreed: SessionAgreement;
  /** True once the session ended. */
  readonly closed: boolean;
  emit<K extends keyof ControlSessionEvents>(event: K, arg: Parameters<ControlSessionEvents[K]>[0]): void;
  /** Writes one control message (text + NUL) into key `ks`'s TLS channel. */
  sendMessage(ks: KeyState, text: string): void;
  /** Writes our key-method 2 message into key `ks`'s TLS channel. */
  sendKeyMethod2(ks: KeyState): void;
  /** Fails key `ks`, which ends the session; with `graceMs` a refusal still reaches the peer first. */
  failKey(ks: KeyState, kind: SessionEndKind, reason: string, graceMs?: number): void;
  /** Ends the session at once with an error. */
  fatal(kind: SessionEndKind, reason: string): void;
  /** The peer said goodbye: acknowledge it, then end the session. */
  closeOnGoodbye(kind: SessionEndKind, reason: string): void;
  /** Sends what the reliability layers hold, in a microtask. */
  scheduleFlush(): void;
  /** Sends what TLS is about to emit too (a macrotask later). */
  flushSoon(): void;
}

/** Control messages one role acts on (RoleSteps.controlMessage) and the other ignores. */
export const ROLE_MESSAGES: ReadonlySet<ControlMessageKind> = new Set<ControlMessageKind>([
  "PUSH_REQUEST",
  "PUSH_REPLY",
  "AUTH_FAILED",
  "EXIT",
  "RESTART",
  "HALT",
]);

/**
 * The steps only one role takes, in the order the protocol reaches them. ControlSession calls them; a
 * control message layered on the session (ControlMessageKind) is consumed here or reaches `message`.
 */
export interface RoleSteps {
  /** TLS is up and the peer's certificate verified (the client sends its key-method 2 first). */
  certificateVerified(ks: KeyState): void;
  /**
   * The peer's key-method 2 arrived (ks.remote). Calls `ready` once the key may become active (the
   * server first authorizes a new peer and answers with its own key-method 2); returns a promise while
   * it waits.
   */
  keyMethod2Received(ks: KeyState, initial: boolean, ready: () => void): void | Promise<void>;
  /** Key-id 0 is active with the key block `key2`. */
  firstKeyReady(ks: KeyState, key2: Uint8Array): void;
  /** Acts on a control message meant for this role; false when it is not one. */
  controlMessage(ks: KeyState, kind: ControlMessageKind, text: string): boolean;
  /** Client: when PUSH_REQUEST is repeated next; Infinity when nothing is due. */
  readonly pushRequestAt: number;
  /** The PUSH_REQUEST repeat interval passed without a reply. */
  expiredPushRequest(): void;
}
