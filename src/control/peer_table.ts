/**
 * The listener's peers (listener.ts), indexed three ways: by link and client session id (where control
 * packets go), by link (the sessions one UDP endpoint or TCP connection carries, usually one), and by
 * peer-id (where P_DATA_V2 goes). A UDP peer that floats changes link and keeps its peer-id.
 */

import { SESSION_ID_SIZE } from "./opcode.ts";
import type { ControlSession } from "./session.ts";
import type { TransportKind } from "./stranger_gate.ts";

/** What the server logic learns about a peer besides its certificate. */
export interface PeerContext {
  /** 24-bit id for P_DATA_V2, pushed as peer-id. */
  peerId: number;
  /** "address:port" of the peer (UDP: current endpoint; TCP: the connection's remote). */
  remote: string;
  transport: TransportKind;
}

/** Sends one wire packet to the peer (the TCP transport adds the length prefix). */
export type ReplyFn = (packet: Uint8Array) => void;

export interface Peer {
  session: ControlSession;
  ctx: PeerContext;
  linkKey: string;
  reply: ReplyFn;
  clientSid: Uint8Array;
}

/** Peer-ids are 24 bits. */
const PEER_ID_SPACE = 0xffffff;

/**
 * A 30-bit hash of the session id at b[off] (a small integer: a Map key that
 * allocates nothing). Only ever a pre-filter: a miss proves no peer has the id.
 */
function sidHash(b: Uint8Array, off: number): number {
  const hi = (b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3];
  const lo = (b[off + 4] << 24) | (b[off + 5] << 16) | (b[off + 6] << 8) | b[off + 7];
  return (Math.imul(hi, 0x9e3779b1) ^ lo) & 0x3fffffff;
}

function sidKey(b: Uint8Array, off: number): string {
  let s = "";
  for (let i = 0; i < SESSION_ID_SIZE; i++) s += b[off + i].toString(16).padStart(2, "0");
  return s;
}

export class PeerTable {
  /** linkKey + "/" + client session id → peer. */
  readonly #byLinkSid = new Map<string, Peer>();
  /** linkKey → peers on that link. */
  readonly #byLink = new Map<string, Peer[]>();
  readonly #byPeerId = new Map<number, Peer>();
  /** sidHash → how many #byLinkSid keys have a session id with that hash. */
  readonly #sidHashes = new Map<number, number>();
  #nextPeerId = 0;

  get size(): number {
    return this.#byLinkSid.size;
  }

  peers(): IterableIterator<Peer> {
    return this.#byLinkSid.values();
  }

  /** The peer on `linkKey` whose client session id is at `buf[sidOffset]`. */
  find(linkKey: string, buf: Uint8Array, sidOffset: number): Peer | undefined {
    return this.#byLinkSid.get(linkKey + "/" + sidKey(buf, sidOffset));
  }

  /**
   * False when no peer, on any link, has the client session id at
   * `buf[sidOffset]`: a packet can then be refused without building its link
   * key. True may be a hash collision (find() decides).
   */
  mayHaveSid(buf: Uint8Array, sidOffset: number): boolean {
    return this.#sidHashes.has(sidHash(buf, sidOffset));
  }

  /** The peers on one link (live list, undefined when none). */
  onLink(linkKey: string): readonly Peer[] | undefined {
    return this.#byLink.get(linkKey);
  }

  byPeerId(peerId: number): Peer | undefined {
    return this.#byPeerId.get(peerId);
  }

  /** The next free peer-id, round robin. */
  allocPeerId(): number {
    for (let i = 0; i < PEER_ID_SPACE; i++) {
      const id = (this.#nextPeerId + i) % PEER_ID_SPACE;
      if (!this.#byPeerId.has(id)) {
        this.#nextPeerId = (id + 1) % PEER_ID_SPACE;
        return id;
      }
    }
    throw new Error("No free peer-id");
  }

  add(peer: Peer): void {
    this.#link(peer);
    this.#byPeerId.set(peer.ctx.peerId, peer);
  }

  /** Forgets a peer; its peer-id is freed unless a newer peer already holds it. */
  remove(peer: Peer): void {
    this.#unlink(peer);
    if (this.#byPeerId.get(peer.ctx.peerId) === peer) this.#byPeerId.delete(peer.ctx.peerId);
  }

  /** The peer now sends from `linkKey` (a UDP float). */
  move(peer: Peer, linkKey: string): void {
    this.#unlink(peer);
    peer.linkKey = linkKey;
    this.#link(peer);
  }

  #link(peer: Peer): void {
    const key = peer.linkKey + "/" + sidKey(peer.clientSid, 0);
    if (!this.#byLinkSid.has(key)) this.#countSid(peer.clientSid, 1);
    this.#byLinkSid.set(key, peer);
    const list = this.#byLink.get(peer.linkKey);
    if (list) list.push(peer);
    else this.#byLink.set(peer.linkKey, [peer]);
  }

  #unlink(peer: Peer): void {
    if (this.#byLinkSid.delete(peer.linkKey + "/" + sidKey(peer.clientSid, 0))) {
      this.#countSid(peer.clientSid, -1);
    }
    const list = this.#byLink.get(peer.linkKey);
    if (list) {
      const i = list.indexOf(peer);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.#byLink.delete(peer.linkKey);
    }
  }

  #countSid(sid: Uint8Array, delta: number): void {
    const h = sidHash(sid, 0);
    const n = (this.#sidHashes.get(h) ?? 0) + delta;
    if (n > 0) this.#sidHashes.set(h, n);
    else this.#sidHashes.delete(h);
  }
}
