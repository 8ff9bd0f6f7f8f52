/**
 * The client's side of the mesh for one control session, sans-IO: it reads
 * the server's mesh messages, keeps this session's X25519 keys, derives a key
 * per introduced peer, runs each pair's path machine on the injected clock,
 * and reports pair states back to the server. The packet path is `direct`
 * (DirectPath) over `table` (MeshPeerTable).
 *
 *   server ── HELLO ──▶ agent ── KEY(epoch 1, pub, local endpoints) ──▶ server
 *   server ── INTRO(pair, peer, pub, endpoints, addresses) ──▶ agent: derive, punch
 *   agent ── STATE(pair, direct|relayed, endpoint, rtt) ──▶ server (on change, ≤ 1/min otherwise)
 *   server ── CLOSE(pair, reason) ──▶ agent: the pair is gone at once
 *   renegotiation: `renegotiated()` → KEY(epoch n+1); the server re-introduces every pair
 *   session end: `sessionEnded()` closes every pair
 *
 * A bad or unexpected message is logged and counted (`messageErrors`) and
 * changes nothing. Nothing here throws for anything the server sends.
 */

import { formatPrefix } from "../addr/prefix.ts";
import type { Clock } from "../control/clock.ts";
import type { CipherName } from "../data/aead.ts";
import type { AeadBackendChoice } from "../data/aead_select.ts";
import type { DataKeyMaterial } from "../data/key_material.ts";
import { EndpointSlots } from "../device/datagram_socket.ts";
import type { Logger } from "../log/log.ts";
import { DirectPath, type DirectPathSocket } from "./direct_path.ts";
import {
  type Endpoint,
  formatEndpoint,
  isUsableCandidate,
  readEndpointRow,
  writeEndpointRow,
} from "./endpoint.ts";
import {
  encodeMeshMessage,
  isMeshMessage,
  MAX_LOCAL_ENDPOINTS,
  type MeshClose,
  type MeshHello,
  type MeshIntro,
  tryParseMeshMessage,
} from "./messages.ts";
import { AgentPeer } from "./agent_peer.ts";
import {
  derivePairKeys,
  generateMeshKeyPair,
  type MeshKeyPair,
  PairKeyError,
  pairKeyId,
} from "./pair_keys.ts";
import type { PathChange, PathTimings } from "./path.ts";
import { MeshPeerTable } from "./peer_table.ts";
import { timingsFromHello } from "./settings.ts";
import { recordEndpoint } from "./wire.ts";

export interface MeshAgentOptions {
  /** Our certificate name (as the server verified it). */
  name: string;
  /** Ciphers we accept for pair keys (our data_ciphers). */
  ciphers: readonly CipherName[];
  clock: Clock;
  random: (n: number) => Uint8Array;
  /** Sends a control message over our session's control channel. */
  sendControl: (text: string) => void;
  /** The socket we share with the server connection. */
  socket: DirectPathSocket;
  /** Our local endpoints (interface addresses with our UDP port), reported for peers on the same LAN. */
  localEndpoints?: () => Endpoint[];
  log?: Logger;
  /** @default 256 */
  maxPeers?: number;
  backend?: AeadBackendChoice;
  /** Probe interval and retry cap (the rest comes from the server's HELLO). */
  timings?: Partial<PathTimings>;
  /** Least time between two reports of an unchanged path (RTT updates). @default 60000 */
  stateReportMs?: number;
}

export interface PeerSnapshot {
  pairId: number;
  name: string;
  path: "direct" | "relayed";
  endpoint: Endpoint | null;
  rttMs: number | null;
}

export class MeshAgent {
  readonly table: MeshPeerTable<AgentPeer>;
  readonly direct: DirectPath<AgentPeer>;
  /** Mesh messages refused (malformed, unexpected, or naming keys we cannot use). */
  messageErrors = 0;
  readonly #o: MeshAgentOptions;
  readonly #clock: Clock;
  #hello: MeshHello | null = null;
  #keys: MeshKeyPair[] = [];
  #timer: number | null = null;
  #timerAt = Infinity;
  #ended = false;
  readonly #probeTo = new EndpointSlots(1);
  readonly #observed = new EndpointSlots(1);

  constructor(options: MeshAgentOptions) {
    this.#o = options;
    this.#clock = options.clock;
    this.table = new MeshPeerTable(options.maxPeers ?? 256);
    this.direct = new DirectPath(this.table, options.socket, {
      otherSource: (peer, from, row) => this.#otherSource(peer, from, row),
      reply: (peer, id, from, row, rec, off) => this.#reply(peer, id, from, row, rec, off),
    }, () => this.#clock.now());
  }

  /** Our current key epoch (0 before the server's HELLO). */
  get epoch(): number {
    return this.#keys.at(-1)?.epoch ?? 0;
  }

  /**
   * Handles one control message; false when it is not a mesh message (the
   * caller's usual handling applies), true when it was one (used or refused).
   */
  onControlMessage(text: string): boolean {
    if (!isMeshMessage(text)) return false;
    if (this.#ended) return true;
    const parsed = tryParseMeshMessage(text);
    if (!parsed.ok) return this.#refuse(`bad mesh message: ${parsed.error}`);
    const m = parsed.message;
    if (m.kind === "hello") this.#onHello(m);
    else if (m.kind === "intro") this.#onIntro(m);
    else if (m.kind === "close") this.#onClose(m);
    else this.#refuse(`unexpected ${m.kind.toUpperCase()} from the server`);
    this.#schedule();
    return true;
  }

  /** The control session renegotiated: a new key pair, announced to the server, which re-introduces our pairs. */
  renegotiated(): void {
    if (this.#ended || this.#hello === null) return;
    this.#newKey();
  }

  /** Our session with the server ended: every pair closes (the server tells our peers). */
  sessionEnded(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const peer of this.table.all()) this.#closePeer(peer, "our session ended");
    for (const k of this.#keys) k.privateKey.fill(0);
    this.#keys = [];
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
  }

  peers(): PeerSnapshot[] {
    return this.table.all().map((p) => {
      const s = p.path.snapshot();
      return { pairId: p.pairId, name: p.name, path: s.path, endpoint: s.endpoint, rttMs: s.rttMs };
    });
  }

  #onHello(m: MeshHello): void {
    const first = this.#hello === null;
    this.#hello = m;
    if (first) this.#newKey();
  }

  #newKey(): void {
    const key = generateMeshKeyPair(this.epoch + 1, this.#o.random);
    const retired = this.#keys.length >= 2 ? this.#keys.shift() : undefined;
    retired?.privateKey.fill(0);
    this.#keys.push(key);
    const locals = (this.#o.localEndpoints?.() ?? []).filter(isUsableCandidate).slice(0, MAX_LOCAL_ENDPOINTS);
    this.#o.sendControl(
      encodeMeshMessage({ kind: "key", epoch: key.epoch, publicKey: key.publicKey, localEndpoints: locals }),
    );
  }

  #onIntro(m: MeshIntro): void {
    if (this.#hello === null) return void this.#refuse("INTRO before HELLO");
    if (!this.#o.ciphers.includes(m.cipher)) {
      return void this.#refuse(`INTRO for ${m.peerName} uses ${m.cipher}, which we do not accept`);
    }
    if (m.peerName === this.#o.name) return void this.#refuse("INTRO names ourselves");
    const own = this.#keys.find((k) => k.epoch === m.epoch);
    if (own === undefined) {
      this.#o.log?.debug("mesh: INTRO for a retired key epoch, waiting for the next", { epoch: m.epoch });
      return;
    }
    const existing = this.table.byPairId(m.pairId);
    if (existing !== undefined && existing.name !== m.peerName) {
      return void this.#refuse(`INTRO renames pair ${m.pairId} from ${existing.name} to ${m.peerName}`);
    }
    let material;
    try {
      material = derivePairKeys({
        own,
        ownName: this.#o.name,
        peerPublicKey: m.peerPublicKey,
        peerName: m.peerName,
        cipher: m.cipher,
      });
    } catch (e) {
      if (!(e instanceof PairKeyError)) throw e;
      return void this.#refuse(`pair with ${m.peerName}: ${e.message}`);
    }
    const keyId = pairKeyId(m.epoch, m.peerEpoch);
    if (existing === undefined) this.#addPeer(m, keyId, material);
    else this.#updatePeer(existing, m, keyId, material);
  }

  #addPeer(m: MeshIntro, keyId: number, material: DataKeyMaterial): void {
    const now = this.#clock.now();
    const peer = new AgentPeer(m, {
      backend: this.#o.backend,
      timings: timingsFromHello(this.#hello!, this.#o.timings),
      random: this.#o.random,
      hooks: {
        sendProbe: (to, id) => this.#sendProbe(peer, to, id),
        changed: (c) => this.#pathChanged(peer, c),
      },
    });
    const slot = this.table.add(peer);
    if (typeof slot === "string") return void this.#refuse(`INTRO for ${m.peerName}: ${slot}`);
    peer.channel.install(keyId, material, now);
    this.#setRoutes(peer, m);
    this.#o.log?.info(`mesh: introduced to ${m.peerName} (pair ${m.pairId}), probing`, {
      candidates: peer.candidates.map(formatEndpoint),
    });
    this.#report(peer, true);
    peer.path.start(peer.candidates, now);
  }

  #updatePeer(
    peer: AgentPeer,
    m: MeshIntro,
    keyId: number,
    material: DataKeyMaterial,
  ): void {
    const now = this.#clock.now();
    if (m.epoch !== peer.ownEpoch || m.peerEpoch !== peer.peerEpoch) {
      if (peer.channel.install(keyId, material, now)) {
        this.#o.log?.info(`mesh: new pair key with ${peer.name}`, { keyId });
      }
    }
    peer.update(m);
    this.#setRoutes(peer, m);
    peer.path.reprobe(peer.candidates, now); // something changed for the server to re-introduce: check the path
  }

  #setRoutes(peer: AgentPeer, m: MeshIntro): void {
    const conflicts = this.table.setRoutes(peer, m.addresses, m.iroutes);
    if (conflicts.length > 0) {
      this.#o.log?.warn(`mesh: ${peer.name}'s prefixes held by another peer stay relayed`, {
        prefixes: conflicts.map(formatPrefix),
      });
    }
  }

  #onClose(m: MeshClose): void {
    const peer = this.table.byPairId(m.pairId);
    if (peer === undefined) {
      this.#o.log?.debug("mesh: CLOSE for an unknown pair", { pair: m.pairId });
      return;
    }
    this.#closePeer(peer, m.reason);
  }

  #closePeer(peer: AgentPeer, reason: string): void {
    peer.path.close();
    peer.channel.clear();
    this.table.remove(peer);
    this.#o.log?.info(`mesh: pair with ${peer.name} closed (${reason})`);
  }

  #sendProbe(peer: AgentPeer, to: Endpoint, probeId: number): void {
    writeEndpointRow(this.#probeTo, 0, to);
    this.direct.sendProbe(peer, probeId, this.#probeTo, 0);
  }

  #pathChanged(peer: AgentPeer, c: PathChange): void {
    this.table.setDirect(peer, c.path === "direct" ? c.endpoint : null);
    if (c.path === "direct") this.#startLivenessWindow(peer, this.#clock.now());
    else peer.nextLivenessAt = Infinity;
    const where = c.path === "direct"
      ? `direct via ${formatEndpoint(c.endpoint!)}`
      : "relayed through the server";
    this.#o.log?.info(`mesh: path to ${peer.name}: ${where} (${c.reason})`);
    this.#report(peer, true);
  }

  #otherSource(peer: AgentPeer, from: EndpointSlots, row: number): void {
    const ep = readEndpointRow(from, row);
    if (ep === null) return;
    peer.path.onAuthenticated(ep, this.#clock.now());
    this.#schedule();
  }

  #reply(
    peer: AgentPeer,
    id: number,
    from: EndpointSlots,
    row: number,
    rec: Uint8Array,
    off: number,
  ): boolean {
    const ep = readEndpointRow(from, row);
    if (ep === null) return false;
    recordEndpoint(rec, off, this.#observed, 0);
    const ok = peer.path.onReply(id, ep, readEndpointRow(this.#observed, 0), this.#clock.now());
    this.#schedule();
    return ok;
  }

  /** Sends our STATE for the pair when forced (path change) or when it changed and the report interval passed. */
  #report(peer: AgentPeer, force: boolean): void {
    const text = stateText(peer);
    const now = this.#clock.now();
    if (text === peer.lastReport || (!force && now < peer.nextReportAt)) return;
    peer.lastReport = text;
    peer.nextReportAt = now + (this.#o.stateReportMs ?? 60_000);
    this.#o.sendControl(text);
  }

  #tick(): void {
    this.#timer = null;
    this.#timerAt = Infinity;
    if (this.#ended) return;
    const now = this.#clock.now();
    for (const peer of this.table.all()) {
      this.#checkLiveness(peer, now);
      peer.path.tick(now);
      peer.channel.expire(now);
      this.#report(peer, false);
    }
    this.#schedule();
  }

  /**
   * While direct, every punch timeout: if data went out on the path but
   * nothing authenticated came back, the path is suspect (a rebinding, a
   * flushed NAT): probe it now instead of at the next keepalive.
   */
  #checkLiveness(peer: AgentPeer, now: number): void {
    if (peer.path.state !== "direct" || now < peer.nextLivenessAt) return;
    const slot = this.table.slotOf(peer);
    if (this.table.sent[slot] > peer.sentAtCheck && this.table.heard[slot] === peer.heardAtCheck) {
      this.#o.log?.debug(`mesh: nothing heard from ${peer.name} on the direct path, probing it now`);
      peer.path.suspect(now);
    }
    this.#startLivenessWindow(peer, now);
  }

  #startLivenessWindow(peer: AgentPeer, now: number): void {
    const slot = this.table.slotOf(peer);
    peer.sentAtCheck = this.table.sent[slot];
    peer.heardAtCheck = this.table.heard[slot];
    peer.nextLivenessAt = now + this.#hello!.punchTimeoutS * 1000;
  }

  /** Arms one timer for the earliest thing any pair has to do. */
  #schedule(): void {
    if (this.#ended) return;
    let at = Infinity;
    for (const peer of this.table.all()) {
      at = Math.min(at, peer.path.nextDeadline());
      if (peer.path.state === "direct") at = Math.min(at, peer.nextLivenessAt);
      if (stateText(peer) !== peer.lastReport) at = Math.min(at, peer.nextReportAt);
    }
    if (at === this.#timerAt) return;
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
    this.#timerAt = at;
    if (at !== Infinity) {
      this.#timer = this.#clock.setTimer(() => this.#tick(), Math.max(0, at - this.#clock.now()));
    }
  }

  #refuse(reason: string): boolean {
    this.messageErrors++;
    this.#o.log?.warn(`mesh: ${reason}`);
    return true;
  }
}

function stateText(peer: AgentPeer): string {
  const s = peer.path.snapshot();
  return encodeMeshMessage({
    kind: "state",
    pairId: peer.pairId,
    path: s.path,
    endpoint: s.endpoint,
    rttMs: s.rttMs,
  });
}
