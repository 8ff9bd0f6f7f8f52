/**
 * The server's clients: one record per control session, from its first
 * packet to its end. The registry decides who may connect (`authorize`:
 * disabled clients, a full server, an older login of the same name), what
 * each is told (`push`), installs its data keys (the first key attaches it to
 * the datapath with its addresses and iroutes) and ends it (`release`, on
 * exit, timeout, kill, revocation, replacement or stop).
 *
 * Records are found by the control listener's peer id (`ctx.peerId`) and by
 * the datapath's peer id (`peerId`, pushed as `peer-id`); state that belongs
 * to one client, or to a pair of clients the router relays between, belongs
 * here.
 */

import type { ClientOverride, ServerConfig } from "../config/schema.ts";
import type { PeerContext } from "../control/listener.ts";
import { IV_PROTO_CC_EXIT_NOTIFY } from "../control/peer_info.ts";
import type { PushOptions } from "../control/push_options.ts";
import type { AuthDecision, ControlSession, PeerIdentity } from "../control/session.ts";
import type { Datapath } from "../datapath/datapath.ts";
import type { EndpointSlots } from "../device/datagram_socket.ts";
import type { Logger } from "../log/log.ts";
import type { AddressPool, Lease } from "../pool/address_pool.ts";
import type { CloseReason } from "../mesh/messages.ts";
import { ClientDatapath } from "./client_datapath.ts";
import { ClientMesh } from "./client_mesh.ts";
import { type ClientRecord, newClientRecord } from "./client_record.ts";
import type { CrlClient } from "./crl_watch.ts";
import { buildClientPush } from "./push_reply.ts";

export type { ClientRecord } from "./client_record.ts";

export interface ClientRegistryOptions {
  config: ServerConfig;
  datapath: Datapath;
  pool: AddressPool | null;
  /** Moves control session `controlPeerId` to the endpoint its data channel floated to; returns it as text. */
  float: (controlPeerId: number, endpoints: EndpointSlots, row: number) => string;
  log: Logger;
  /** Milliseconds since the epoch. */
  now: () => number;
}

export class ClientRegistry {
  readonly #config: ServerConfig;
  readonly #dp: Datapath;
  readonly #pool: AddressPool | null;
  readonly #o: ClientRegistryOptions;
  readonly #log: Logger;
  readonly #attachments: ClientDatapath;
  /** By the control listener's peer id. */
  readonly #records = new Map<number, ClientRecord>();
  /**
   * Admitted, not yet released records (a peer id reserved), by certificate name, and how many: admission
   * reads these instead of scanning every record, which at thousands of clients cost more than the rest of
   * the admission (docs/performance.md, "Swarm").
   */
  readonly #admittedByName = new Map<string, Set<ClientRecord>>();
  #admitted = 0;
  /** By the datapath's peer id, for authorized records. */
  readonly #byPeer: (ClientRecord | null)[];
  /** Direct client-to-client paths; null unless `server.mesh.enabled`. */
  readonly mesh: ClientMesh | null;
  #stopping = false;

  constructor(o: ClientRegistryOptions) {
    this.#o = o;
    this.#config = o.config;
    this.#dp = o.datapath;
    this.#pool = o.pool;
    this.#log = o.log;
    this.#byPeer = new Array(o.datapath.peers.capacity).fill(null);
    this.#attachments = new ClientDatapath({ ...o, nameOf: (peerId) => this.#byPeer[peerId]?.name ?? null });
    this.mesh = o.config.server.mesh.enabled
      ? new ClientMesh({
        config: o.config,
        capacity: o.datapath.peers.capacity,
        recordOf: (peerId) => this.#byPeer[peerId] ?? null,
        log: o.log.child("mesh"),
      })
      : null;
    if (this.mesh) o.datapath.relayObserver = this.mesh.introducer;
  }

  /** Records a new session (before its first packet) that arrived from `endpoint`. */
  add(session: ControlSession, ctx: PeerContext, endpoint: EndpointSlots): void {
    const rec = newClientRecord(session, ctx, endpoint);
    this.#records.set(ctx.peerId, rec);
    session.on("key", (k) => {
      const wasAttached = rec.attached;
      this.#attachments.installKey(rec, k.keyId, k.key2, k.cipher);
      this.mesh?.keyInstalled(rec, wasAttached);
    });
    if (this.mesh) session.on("message", (m) => this.mesh!.message(rec, m.text));
    session.on("keyRetired", (e) => {
      if (rec.channel && rec.channel.sendKeyId !== e.keyId) rec.channel.removeKey(e.keyId);
    });
    session.on("closed", (e) => this.#release(rec, e.reason));
  }

  /** The record of datapath peer `id`, if one is authorized there. */
  byPeerId(id: number): ClientRecord | null {
    return this.#byPeer[id] ?? null;
  }

  /** Clients the datapath carries, in the order their sessions began. */
  connected(): ClientRecord[] {
    return [...this.#records.values()].filter((rec) => rec.attached && !rec.released);
  }

  // -- Admission --

  /** The listener's authorize hook: refuses, or reserves a peer id and leases addresses. */
  authorize(peer: PeerIdentity, ctx: PeerContext): AuthDecision {
    const rec = this.#records.get(ctx.peerId);
    if (!rec) return { ok: false, reason: "session is gone" };
    const name = peer.commonName;
    const override = this.#config.server.clients.get(name) ?? null;
    const refusal = this.#admissionRefusal(rec, name, override, ctx) ?? this.#reserve(rec, peer, override);
    if (refusal === null) return { ok: true };
    this.#log.warn("client refused", { cn: name, remote: ctx.remote, reason: refusal });
    return { ok: false, reason: refusal };
  }

  /** Why `name` may not connect now, or null; replaces its older login unless duplicate_cn. */
  #admissionRefusal(
    rec: ClientRecord,
    name: string,
    override: ClientOverride | null,
    ctx: PeerContext,
  ): string | null {
    const server = this.#config.server;
    if (this.#stopping) return "server is shutting down";
    if (override?.disabled) return "client is disabled in the server configuration";
    if (!server.duplicateCn) this.#replaceOlder(rec, name, ctx.remote);
    if (this.#admitted >= server.maxClients) return `server is full (max_clients ${server.maxClients})`;
    return null;
  }

  #replaceOlder(rec: ClientRecord, name: string, remote: string): void {
    const reason = "replaced by a new login of the same client";
    for (const other of [...(this.#admittedByName.get(name) ?? [])]) {
      if (other !== rec && !other.released) {
        this.#log.info("replacing older session of the same client", { cn: name, remote });
        other.session.close(reason, true);
        this.#release(other, reason);
      }
    }
  }

  /** Reserves a datapath peer id and leases addresses; returns why it could not, or null. */
  #reserve(rec: ClientRecord, peer: PeerIdentity, override: ClientOverride | null): string | null {
    const name = peer.commonName;
    const id = this.#dp.reservePeer();
    if (id < 0) return "no free peer-id";
    let lease: Lease | null = null;
    if (this.#pool) {
      const allocated = this.#pool.allocate(name);
      if (!allocated.ok) {
        this.#dp.releasePeer(id);
        return allocated.message;
      }
      lease = allocated.lease;
    }
    rec.name = name;
    rec.peerId = id;
    this.#admitted++;
    let sameName = this.#admittedByName.get(name);
    if (sameName === undefined) this.#admittedByName.set(name, sameName = new Set());
    sameName.add(rec);
    rec.lease = lease;
    rec.override = override;
    rec.serial = peer.serial;
    this.#byPeer[id] = rec;
    if (lease && this.#pool) {
      const { ifconfig, ifconfigIpv6 } = this.#pool.pushIfconfig(lease);
      this.#log.info("address assigned", {
        cn: name,
        peerId: id,
        ...(ifconfig ? { ifconfig } : {}),
        ...(ifconfigIpv6 ? { ifconfigIpv6 } : {}),
        ...(lease.fixed ? { static: true } : {}),
      });
    }
    return null;
  }

  /** The listener's push hook: the PUSH_REPLY options of an authorized session. */
  push(ctx: PeerContext): PushOptions {
    const rec = this.#records.get(ctx.peerId);
    if (!rec || rec.peerId < 0) throw new Error("push request from a session that was not authorized");
    const server = this.#config.server;
    return buildClientPush({
      pool: this.#pool,
      lease: rec.lease,
      clientToClient: server.clientToClient,
      keepalive: this.#config.keepalive,
      push: server.push,
      override: rec.override,
      peerId: rec.peerId,
    });
  }

  /** Datapath peer `id`'s data key carried reneg_bytes or nears packet-id exhaustion: start a soft reset. */
  rekeyDue(id: number): void {
    const rec = this.#byPeer[id];
    const reason = rec?.channel?.rekeyReason;
    if (rec && reason) rec.session.renegotiate(reason);
  }

  /** Datapath peer `id` floated (UDP): its control session follows to the new endpoint. */
  floated(id: number): void {
    const rec = this.#byPeer[id];
    if (!rec) return;
    const endpoints = this.#dp.peers.endpoints;
    rec.endpoint.copyRow(0, endpoints, id);
    rec.ctx.remote = this.#o.float(rec.ctx.peerId, endpoints, id);
    this.mesh?.floated(rec);
  }

  // -- Ends --

  /** Datapath peer `id` sent an OCC exit. */
  exitNotified(id: number): void {
    this.#byPeer[id]?.session.close("client sent an exit notification", false);
  }

  /** Nothing came from datapath peer `id` for twice the keepalive timeout (ping-restart). */
  timedOut(id: number): void {
    const rec = this.#byPeer[id];
    const reason = `no packet from the client for ${this.#config.keepalive.timeout * 2} s (ping-restart)`;
    if (!rec) {
      this.#dp.releasePeer(id);
      return;
    }
    this.mesh?.left(rec, "lost");
    rec.session.close(reason, false);
    this.#release(rec, reason, "lost");
  }

  /** Disconnects every session of common name `name`; returns how many. */
  kill(name: string, reason: string): number {
    let killed = 0;
    for (const rec of [...this.#records.values()]) {
      if (rec.name !== name || rec.released) continue;
      killed++;
      this.#disconnect(rec, reason, "killed");
    }
    return killed;
  }

  /** Every verified session, with the certificate and chain of its latest (re)negotiation. */
  crlClients(): CrlClient[] {
    return [...this.#records.values()].flatMap((rec) => {
      const peer = rec.session.peer;
      if (rec.released || peer === null) return [];
      const disconnect = (reason: string) => this.#disconnect(rec, reason, "revoked");
      return [{ name: peer.commonName, certificate: peer.certificate, chain: peer.chain, disconnect }];
    });
  }

  /**
   * Refuses new clients from now on and sends an OCC exit on the data channel
   * to attached clients that did not negotiate exit notification (the others
   * get RESTART when the listener closes). Returns the sessions still open.
   */
  beginStop(): ClientRecord[] {
    this.#stopping = true;
    const live = [...this.#records.values()].filter((rec) => !rec.session.closed);
    for (const rec of live) {
      const ccExit = ((rec.session.peer?.ivProto ?? 0) & IV_PROTO_CC_EXIT_NOTIFY) !== 0;
      if (rec.attached && !rec.released && !ccExit) this.#dp.sendExit(rec.peerId);
    }
    return live;
  }

  /** Resolves once every session of `records` has closed. */
  static allClosed(records: ClientRecord[]): Promise<unknown> {
    return Promise.all(records.map((rec) => rec.session.closed ? null : rec.session.once("closed")));
  }

  /** Releases `records` (the last step of a stop). */
  releaseAll(records: ClientRecord[], reason: string): void {
    for (const rec of records) this.#release(rec, reason);
  }

  #disconnect(rec: ClientRecord, reason: string, meshReason: CloseReason): void {
    if (rec.released) return;
    this.#log.info("killing client", { cn: rec.name ?? rec.session.peer?.commonName, reason });
    // Peers hear CLOSE before the session's own close can release it with a vaguer reason.
    this.mesh?.left(rec, meshReason);
    if (rec.peerId >= 0) this.#dp.sendExit(rec.peerId);
    rec.session.close(reason, true);
    this.#release(rec, reason, meshReason);
  }

  /** Gives back everything the client held: peer id, routes, keys, lease. Idempotent. */
  #release(rec: ClientRecord, reason: string, meshReason: CloseReason = "left"): void {
    if (rec.released) return;
    rec.released = true;
    if (rec.peerId >= 0) {
      this.#admitted--;
      const sameName = this.#admittedByName.get(rec.name!);
      sameName?.delete(rec);
      if (sameName?.size === 0) this.#admittedByName.delete(rec.name!);
      this.mesh?.left(rec, meshReason);
      this.#attachments.detach(rec);
      this.#byPeer[rec.peerId] = null;
    }
    if (rec.lease && this.#pool) this.#pool.release(rec.lease);
    if (rec.attached) {
      const durationS = Math.round((this.#o.now() - rec.connectedSince) / 1000);
      this.#log.info("client disconnected", { cn: rec.name, remote: rec.ctx.remote, reason, durationS });
    } else if (rec.name) {
      this.#log.info("session ended before data", { cn: rec.name, reason });
    }
    // The listener's record goes when the session emits closed; drop ours now or then.
    if (rec.session.closed) this.#records.delete(rec.ctx.peerId);
    else rec.session.on("closed", () => this.#records.delete(rec.ctx.peerId));
  }
}
