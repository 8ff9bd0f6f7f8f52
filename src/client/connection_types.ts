/**
 * The shapes around one connection attempt (connection.ts): what it needs,
 * what it tells the client once the server pushed, and how it ended.
 */

import type { ClientConfig, Remote } from "../config/schema.ts";
import type { ControlWrap } from "../control/control_wrap.ts";
import type { PushOptions } from "../control/push_options.ts";
import type { PeerVerifier } from "../control/session.ts";
import type { TlsCredentials } from "../control/tls_channel.ts";
import type { Datapath } from "../datapath/datapath.ts";
import type { Logger } from "../log/log.ts";
import type { openTransport, Resolver } from "./dial.ts";
import type { SwitchableSocket } from "./switchable_socket.ts";
import type { UserPassSource } from "./user_pass.ts";

export type ConnectionEnd =
  /** Never got a working tunnel: DNS, refused, no answer, TLS failure. */
  | { kind: "failed"; reason: string }
  /** Was up, then the server went silent or the transport broke (`deadPeer`: dead_peer.ts fired). */
  | { kind: "lost"; reason: string; upForMs: number; deadPeer?: boolean }
  /** The server said it is going away (RESTART, EXIT, OCC exit). */
  | { kind: "server-restart"; reason: string; upForMs: number }
  | { kind: "auth-failed"; reason: string }
  /** The server told us to stop (HALT). */
  | { kind: "halt"; reason: string }
  /** The host could not be configured as pushed, or the up script failed. */
  | { kind: "fatal"; reason: string }
  /** stop() was called. */
  | { kind: "stopped"; reason: string };

export interface ConnectedInfo {
  remote: Remote;
  address: string;
  push: PushOptions;
  raw: string[];
  serverName: string;
}

export interface ConnectionDeps {
  config: ClientConfig;
  credentials: TlsCredentials;
  /** A fresh wrap per session (tls-crypt keeps per-session state). */
  makeWrap: () => ControlWrap | undefined;
  verifyPeer: PeerVerifier;
  datapath: Datapath;
  socket: SwitchableSocket;
  resolver: Resolver;
  log: Logger;
  /** From dialling until the PUSH_REPLY. */
  handshakeTimeoutMs: number;
  /** Until the server's first packet (an unanswered UDP remote fails this fast). */
  firstResponseTimeoutMs: number;
  /** Opens the transport to the resolved remote (dial.ts openTransport; fakes in tests). */
  openTransport: typeof openTransport;
  /** Applies the push to the host; a rejection ends the connection as fatal. */
  onPush: (info: ConnectedInfo) => Promise<void>;
  /** auth.user_pass_file: the username and password (or auth-token) sent to the server. */
  userPass?: UserPassSource | null;
}
