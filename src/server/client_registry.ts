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
import type { AuthDecision, AuthRequest, ControlSession, PeerIdentity } from "../control/session.ts";
import type { Datapath } from "../datapath/datapath.ts";
import { PC_BYTES_IN, PC_BYTES_OUT } from "../datapath/peer_table.ts";
import type { EndpointSlots } from "../device/datagram_socket.ts";
import type { Logger } from "../log/log.ts";
import type { AddressPool } from "../pool/address_pool.ts";
import type { CloseReason } from "../mesh/messages.ts";
import { ClientAdmission } from "./client_admission.ts";
import { ClientConnect } from "./client_connect.ts";
import { ClientDatapath } from "./client_datapath.ts";
import { ClientMesh } from "./client_mesh.ts";
import { ClientPush } from "./client_push.ts";
import { type ClientRecord, iroutesOf, newClientRecord } from "./client_record.ts";
import type { ClientRegistryOptions } from "./client_registry_options.ts";
import { ConnectScripts } from "./connect_scripts.ts";
import type { CrlClient } from "./crl_watch.ts";
import { disconnectEnv } from "./client_env.ts";

export type { ClientRecord } from "./client_record.ts";
export type { ClientRegistryOptions } from "./client_registry_options.ts";

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
  /** Who may connect, and how many are admitted (client_admission.ts). */
  readonly #admission: ClientAdmission;
  /** What each client is pushed (client_push.ts). */
  readonly #push: ClientPush;
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
    this.#push = new ClientPush({
      ...o,
      connect: this.#connect,
      attachments: this.#attachments,
      mesh: this.mesh,
      recordOf: (controlPeerId) => this.#records.get(controlPeerId),
    });
    this.#admission = new ClientAdmission({
      ...o,
      recordOf: (controlPeerId) => this.#records.get(controlPeerId),
      seat: (id, rec) => this.#byPeer[id] = rec,
      release: (rec, reason) => this.#release(rec, reason),
      stopping: () => this.#stopping,
    });
  }

  /** Records a new session (before its first packet) that arrived from `endpoint`. */
  add(session: ControlSession, ctx: PeerContext, endpoint: EndpointSlots): void {
    const rec = newClientRecord(session, ctx, endpoint);
    this.#records.set(ctx.peerId, rec);
    session.on("key", (k) => {
      const wasAttached = rec.attached;
      // With a ccd dir or client-connect, no data flows until they let the client in (client_push.ts).
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

  /** Records kept: every session from its handshake until it closes. */
  get size(): number {
    return this.#records.size;
  }

  /** Clients the datapath carries, in the order their sessions began. */
  connected(): ClientRecord[] {
    return [...this.#records.values()].filter((rec) => rec.attached && !rec.released);
  }

  // -- Admission and push --

  /** The listener's authorize hook (client_admission.ts). */
  authorize(peer: PeerIdentity, ctx: PeerContext, auth?: AuthRequest): AuthDecision | Promise<AuthDecision> {
    return this.#admission.authorize(peer, ctx, auth);
  }

  /** The listener's reauthorize hook: a renegotiation re-checks the username/password (or token). */
  reauthorize(peer: PeerIdentity, ctx: PeerContext, auth: AuthRequest): Promise<AuthDecision> {
    return this.#admission.reauthorize(peer, ctx, auth);
  }

  /** The listener's push hook: the PUSH_REPLY options of an authorized session (client_push.ts). */
  push(ctx: PeerContext): PushOptions | Promise<PushOptions> {
    return this.#push.push(ctx);
  }

  /** What `rec` is pushed now (also what a reload compares). */
  pushOptionsOf(rec: ClientRecord): PushOptions {
    return this.#push.optionsOf(rec);
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
      this.#admission.forget(rec);
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
