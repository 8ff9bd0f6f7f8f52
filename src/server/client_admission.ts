/**
 * Who may connect: the registry's authorize and reauthorize hooks. A client is
 * refused while the server stops, when its configuration disables it, when the
 * server is full, or when no peer id or address is left; otherwise an older
 * login of the same name is replaced (unless duplicate_cn) and the client gets
 * a datapath peer id and its addresses. The counts admission reads live here,
 * kept per name so a new client costs no scan of every record.
 */

import type { ClientOverride } from "../config/schema.ts";
import type { PeerContext } from "../control/listener.ts";
import type { AuthDecision, AuthRequest, PeerIdentity } from "../control/session.ts";
import type { Lease } from "../pool/address_pool.ts";
import type { ClientRecord } from "./client_record.ts";
import type { ClientRegistryOptions } from "./client_registry_options.ts";

export interface AdmissionOptions
  extends Pick<ClientRegistryOptions, "config" | "datapath" | "pool" | "log" | "now" | "userAuth"> {
  /** The record of the control listener's peer id. */
  recordOf: (controlPeerId: number) => ClientRecord | undefined;
  /** Datapath peer `id` now belongs to `rec`. */
  seat: (id: number, rec: ClientRecord) => void;
  /** Gives back everything `rec` (a replaced older login) held. */
  release: (rec: ClientRecord, reason: string) => void;
  /** True once the server began stopping. */
  stopping: () => boolean;
}

export class ClientAdmission {
  readonly #o: AdmissionOptions;
  /**
   * Admitted, not yet released records (a peer id reserved), by certificate name, and how many: admission
   * reads these instead of scanning every record, which at thousands of clients cost more than the rest of
   * the admission (docs/performance.md, "Swarm").
   */
  readonly #byName = new Map<string, Set<ClientRecord>>();
  #admitted = 0;

  constructor(o: AdmissionOptions) {
    this.#o = o;
  }

  /** A released record that held a peer id no longer counts. */
  forget(rec: ClientRecord): void {
    this.#admitted--;
    const sameName = this.#byName.get(rec.name!);
    sameName?.delete(rec);
    if (sameName?.size === 0) this.#byName.delete(rec.name!);
  }

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
    if (this.#o.stopping()) return "server is shutting down";
    if (this.#o.config.server.clients.get(name)?.disabled) {
      return "client is disabled in the server configuration";
    }
    return null;
  }

  #refuse(name: string, ctx: PeerContext, reason: string): AuthDecision {
    this.#o.log.warn("client refused", { cn: name, remote: ctx.remote, reason });
    return { ok: false, reason };
  }

  #admit(peer: PeerIdentity, ctx: PeerContext): AuthDecision {
    const rec = this.#o.recordOf(ctx.peerId);
    if (!rec) return { ok: false, reason: "session is gone" };
    const name = peer.commonName;
    const override = this.#o.config.server.clients.get(name) ?? null;
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
    const server = this.#o.config.server;
    if (this.#o.stopping()) return "server is shutting down";
    if (override?.disabled) return "client is disabled in the server configuration";
    if (!server.duplicateCn) this.#replaceOlder(rec, name, ctx.remote);
    if (this.#admitted >= server.maxClients) return `server is full (max_clients ${server.maxClients})`;
    return null;
  }

  #replaceOlder(rec: ClientRecord, name: string, remote: string): void {
    const reason = "replaced by a new login of the same client";
    for (const other of [...(this.#byName.get(name) ?? [])]) {
      if (other !== rec && !other.released) {
        this.#o.log.info("replacing older session of the same client", { cn: name, remote });
        other.session.close(reason, true);
        this.#o.release(other, reason);
      }
    }
  }

  /** Reserves a datapath peer id and leases addresses; returns why it could not, or null. */
  #reserve(rec: ClientRecord, peer: PeerIdentity, override: ClientOverride | null): string | null {
    const name = peer.commonName;
    const id = this.#o.datapath.reservePeer();
    if (id < 0) return "no free peer-id";
    let lease: Lease | null = null;
    if (this.#o.pool) {
      const allocated = this.#o.pool.allocate(name);
      if (!allocated.ok) {
        this.#o.datapath.releasePeer(id);
        return allocated.message;
      }
      lease = allocated.lease;
    }
    rec.name = name;
    rec.peerId = id;
    this.#admitted++;
    let sameName = this.#byName.get(name);
    if (sameName === undefined) this.#byName.set(name, sameName = new Set());
    sameName.add(rec);
    rec.lease = lease;
    rec.override = override;
    rec.serial = peer.serial;
    rec.authorizedAt = this.#o.now();
    this.#o.seat(id, rec);
    if (lease && this.#o.pool) {
      const { ifconfig, ifconfigIpv6 } = this.#o.pool.pushIfconfig(lease);
      this.#o.log.info("address assigned", {
        cn: name,
        peerId: id,
        ...(ifconfig ? { ifconfig } : {}),
        ...(ifconfigIpv6 ? { ifconfigIpv6 } : {}),
        ...(lease.fixed ? { static: true } : {}),
      });
    }
    return null;
  }
}
