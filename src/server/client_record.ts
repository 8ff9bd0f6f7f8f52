/** The server's record of one client session (client_registry.ts owns them). */

import type { ClientOverride } from "../config/schema.ts";
import type { PeerContext } from "../control/listener.ts";
import type { ControlSession } from "../control/session.ts";
import type { DataChannel } from "../data/data_channel.ts";
import type { EndpointSlots } from "../device/datagram_socket.ts";
import type { Lease } from "../pool/address_pool.ts";

export interface ClientRecord {
  readonly session: ControlSession;
  readonly ctx: PeerContext;
  /** Current link endpoint (UDP address or TCP connection row). */
  readonly endpoint: EndpointSlots;
  /** Common name, once authorized. */
  name: string | null;
  /** The datapath's peer id, -1 until authorized. */
  peerId: number;
  lease: Lease | null;
  override: ClientOverride | null;
  channel: DataChannel | null;
  /** True from the first data key on: the datapath carries its packets. */
  attached: boolean;
  released: boolean;
  /** Milliseconds since the epoch when it attached. */
  connectedSince: number;
  cipher: string;
  serial: string;
  /** Milliseconds since the epoch when it was authorized. */
  authorizedAt: number;
  /** The push reply's wait for client-config-dir and client-connect (client_connect.ts), once per session. */
  planning: Promise<void> | null;
  /** It was let in (past the ccd file and client-connect): client-disconnect runs at the end. */
  connectRan: boolean;
  /** Addresses and iroutes announced to learn-address (deleted at the end). */
  learned: string[];
  /** Options pushed on top (ccd and client-connect `push` lines). */
  extraPush: string[];
  /** False after a ccd or client-connect `push-reset`. */
  inheritPush: boolean;
  /** Its options went through client-config-dir / client-connect (a reload reconnects it on any change). */
  planned: boolean;
}

/** A session's record before it is authorized. */
export function newClientRecord(
  session: ControlSession,
  ctx: PeerContext,
  endpoint: EndpointSlots,
): ClientRecord {
  return {
    session,
    ctx,
    endpoint,
    name: null,
    peerId: -1,
    lease: null,
    override: null,
    channel: null,
    attached: false,
    released: false,
    connectedSince: 0,
    cipher: "",
    serial: "",
    authorizedAt: 0,
    planning: null,
    connectRan: false,
    learned: [],
    extraPush: [],
    inheritPush: true,
    planned: false,
  };
}

/** The subnets behind the client (client-config iroutes, IPv4 then IPv6). */
export function iroutesOf(rec: ClientRecord): { text: string }[] {
  return [...(rec.override?.iroutes ?? []), ...(rec.override?.iroutes6 ?? [])];
}
