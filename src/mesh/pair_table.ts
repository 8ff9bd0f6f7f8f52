/**
 * The server's side of the mesh: who may be introduced, introducing each pair
 * once, keeping both sides informed, and the counters and pair states status
 * shows. Sans-IO: messages leave through `send(session, text)`; sessions are
 * the datapath's peer-ids.
 *
 * A session is eligible when the mesh is enabled, it announced IV_TSVPN, its
 * client has no `mesh: false`, its certificate name can be carried in mesh
 * messages and no other live session has the same name, the server observed
 * a UDP endpoint for it, and its routes fit an INTRO. Eligible sessions get a
 * HELLO; a session is ready once its KEY arrived (one KEY per control-channel
 * key: the first after HELLO, one more after each `renegotiated`).
 *
 * `onRelayed(from, to, bytes)` is the router's hook for every packet it
 * relays client to client: it counts it and, the first time two ready
 * sessions exchange one (either direction), introduces them. In the common
 * case (not ready, or already introduced) it is a few loads and a hash probe,
 * with no allocation. `leave` (kill, revoke, loss, exit) closes every pair of
 * the session and tells each peer at once.
 */

import type { NumericIp } from "../addr/ip.ts";
import type { NumericPrefix } from "../addr/prefix.ts";
import type { CipherName } from "../data/aead.ts";
import type { Logger } from "../log/log.ts";
import { announcedCiphers, announcesMesh } from "./capability.ts";
import { type Endpoint, formatEndpoint } from "./endpoint.ts";
import { isMeshName } from "./message_fields.ts";
import {
  type CloseReason,
  encodeMeshMessage,
  isMeshMessage,
  MAX_PAIR_ID,
  MAX_PEER_ADDRESSES,
  MAX_PEER_IROUTES,
  type MeshKey,
  type MeshState,
  tryParseMeshMessage,
} from "./messages.ts";
import { PairIndex } from "./pair_index.ts";
import { isUsablePublicKey } from "./pair_keys.ts";
import { checkMeshSettings, helloFor, type MeshSettings } from "./settings.ts";

/** What the server knows about a session when it joins the mesh's view. */
export interface MeshClientInfo {
  /** The session's datapath peer-id. */
  session: number;
  /** Verified certificate name. */
  name: string;
  /** The client's key-method 2 peer-info (IV_TSVPN, IV_CIPHERS). */
  peerInfo: ReadonlyMap<string, string>;
  /** False for `server.clients.NAME.mesh: false`. */
  meshAllowed: boolean;
  /** The data cipher negotiated with this client. */
  cipher: CipherName;
  /** The client's UDP endpoint as the server sees it; null over TCP (never meshed). */
  publicEndpoint: Endpoint | null;
  addresses: NumericIp[];
  iroutes: NumericPrefix[];
}

/** One pair as status shows it, from one member's view (its latest STATE). */
export interface PairStatus {
  pairId: number;
  peer: string;
  path: "direct" | "relayed";
  endpoint: string | null;
  rttMs: number | null;
}

interface ClientRecord extends MeshClientInfo {
  capable: boolean;
  ciphers: string[];
  offered: boolean;
  keysAllowed: number;
  key: MeshKey | null;
  pairs: Set<Pair>;
}

interface Pair {
  id: number;
  a: ClientRecord;
  b: ClientRecord;
  cipher: CipherName;
  states: Map<number, MeshState>;
}

/** Relay counters (MeshIntroducer.relayed). */
export const RELAYED_PACKETS = 0;
export const RELAYED_BYTES = 1;
/** Event counters (MeshIntroducer.counters). */
export const MC_INTRODUCED = 0;
export const MC_CLOSED = 1;
export const MC_TABLE_FULL = 2;
export const MC_NO_COMMON_CIPHER = 3;
export const MC_MESSAGE_ERRORS = 4;
export const MC_NAMES: readonly string[] = [
  "introduced",
  "closed",
  "table_full",
  "no_common_cipher",
  "message_errors",
];

/** Index value of a pair that was refused (no common cipher): known, so not retried per packet. */
const REFUSED = 0;

export interface MeshIntroducerOptions {
  settings: MeshSettings;
  /** Session ids are 0..capacity-1 (the datapath's peer table). */
  capacity: number;
  /** The server's data ciphers in preference order (for pairs whose members negotiated different ones). */
  serverCiphers: readonly CipherName[];
  send: (session: number, text: string) => void;
  log?: Logger;
}

export class MeshIntroducer {
  readonly relayed = new Float64Array(2);
  readonly counters = new Float64Array(MC_NAMES.length);
  readonly #o: MeshIntroducerOptions;
  readonly #clients: (ClientRecord | null)[];
  readonly #ready: Uint8Array;
  readonly #index: PairIndex;
  readonly #pairs = new Map<number, Pair>();
  readonly #names = new Map<string, number>();
  #nextPairId = 1;

  constructor(options: MeshIntroducerOptions) {
    checkMeshSettings(options.settings);
    if (!Number.isInteger(options.capacity) || options.capacity < 1 || options.capacity > 0xffffff) {
      throw new RangeError("capacity must be 1..16777215");
    }
    this.#o = options;
    this.#clients = new Array(options.capacity).fill(null);
    this.#ready = new Uint8Array(options.capacity);
    this.#index = new PairIndex(options.settings.maxPairs);
  }

  get pairCount(): number {
    return this.#pairs.size;
  }

  /** Whether `session` was offered the mesh and its KEY arrived (it can be introduced). */
  isReady(session: number): boolean {
    return this.#ready[session] === 1;
  }

  // -- Hot path --

  /** The router relayed `bytes` from session `from` to session `to`. */
  onRelayed(from: number, to: number, bytes: number): void {
    this.relayed[RELAYED_PACKETS]++;
    this.relayed[RELAYED_BYTES] += bytes;
    if (this.#ready[from] !== 1 || this.#ready[to] !== 1 || from === to) return;
    if (this.#index.find(from, to) >= 0) return;
    this.#introduce(this.#clients[from]!, this.#clients[to]!);
  }

  // -- Session lifecycle --

  /** A session established (after push); eligible sessions are offered the mesh with HELLO. */
  join(info: MeshClientInfo): void {
    this.#checkSession(info.session);
    if (this.#clients[info.session] !== null) this.leave(info.session, "left");
    const c: ClientRecord = {
      ...info,
      capable: announcesMesh(info.peerInfo),
      ciphers: announcedCiphers(info.peerInfo),
      offered: false,
      keysAllowed: 0,
      key: null,
      pairs: new Set(),
    };
    this.#clients[info.session] = c;
    this.#names.set(c.name, (this.#names.get(c.name) ?? 0) + 1);
    this.#refreshName(c.name);
  }

  /**
   * The session renegotiated its control channel: it may announce one more
   * key (at most two may be pending, for renegotiations in quick succession).
   */
  renegotiated(session: number): void {
    const c = this.#clients[session];
    if (c?.offered) c.keysAllowed = Math.min(c.keysAllowed + 1, 2);
  }

  /**
   * Policy, routes or endpoint changed (reload, float): pairs are closed or
   * re-introduced to match, to both members (each re-probes: after a NAT
   * rebinding the moved side must punch too, and only the server saw it move).
   */
  update(
    session: number,
    changes: Partial<Pick<MeshClientInfo, "meshAllowed" | "publicEndpoint" | "addresses" | "iroutes">>,
  ): void {
    const c = this.#clients[session];
    if (c === null || c === undefined) return;
    Object.assign(c, changes);
    this.#refresh(c);
    if (this.#ready[session] !== 1) return;
    for (const pair of c.pairs) {
      this.#sendIntro(other(pair, c), c, pair);
      this.#sendIntro(c, other(pair, c), pair);
    }
  }

  /** The session is gone (killed, revoked, lost, exited): its pairs close and every peer is told at once. */
  leave(session: number, reason: CloseReason): void {
    const c = this.#clients[session];
    if (c === null || c === undefined) return;
    for (const pair of [...c.pairs]) this.#closePair(pair, reason, [other(pair, c)]);
    this.#forgetRefusals(c);
    this.#clients[session] = null;
    this.#ready[session] = 0;
    const left = (this.#names.get(c.name) ?? 1) - 1;
    if (left === 0) this.#names.delete(c.name);
    else this.#names.set(c.name, left);
    this.#refreshName(c.name);
  }

  /** A control message from `session`; false when it is not a mesh message. */
  onControlMessage(session: number, text: string): boolean {
    if (!isMeshMessage(text)) return false;
    const c = this.#clients[session];
    if (c === null || c === undefined || !c.offered) {
      return this.#refuse(session, "mesh message from a session not offered the mesh");
    }
    const parsed = tryParseMeshMessage(text);
    if (!parsed.ok) return this.#refuse(session, parsed.error);
    const m = parsed.message;
    if (m.kind === "key") this.#onKey(c, m);
    else if (m.kind === "state") this.#onState(c, m);
    else this.#refuse(session, `${m.kind.toUpperCase()} is the server's message`);
    return true;
  }

  /** The pairs of `session` with its latest reported path for each (status). */
  pairsOf(session: number): PairStatus[] {
    const c = this.#clients[session];
    if (c === null || c === undefined) return [];
    return [...c.pairs].map((pair) => {
      const st = pair.states.get(session);
      return {
        pairId: pair.id,
        peer: other(pair, c).name,
        path: st?.path ?? "relayed",
        endpoint: st?.endpoint ? formatEndpoint(st.endpoint) : null,
        rttMs: st?.rttMs ?? null,
      };
    });
  }

  // -- Internals --

  #onKey(c: ClientRecord, m: MeshKey): void {
    if (c.keysAllowed < 1) return void this.#refuse(c.session, "KEY without a renegotiation");
    if (c.key !== null && m.epoch <= c.key.epoch) {
      return void this.#refuse(c.session, "KEY epoch did not increase");
    }
    if (!isUsablePublicKey(m.publicKey)) return void this.#refuse(c.session, "KEY is a low-order point");
    c.keysAllowed--;
    c.key = m;
    this.#refresh(c);
    for (const pair of c.pairs) {
      this.#sendIntro(c, other(pair, c), pair);
      this.#sendIntro(other(pair, c), c, pair);
    }
  }

  #onState(c: ClientRecord, m: MeshState): void {
    const pair = this.#pairs.get(m.pairId);
    if (pair === undefined || (pair.a !== c && pair.b !== c)) {
      return void this.#refuse(c.session, `STATE for pair ${m.pairId}, which it is not part of`);
    }
    pair.states.set(c.session, m);
  }

  #introduce(a: ClientRecord, b: ClientRecord): void {
    if (this.#index.size >= this.#o.settings.maxPairs) {
      this.counters[MC_TABLE_FULL]++;
      return;
    }
    const cipher = choosePairCipher(a, b, this.#o.serverCiphers);
    if (cipher === null) {
      this.#index.insert(a.session, b.session, REFUSED);
      this.counters[MC_NO_COMMON_CIPHER]++;
      this.#o.log?.info(`mesh: ${a.name} and ${b.name} share no cipher; they stay relayed`);
      return;
    }
    const pair: Pair = { id: this.#allocatePairId(), a, b, cipher, states: new Map() };
    this.#index.insert(a.session, b.session, pair.id);
    this.#pairs.set(pair.id, pair);
    a.pairs.add(pair);
    b.pairs.add(pair);
    this.counters[MC_INTRODUCED]++;
    this.#o.log?.info(`mesh: introducing ${a.name} and ${b.name}`, { pair: pair.id, cipher });
    this.#sendIntro(a, b, pair);
    this.#sendIntro(b, a, pair);
  }

  #sendIntro(to: ClientRecord, about: ClientRecord, pair: Pair): void {
    this.#o.send(
      to.session,
      encodeMeshMessage({
        kind: "intro",
        pairId: pair.id,
        peerName: about.name,
        cipher: pair.cipher,
        epoch: to.key!.epoch,
        peerEpoch: about.key!.epoch,
        peerPublicKey: about.key!.publicKey,
        publicEndpoint: about.publicEndpoint!,
        localEndpoints: about.key!.localEndpoints,
        addresses: about.addresses,
        iroutes: about.iroutes,
      }),
    );
  }

  #closePair(pair: Pair, reason: CloseReason, tell: ClientRecord[]): void {
    this.#index.remove(pair.a.session, pair.b.session);
    this.#pairs.delete(pair.id);
    pair.a.pairs.delete(pair);
    pair.b.pairs.delete(pair);
    this.counters[MC_CLOSED]++;
    for (const c of tell) {
      this.#o.send(c.session, encodeMeshMessage({ kind: "close", pairId: pair.id, reason }));
    }
  }

  /** Offers the mesh to a newly eligible session; closes the pairs of one no longer eligible. */
  #refresh(c: ClientRecord): void {
    const eligible = this.#eligible(c);
    if (eligible && !c.offered) {
      c.offered = true;
      c.keysAllowed = 1;
      this.#o.send(c.session, encodeMeshMessage(helloFor(this.#o.settings)));
    }
    if (!eligible) {
      for (const pair of [...c.pairs]) this.#closePair(pair, "policy", [pair.a, pair.b]);
      this.#forgetRefusals(c);
    }
    this.#ready[c.session] = eligible && c.key !== null ? 1 : 0;
  }

  /** Two live sessions with one name are never meshed (a client tells peers apart by name). */
  #refreshName(name: string): void {
    for (const c of this.#clients) if (c !== null && c.name === name) this.#refresh(c);
  }

  #eligible(c: ClientRecord): boolean {
    return this.#o.settings.enabled && c.capable && c.meshAllowed && isMeshName(c.name) &&
      this.#names.get(c.name) === 1 && c.publicEndpoint !== null &&
      c.addresses.length <= MAX_PEER_ADDRESSES && c.iroutes.length <= MAX_PEER_IROUTES;
  }

  /** Drops refused-pair markers involving `c`, so a later change may introduce it again. */
  #forgetRefusals(c: ClientRecord): void {
    for (const o of this.#clients) {
      if (o !== null && this.#index.find(c.session, o.session) === REFUSED) {
        this.#index.remove(c.session, o.session);
      }
    }
  }

  #allocatePairId(): number {
    for (;;) {
      const id = this.#nextPairId;
      this.#nextPairId = id >= MAX_PAIR_ID ? 1 : id + 1;
      if (!this.#pairs.has(id)) return id;
    }
  }

  #checkSession(session: number): void {
    if (!Number.isInteger(session) || session < 0 || session >= this.#clients.length) {
      throw new RangeError(`Session ${session} is outside 0..${this.#clients.length - 1}`);
    }
  }

  #refuse(session: number, reason: string): boolean {
    this.counters[MC_MESSAGE_ERRORS]++;
    this.#o.log?.warn(`mesh: refused a message from session ${session}: ${reason}`);
    return true;
  }
}

function other(pair: Pair, c: ClientRecord): ClientRecord {
  return pair.a === c ? pair.b : pair.a;
}

/**
 * The pair's cipher: the one both members negotiated with the server, else
 * the first of the server's preference both announced in IV_CIPHERS; null
 * when they share none.
 */
export function choosePairCipher(
  a: { cipher: CipherName; ciphers: readonly string[] },
  b: { cipher: CipherName; ciphers: readonly string[] },
  serverOrder: readonly CipherName[],
): CipherName | null {
  if (a.cipher === b.cipher) return a.cipher;
  return serverOrder.find((c) => a.ciphers.includes(c) && b.ciphers.includes(c)) ?? null;
}
