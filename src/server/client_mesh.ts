/**
 * The server's mesh wiring (docs/mesh.md "Wiring"): one MeshIntroducer over
 * the registry's records. Sessions join once their first data key attaches
 * them, leave (with why) before their peer-id is released, renegotiate, float;
 * mesh control messages reach the introducer, and its messages go out over
 * each member's own control session. Built only when `server.mesh.enabled`.
 */

import type { NumericIp } from "../addr/ip.ts";
import { parsePrefix } from "../addr/prefix.ts";
import type { ServerConfig } from "../config/schema.ts";
import type { CipherName } from "../data/aead.ts";
import type { Logger } from "../log/log.ts";
import { readEndpointRow } from "../mesh/endpoint.ts";
import type { CloseReason } from "../mesh/messages.ts";
import {
  MC_NAMES,
  MeshIntroducer,
  type PairStatus,
  RELAYED_BYTES,
  RELAYED_PACKETS,
} from "../mesh/pair_table.ts";
import { type ClientRecord, iroutesOf } from "./client_record.ts";

export interface ClientMeshOptions {
  config: ServerConfig;
  /** The datapath's peer table capacity (session ids are its peer-ids). */
  capacity: number;
  /** The record attached at datapath peer-id `peerId`, if any. */
  recordOf: (peerId: number) => ClientRecord | null;
  log: Logger;
}

/** The mesh's server-wide figures in status. */
export interface MeshServerStatus {
  relayedPackets: number;
  relayedBytes: number;
  counters: Record<string, number>;
}

export class ClientMesh {
  readonly introducer: MeshIntroducer;
  readonly #o: ClientMeshOptions;
  readonly #log: Logger;

  constructor(o: ClientMeshOptions) {
    this.#o = o;
    this.#log = o.log;
    this.introducer = new MeshIntroducer({
      settings: o.config.server.mesh,
      capacity: o.capacity,
      serverCiphers: o.config.data.ciphers as CipherName[],
      send: (peerId, text) => this.#send(peerId, text),
      log: o.log,
    });
  }

  /** A data key was installed for `rec`: its first joins the mesh, a later one is a renegotiation. */
  keyInstalled(rec: ClientRecord, wasAttached: boolean): void {
    if (!rec.attached || rec.released || rec.peerId < 0) return;
    if (wasAttached) {
      this.introducer.renegotiated(rec.peerId);
      return;
    }
    const peer = rec.session.peer;
    if (!peer || !rec.name) return;
    this.introducer.join({
      session: rec.peerId,
      name: rec.name,
      peerInfo: peer.peerInfo,
      meshAllowed: rec.override?.mesh ?? true,
      cipher: rec.cipher as CipherName,
      publicEndpoint: this.#o.config.listen.proto === "udp" ? readEndpointRow(rec.endpoint, 0) : null,
      addresses: addressesOf(rec),
      iroutes: iroutesOf(rec).map((p) => parsePrefix(p.text)),
    });
  }

  /** A control message from `rec`'s session; true when it was the mesh's (handled or refused). */
  message(rec: ClientRecord, text: string): boolean {
    if (rec.peerId < 0 || rec.released) return false;
    return this.introducer.onControlMessage(rec.peerId, text);
  }

  /** `rec`'s UDP endpoint moved: its pairs are re-introduced at the new one. */
  floated(rec: ClientRecord): void {
    if (rec.peerId < 0 || this.#o.config.listen.proto !== "udp") return;
    this.introducer.update(rec.peerId, { publicEndpoint: readEndpointRow(rec.endpoint, 0) });
  }

  /** `rec` is going: its pairs close and each peer is told why. Before its peer-id is released. */
  left(rec: ClientRecord, reason: CloseReason): void {
    if (rec.peerId >= 0) this.introducer.leave(rec.peerId, reason);
  }

  pairsOf(peerId: number): PairStatus[] {
    return this.introducer.pairsOf(peerId);
  }

  status(): MeshServerStatus {
    const counters: Record<string, number> = {};
    MC_NAMES.forEach((name, i) => counters[name] = this.introducer.counters[i]);
    const relayed = this.introducer.relayed;
    return { relayedPackets: relayed[RELAYED_PACKETS], relayedBytes: relayed[RELAYED_BYTES], counters };
  }

  #send(peerId: number, text: string): void {
    const rec = this.#o.recordOf(peerId);
    if (!rec || rec.released) return;
    try {
      rec.session.sendControlMessage(text);
    } catch (e) {
      this.#log.warn("mesh message not sent", { cn: rec.name, reason: (e as Error).message });
    }
  }
}

function addressesOf(rec: ClientRecord): NumericIp[] {
  const out: NumericIp[] = [];
  if (rec.lease?.ipv4 != null) out.push({ family: 4, v4: rec.lease.ipv4 });
  if (rec.lease?.ipv6) out.push({ family: 6, v6: rec.lease.ipv6 });
  return out;
}
