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
import {
  type AuthDecision,
  type AuthRequest,
  type ControlSession,
  type PeerIdentity,
  PushRefused,
} from "../control/session.ts";
import type { Datapath } from "../datapath/datapath.ts";
import { PC_BYTES_IN, PC_BYTES_OUT } from "../datapath/peer_table.ts";
import type { EndpointSlots } from "../device/datagram_socket.ts";
import type { Logger } from "../log/log.ts";
import type { AddressPool, Lease } from "../pool/address_pool.ts";
import type { CloseReason } from "../mesh/messages.ts";
import { ClientConnect } from "./client_connect.ts";
import { ClientDatapath } from "./client_datapath.ts";
import { ClientMesh } from "./client_mesh.ts";
import { type ClientRecord, iroutesOf, newClientRecord } from "./client_record.ts";
import { ConnectScripts } from "./connect_scripts.ts";
import type { CrlClient } from "./crl_watch.ts";
import { emptyPush } from "../config/sections.ts";
import { buildClientPush } from "./push_reply.ts";
import { type ClientEvents, disconnectEnv } from "./client_env.ts";

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

export class ClientRegistry {
  readonly #config: ServerConfig;
  readonly #dp: Datapath;
  readonly #pool: AddressPool | null;
  readonly #o: ClientRegistryOptions;
  readonly #log: Logger;
  readonly #attachments: ClientDatapath;
  readonly scripts: ConnectScripts;
  readonly #connect: ClientConnect;
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
    this.scripts = o.scripts ??
      new ConnectScripts({ config: () => this.#config.server.scripts, log: o.log.child("scripts") });
    this.#connect = new ClientConnect({
      config: o.config,
      pool: o.pool,
      scripts: this.scripts,
      log: o.log,
      dev: o.dev ?? (() => o.config.dev.name),
    });
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
      // With a ccd dir or client-connect, no data flows until they let the client in (#established).
      const hold = this.#connect.deferred && !rec.connectRan;
      this.#attachments.installKey(rec, k.keyId, k.key2, k.cipher, hold);
      this.mesh?.keyInstalled(rec, wasAttached);
      if (!wasAttached && rec.attached) {
        this.#o.clientEvents?.established(ctx.peerId, this.#connect.env(rec));
      }
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

  /** The listener's authorize hook: refuses, or reserves a peer id and leases addresses (after userAuth). */
  authorize(peer: PeerIdentity, ctx: PeerContext, auth?: AuthRequest): AuthDecision | Promise<AuthDecision> {
    const userAuth = this.#o.userAuth;
    if (!userAuth || !auth) return this.#admit(peer, ctx);
    const early = this.#precheck(peer.commonName);
    if (early) return this.#refuse(peer.commonName, ctx, early);
    return userAuth(peer, ctx, auth).then((d) =>
      d.ok ? this.#admit(peer, ctx) : this.#refuse(peer.commonName, ctx, d.reason)
    );
  }

  /** The listener's reauthorize hook: a renegotiation re-checks the username/password (or token). */
  reauthorize(peer: PeerIdentity, ctx: PeerContext, auth: AuthRequest): Promise<AuthDecision> {
    const userAuth = this.#o.userAuth;
    if (!userAuth) return Promise.resolve({ ok: true });
    return userAuth(peer, ctx, auth);
  }

  /** Refusals known before a username/password check. */
  #precheck(name: string): string | null {
    if (this.#stopping) return "server is shutting down";
    if (this.#config.server.clients.get(name)?.disabled) {
      return "client is disabled in the server configuration";
    }
    return null;
  }

  #refuse(name: string, ctx: PeerContext, reason: string): AuthDecision {
    this.#log.warn("client refused", { cn: name, remote: ctx.remote, reason });
    return { ok: false, reason };
  }

  #admit(peer: PeerIdentity, ctx: PeerContext): AuthDecision {
    const rec = this.#records.get(ctx.peerId);
    if (!rec) return { ok: false, reason: "session is gone" };
    const name = peer.commonName;
    const override = this.#config.server.clients.get(name) ?? null;
    if (rec.released || rec.session.closed) return { ok: false, reason: "session is gone" };
    const refusal = this.#admissionRefusal(rec, name, override, ctx) ?? this.#reserve(rec, peer, override);
    if (refusal === null) return { ok: true };
    return this.#refuse(name, ctx, refusal);
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
    rec.authorizedAt = this.#o.now();
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

  /**
   * The listener's push hook: the PUSH_REPLY options of an authorized session.
   * With a client-config-dir or a client-connect script it waits for them
   * (once per session; a refusal rejects with PushRefused, so the client gets AUTH_FAILED).
   */
  push(ctx: PeerContext): PushOptions | Promise<PushOptions> {
    const rec = this.#records.get(ctx.peerId);
    if (!rec || rec.peerId < 0) throw new Error("push request from a session that was not authorized");
    if (!this.#connect.deferred && rec.planning === null) {
      rec.planning = Promise.resolve();
      this.#established(rec);
      return this.#withSessionExtras(ctx, this.pushOptionsOf(rec));
    }
    rec.planning ??= this.#plan(rec);
    return rec.planning.then(() => this.#withSessionExtras(ctx, this.pushOptionsOf(rec)));
  }

  /** Adds what belongs to this session only (the auth-token), never compared by a reload. */
  #withSessionExtras(ctx: PeerContext, options: PushOptions): PushOptions {
    const extra = this.#o.pushExtra?.(ctx) ?? [];
    if (extra.length > 0) options.extra = [...(options.extra ?? []), ...extra];
    return options;
  }

  /** What `rec` is pushed now (also what a reload compares). */
  pushOptionsOf(rec: ClientRecord): PushOptions {
    const server = this.#config.server;
    const options = buildClientPush({
      pool: this.#pool,
      lease: rec.lease,
      clientToClient: server.clientToClient,
      keepalive: this.#config.keepalive,
      push: rec.inheritPush ? server.push : emptyPush(),
      override: rec.override,
      peerId: rec.peerId,
      compress: server.compat.compress,
      extra: rec.extraPush,
    });
    return options;
  }

  async #plan(rec: ClientRecord): Promise<void> {
    const outcome = await this.#connect.plan(rec);
    if (rec.released) throw new PushRefused("the session ended while its connect scripts ran");
    const refusal = outcome.ok ? this.#connect.apply(rec, outcome.plan) : outcome.reason;
    if (refusal !== null) throw new PushRefused(refusal);
    this.#attachments.reroute(rec);
    this.#established(rec);
  }

  /** The client is let in with its final addresses: learn-address, client-disconnect at the end. */
  #established(rec: ClientRecord): void {
    rec.connectRan = true;
    if (this.#attachments.attachHeld(rec)) this.mesh?.keyInstalled(rec, false);
    this.#connect.learn(rec);
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
    return this.killWhere((rec) => rec.name === name, reason);
  }

  /**
   * Disconnects every attached session `match` selects, telling each
   * `message` (a control message such as "HALT"; default RESTART); returns how many.
   */
  killWhere(match: (rec: ClientRecord) => boolean, reason: string, message: string | null = null): number {
    let killed = 0;
    for (const rec of [...this.#records.values()]) {
      if (rec.released || rec.name === null || !match(rec)) continue;
      killed++;
      this.#disconnect(rec, reason, "killed", message);
    }
    return killed;
  }

  /** A reload changed what `rec` gets: it is told to restart and comes back with the new settings. */
  reconnect(rec: ClientRecord, reason: string): void {
    this.#disconnect(rec, reason, "killed");
  }

  /** A reload changed only `rec`'s iroutes: its routes and learn-address follow, the tunnel stays. */
  update(rec: ClientRecord, override: ClientOverride): void {
    if (rec.released) return;
    rec.override = override;
    this.#attachments.reroute(rec);
    this.#connect.learn(rec);
    this.#log.info("client updated", { cn: rec.name, iroutes: iroutesOf(rec).map((p) => p.text).join(" ") });
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

  #disconnect(
    rec: ClientRecord,
    reason: string,
    meshReason: CloseReason,
    message: string | null = null,
  ): void {
    if (rec.released) return;
    this.#log.info("killing client", { cn: rec.name ?? rec.session.peer?.commonName, reason });
    // Peers hear CLOSE before the session's own close can release it with a vaguer reason.
    this.mesh?.left(rec, meshReason);
    // A custom message (client-kill CID HALT) goes on the control channel only: the OCC exit would restart.
    if (rec.peerId >= 0 && message === null) this.#dp.sendExit(rec.peerId);
    rec.session.close(reason, true, message ?? undefined);
    this.#release(rec, reason, meshReason);
  }

  /** Gives back everything the client held: peer id, routes, keys, lease. Idempotent. */
  #release(rec: ClientRecord, reason: string, meshReason: CloseReason = "left"): void {
    if (rec.released) return;
    rec.released = true;
    const figures = rec.peerId >= 0
      ? {
        bytesReceived: this.#dp.peers.counter(rec.peerId, PC_BYTES_IN),
        bytesSent: this.#dp.peers.counter(rec.peerId, PC_BYTES_OUT),
        now: this.#o.now(),
      }
      : null;
    if (rec.attached && figures) {
      const env = disconnectEnv(this.#connect.env(rec), figures, rec.connectedSince || rec.authorizedAt);
      this.#o.clientEvents?.disconnected(rec.ctx.peerId, env);
    }
    if (figures) {
      this.#admitted--;
      const sameName = this.#admittedByName.get(rec.name!);
      sameName?.delete(rec);
      if (sameName?.size === 0) this.#admittedByName.delete(rec.name!);
      this.mesh?.left(rec, meshReason);
      this.#connect.left(rec, figures);
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
