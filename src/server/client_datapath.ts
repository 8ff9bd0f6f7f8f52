/**
 * The datapath side of the server's clients. Each data key a session
 * negotiates goes into the client's DataChannel (a soft reset keeps the old
 * key for the transition window); the first one attaches the client to the
 * datapath at its reserved peer id with its endpoint, and in tun mode routes
 * its addresses and iroutes (subnets behind it) to it. Detaching gives the
 * peer id back, which drops its routes and keys.
 */

import { formatIpv4, formatIpv6 } from "../addr/ip.ts";
import { parsePrefix } from "../addr/prefix.ts";
import type { ServerConfig } from "../config/schema.ts";
import { DataChannel } from "../data/data_channel.ts";
import { dataKeysFromKey2 } from "../data/key_material.ts";
import type { Datapath } from "../datapath/datapath.ts";
import type { Logger } from "../log/log.ts";
import type { AddressPool } from "../pool/address_pool.ts";
import { type ClientRecord, iroutesOf } from "./client_record.ts";

export interface ClientDatapathOptions {
  config: ServerConfig;
  datapath: Datapath;
  pool: AddressPool | null;
  /** The common name of the client at datapath peer id `peerId`, if any. */
  nameOf: (peerId: number) => string | null;
  log: Logger;
  /** Milliseconds since the epoch. */
  now: () => number;
}

export class ClientDatapath {
  readonly #o: ClientDatapathOptions;
  readonly #dp: Datapath;
  readonly #log: Logger;

  constructor(o: ClientDatapathOptions) {
    this.#o = o;
    this.#dp = o.datapath;
    this.#log = o.log;
  }

  /**
   * Installs new data keys (`key2` is wiped); the first key of an authorized client attaches it, unless
   * `hold` (its client-config-dir / client-connect have not let it in yet: attachHeld() does it then).
   */
  installKey(rec: ClientRecord, keyId: number, key2: Uint8Array, cipher: string, hold = false): void {
    if (rec.peerId < 0 || rec.released) return;
    const material = dataKeysFromKey2(key2, { cipher: cipher as "AES-256-GCM", role: "server" });
    key2.fill(0);
    const data = this.#o.config.data;
    rec.channel ??= new DataChannel({
      peerId: rec.peerId,
      replayWindow: data.replayWindow,
      renegBytes: data.renegBytes,
      transitionWindowMs: data.transitionWindow * 1000,
      framing: this.#o.config.server.compat.compress,
    });
    try {
      rec.channel.installKey(keyId, material, this.#o.now());
    } catch (e) {
      this.#log.error("could not install data keys", { cn: rec.name, reason: (e as Error).message });
      rec.session.close("data key installation failed", false);
      return;
    }
    rec.cipher = cipher;
    if (rec.attached) {
      this.#log.info("data keys renewed", { cn: rec.name, keyId });
      return;
    }
    if (!hold) this.#attach(rec, rec.channel);
  }

  /** Attaches a client whose keys were installed on hold; true when it attached now. */
  attachHeld(rec: ClientRecord): boolean {
    if (rec.attached || rec.released || rec.peerId < 0 || !rec.channel) return false;
    this.#attach(rec, rec.channel);
    return true;
  }

  /** Frees the client's peer id (with its routes and MACs) and wipes its keys. */
  detach(rec: ClientRecord): void {
    if (rec.peerId < 0) return;
    if (rec.attached && this.#dp.modeName === "router") this.#logRemovedRoutes(rec);
    this.#dp.releasePeer(rec.peerId);
    rec.channel?.clear();
  }

  /** The client's addresses or iroutes changed (client-config-dir, client-connect, reload): its routes follow. */
  reroute(rec: ClientRecord): void {
    if (!rec.attached || rec.released || this.#dp.modeName !== "router") return;
    this.#dp.routes.removeOwner(rec.peerId);
    this.#addRoutes(rec);
  }

  /** The first data key: the datapath carries the client's packets from now on. */
  #attach(rec: ClientRecord, channel: DataChannel): void {
    this.#dp.attachPeer(rec.peerId, channel, rec.endpoint, 0);
    rec.attached = true;
    rec.connectedSince = this.#o.now();
    if (this.#dp.modeName === "router") this.#addRoutes(rec);
    this.#log.info("client connected", {
      cn: rec.name,
      remote: rec.ctx.remote,
      peerId: rec.peerId,
      cipher: rec.cipher,
      ...(rec.lease?.ipv4 != null ? { address: formatIpv4(rec.lease.ipv4) } : {}),
      ...(rec.lease?.ipv6 ? { address6: formatIpv6(rec.lease.ipv6) } : {}),
    });
  }

  /** Routes the client's own addresses and its iroutes to it; an iroute taken from another client is logged. */
  #addRoutes(rec: ClientRecord): void {
    const routes = this.#dp.routes;
    if (rec.lease && this.#o.pool) {
      for (const p of this.#o.pool.routesFor(rec.lease)) routes.add(p, rec.peerId);
    }
    for (const p of iroutesOf(rec)) {
      const previous = routes.add(parsePrefix(p.text), rec.peerId);
      const takenFrom = previous >= 0 && previous !== rec.peerId
        ? this.#o.nameOf(previous) ?? previous
        : null;
      this.#log.info("route added", {
        prefix: p.text,
        via: rec.name,
        ...(takenFrom !== null ? { takenFrom } : {}),
      });
    }
  }

  /** Logs the iroutes this client still owns; releasePeer removes them. */
  #logRemovedRoutes(rec: ClientRecord): void {
    for (const p of iroutesOf(rec)) {
      if (this.#dp.routes.ownerOf(parsePrefix(p.text)) === rec.peerId) {
        this.#log.info("route removed", { prefix: p.text });
      }
    }
  }
}
