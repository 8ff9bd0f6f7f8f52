/**
 * What the client registry (client_registry.ts) is built from: the server's
 * parts it drives (datapath, pool, scripts) and the hooks other parts give it
 * (float, user auth, push extras, client events).
 */

import type { ServerConfig } from "../config/schema.ts";
import type { PeerContext } from "../control/listener.ts";
import type { AuthDecision, AuthRequest, PeerIdentity } from "../control/session.ts";
import type { Datapath } from "../datapath/datapath.ts";
import type { EndpointSlots } from "../device/datagram_socket.ts";
import type { Logger } from "../log/log.ts";
import type { AddressPool } from "../pool/address_pool.ts";
import type { ClientEvents } from "./client_env.ts";
import type { ConnectScripts } from "./connect_scripts.ts";

export interface ClientRegistryOptions {
  config: ServerConfig;
  datapath: Datapath;
  pool: AddressPool | null;
  /** Moves control session `controlPeerId` to the endpoint its data channel floated to; returns it as text. */
  float: (controlPeerId: number, endpoints: EndpointSlots, row: number) => string;
  log: Logger;
  /** Milliseconds since the epoch. */
  now: () => number;
  /** The per-client scripts; default: run from `config.server.scripts` as child processes. */
  scripts?: ConnectScripts;
  /** The device name scripts are told (`dev`). @default config.dev.name */
  dev?: () => string;
  /**
   * The deferred username/password decision (user_auth.ts), awaited before admission; absent:
   * certificates alone decide, synchronously.
   */
  userAuth?: (peer: PeerIdentity, ctx: PeerContext, auth: AuthRequest) => Promise<AuthDecision>;
  /** Options added to a client's PUSH_REPLY (the auth-token). */
  pushExtra?: (ctx: PeerContext) => string[];
  /** Told when a client's data channel comes up and when it ends (management >CLIENT:ESTABLISHED/DISCONNECT). */
  clientEvents?: ClientEvents;
}
