/**
 * Server side: one listener owns every peer's ControlSession and
 * demultiplexes incoming packets.
 *
 * UDP: control packets are routed by (source endpoint, sender session id);
 * P_DATA_V2 by its peer-id, P_DATA_V1 by source endpoint. A packet naming no
 * session goes to the StrangerGate (stranger_gate.ts): a verified
 * P_CONTROL_HARD_RESET_CLIENT_V2 gets one stateless answer and nothing is
 * stored; the peer's next packet, acknowledging that answer, creates the
 * session (within the session limit and the new-session rate) already past
 * the reset exchange, since the peer proved it receives at its address.
 * Anything else is dropped, counted by reason, without touching any state.
 *
 * TCP: each connection carries length-framed packets (tcp_framing.ts) for
 * one peer; the connection already proved the address, so a verified reset
 * creates the session at once (within the same per-source, session and rate
 * limits). `resetCookies: false` makes UDP behave the same way.
 *
 * Transports stay outside: they call handlePacket() with a reply function.
 */

import { type Clock, systemClock, systemRandom } from "./clock.ts";
import { type ControlWrap, createControlWrap } from "./control_wrap.ts";
import {
  DROP_BAD_OPCODE,
  DROP_CAPACITY,
  DROP_MALFORMED,
  DROP_RATE_LIMITED,
  DROP_UNKNOWN_SESSION,
  DROP_UNSUPPORTED,
  DropCounters,
  VERDICT_OK,
} from "./drop_counters.ts";
import type { ControlListenerOptions } from "./listener_options.ts";
import {
  isDataOpcode,
  isSupportedControlOpcode,
  opcodeOf,
  P_CONTROL_HARD_RESET_CLIENT_V3,
  P_CONTROL_WKC_V1,
  P_DATA_V1,
  P_DATA_V2,
  SESSION_ID_SIZE,
} from "./opcode.ts";
import { type Peer, type PeerContext, PeerTable, type ReplyFn } from "./peer_table.ts";
import { COOKIE_REPLY_PACKET_ID } from "./reset_cookie.ts";
import { ControlSession } from "./session.ts";
import { TokenBucket } from "./source_buckets.ts";
import {
  type AnsweredReset,
  type GateStats,
  mayConcernGate,
  StrangerGate,
  type TransportKind,
} from "./stranger_gate.ts";

export type { TransportKind } from "./stranger_gate.ts";
export type { PeerContext, ReplyFn } from "./peer_table.ts";
export type { ControlListenerOptions } from "./listener_options.ts";

export class ControlListener {
  readonly drops = new DropCounters();
  readonly #o: ControlListenerOptions;
  readonly #clock: Clock;
  readonly #wrap: ControlWrap;
  readonly #gate: StrangerGate;
  readonly #peers = new PeerTable();
  readonly #newSessions: TokenBucket;
  #closed = false;
  #counted = false;

  constructor(options: ControlListenerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? options.session?.clock ?? systemClock;
    this.#wrap = createControlWrap(options.wrap, "server");
    this.#newSessions = new TokenBucket(
      options.handshakeRate ?? 100,
      options.handshakeBurst ?? 200,
      this.#clock.now(),
    );
    this.#gate = new StrangerGate({
      ...options,
      wrap: this.#wrap,
      clock: this.#clock,
      random: options.random ?? options.session?.random ?? systemRandom,
      handshakeWindowMs: options.session?.handshakeWindowMs ?? 60_000,
    });
  }

  /** What the listener did for strangers (stateless answers, sessions they earned). */
  get stats(): GateStats {
    return this.#gate.stats;
  }

  /** Source addresses whose reset rate is being tracked (bounded by sourceTableSize). */
  get trackedSources(): number {
    return this.#gate.trackedSources;
  }

  /** Live sessions. */
  get sessionCount(): number {
    return this.#peers.size;
  }

  sessions(): ControlSession[] {
    return [...this.#peers.peers()].map((p) => p.session);
  }

  /** Sessions on one link (a TCP connection id or a UDP endpoint). */
  sessionsOnLink(linkKey: string): number {
    return this.#peers.onLink(linkKey)?.length ?? 0;
  }

  /** The session that owns a peer-id, if any. */
  sessionByPeerId(peerId: number): ControlSession | null {
    return this.#peers.byPeerId(peerId)?.session ?? null;
  }

  /**
   * Handles one packet from `linkKey` (UDP: "addr:port"; TCP: a connection id).
   * `reply` sends to that peer. Returns VERDICT_OK or the DROP_* reason.
   */
  handlePacket(
    transport: TransportKind,
    linkKey: string,
    remote: string,
    reply: ReplyFn,
    buf: Uint8Array,
    off = 0,
    len = buf.length - off,
  ): number {
    this.#counted = false;
    let v: number;
    try {
      v = this.#handle(transport, linkKey, remote, reply, buf, off, len);
    } catch (e) {
      // Transports call this from their receive loops: nothing a peer sends may throw out of it.
      this.#o.logger?.error("packet handling failed", { remote, error: (e as Error)?.message ?? String(e) });
      this.#counted = false;
      v = DROP_MALFORMED;
    }
    if (v !== VERDICT_OK && !this.#counted) this.drops.count(v);
    return v;
  }

  /**
   * Refuses, and counts as handlePacket would, what the opcode, size and session id alone rule out,
   * before a caller builds anything per source (address text, a reply function): a datagram of junk
   * then costs a byte compare, or one allocation-free hash lookup when it names a session id no peer
   * has and the stranger gate would refuse it without crypto. VERDICT_OK means only that the packet
   * needs handlePacket.
   */
  screen(buf: Uint8Array, off: number, len: number): number {
    if (this.#closed || len < 1 || off < 0 || off + len > buf.length) return VERDICT_OK;
    const op = opcodeOf(buf[off]);
    if (isDataOpcode(op)) return VERDICT_OK;
    let v = VERDICT_OK;
    if (len < 1 + SESSION_ID_SIZE) v = DROP_MALFORMED;
    else if (op === P_CONTROL_HARD_RESET_CLIENT_V3 || op === P_CONTROL_WKC_V1) v = DROP_UNSUPPORTED;
    else if (!isSupportedControlOpcode(op)) v = DROP_BAD_OPCODE;
    else if (!mayConcernGate(buf[off]) && !this.#peers.mayHaveSid(buf, off + 1)) v = DROP_UNKNOWN_SESSION;
    if (v !== VERDICT_OK) this.drops.count(v);
    return v;
  }

  #handle(
    transport: TransportKind,
    linkKey: string,
    remote: string,
    reply: ReplyFn,
    buf: Uint8Array,
    off: number,
    len: number,
  ): number {
    if (this.#closed || len < 1 || off < 0 || off + len > buf.length) return DROP_MALFORMED;
    const op = opcodeOf(buf[off]);
    if (isDataOpcode(op)) return this.#data(op, linkKey, buf, off, len);
    if (len < 1 + SESSION_ID_SIZE) return DROP_MALFORMED;
    // A stranger's session id misses the allocation-free hash: no string key is built for it.
    const peer = this.#peers.mayHaveSid(buf, off + 1) ? this.#peers.find(linkKey, buf, off + 1) : undefined;
    if (peer) {
      // Sessions count their own drops into our counters.
      this.#counted = true;
      return peer.session.receive(buf, off, len);
    }
    if (op === P_CONTROL_HARD_RESET_CLIENT_V3 || op === P_CONTROL_WKC_V1) return DROP_UNSUPPORTED; // tls-crypt-v2
    if (!isSupportedControlOpcode(op)) return DROP_BAD_OPCODE;
    // Unknown session: the gate answers, drops, or lets the stranger in.
    const gate = this.#gate;
    const v = gate.admit(transport, linkKey, remote, reply, buf, off, len);
    if (v !== VERDICT_OK || !gate.opens) return v;
    const answered = gate.answered;
    const sv = this.#open(transport, linkKey, remote, reply, buf, off, len, answered);
    if (sv === VERDICT_OK && answered) gate.stats.cookieSessions++;
    return sv;
  }

  /** Creates a session for a stranger that earned one and hands it the packet. */
  #open(
    transport: TransportKind,
    linkKey: string,
    remote: string,
    reply: ReplyFn,
    buf: Uint8Array,
    off: number,
    len: number,
    answered: AnsweredReset | null,
  ): number {
    if (this.#peers.size >= (this.#o.maxSessions ?? 4096) && !this.#evictUnproven()) return DROP_CAPACITY;
    if (!this.#newSessions.take(this.#clock.now())) return DROP_RATE_LIMITED;
    // At most one session per endpoint still negotiating, as OpenVPN keeps one TM_INITIAL slot per client:
    // a newer verified reset replaces it. An established session stays until the new one is established
    // (see #create), so a reset from a spoofed address cannot end a working session.
    for (const other of [...(this.#peers.onLink(linkKey) ?? [])]) {
      if (!other.session.established) {
        other.session.close("replaced by a newer reset from the same endpoint", false);
      }
    }
    const created = this.#create(
      transport,
      linkKey,
      remote,
      reply,
      buf.subarray(off + 1, off + 1 + SESSION_ID_SIZE),
      answered,
    );
    this.#counted = true;
    const sv = created.session.receive(buf, off, len);
    if (sv !== VERDICT_OK) created.session.close("first packet refused", false);
    return sv;
  }

  #data(op: number, linkKey: string, buf: Uint8Array, off: number, len: number): number {
    let peer: Peer | undefined;
    if (op === P_DATA_V2) {
      if (len < 4) return DROP_MALFORMED;
      const pid = (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3];
      peer = this.#peers.byPeerId(pid);
      // A peer-id only counts from the link it belongs to until the data layer authenticates a float.
      if (peer && peer.linkKey !== linkKey && peer.ctx.transport === "tcp") peer = undefined;
    } else if (op === P_DATA_V1) {
      const list = this.#peers.onLink(linkKey);
      peer = list?.find((p) => p.session.established) ?? list?.[0];
    }
    if (!this.#o.onData) return peer ? VERDICT_OK : DROP_UNKNOWN_SESSION;
    this.#o.onData(buf, off, len, peer?.session ?? null, peer?.ctx ?? null);
    return VERDICT_OK;
  }

  /**
   * Moves a UDP peer to a new endpoint. Call only after the data layer
   * authenticated a packet from `linkKey` for this peer (OpenVPN's float).
   */
  float(peerId: number, linkKey: string, remote: string, reply: ReplyFn): boolean {
    const peer = this.#peers.byPeerId(peerId);
    if (!peer || peer.ctx.transport !== "udp" || peer.linkKey === linkKey) return false;
    peer.ctx.remote = remote;
    peer.reply = reply;
    this.#peers.move(peer, linkKey);
    this.#o.logger?.info("peer floated", { peerId, remote });
    return true;
  }

  /** Sends to a peer through its current link (for the data layer). */
  sendTo(peerId: number, packet: Uint8Array): boolean {
    const peer = this.#peers.byPeerId(peerId);
    if (!peer) return false;
    peer.reply(packet);
    return true;
  }

  /** A TCP connection ended: its sessions end too. */
  linkClosed(linkKey: string, reason = "connection closed"): void {
    for (const p of [...(this.#peers.onLink(linkKey) ?? [])]) p.session.close(reason, false);
  }

  /** Closes every session (with exit notification) and refuses new ones. */
  close(reason = "server shutting down"): void {
    this.#closed = true;
    for (const p of [...this.#peers.peers()]) p.session.close(reason, true);
  }

  /**
   * At capacity, makes room by closing the oldest session whose peer never acknowledged our reset: a
   * flood of resets from spoofed addresses cannot lock out clients that do answer.
   */
  #evictUnproven(): boolean {
    for (const p of this.#peers.peers()) {
      if (!p.session.resetAcknowledged) {
        p.session.close("evicted: session table full and the peer never answered", false);
        return true;
      }
    }
    return false;
  }

  #create(
    transport: TransportKind,
    linkKey: string,
    remote: string,
    reply: ReplyFn,
    clientSid: Uint8Array,
    answered: AnsweredReset | null,
  ): Peer {
    const peerId = this.#peers.allocPeerId();
    const ctx: PeerContext = { peerId, remote, transport };
    const o = this.#o;
    // deno-lint-ignore prefer-const
    let peer: Peer;
    const session = new ControlSession({
      ...o.session,
      role: "server",
      proto: transport,
      credentials: o.credentials,
      verifyPeer: o.verifyPeer,
      wrap: this.#wrap,
      drops: this.drops,
      peerId,
      clock: o.session?.clock ?? this.#clock,
      logger: (o.session?.logger ?? o.logger)?.child(`peer${peerId}`),
      send: (p) => peer.reply(p),
      authorize: o.authorize ? (id, auth) => o.authorize!(id, ctx, auth) : undefined,
      reauthorize: o.reauthorize ? (id, auth) => o.reauthorize!(id, ctx, auth) : undefined,
      pushOptions: o.pushOptions ? (id) => o.pushOptions!(id, ctx) : undefined,
      ...(answered
        ? {
          localSessionId: answered.serverSid,
          answeredReset: { remoteSessionId: answered.clientSid, packetId: COOKIE_REPLY_PACKET_ID },
        }
        : {}),
    });
    peer = { session, ctx, linkKey, reply, clientSid: clientSid.slice() };
    this.#peers.add(peer);
    session.on("closed", () => this.#peers.remove(peer));
    session.on("established", () => {
      // A client that restarted from the same endpoint replaces its old session.
      for (const other of [...(this.#peers.onLink(peer.linkKey) ?? [])]) {
        if (other !== peer) other.session.close("replaced by a new session from the same endpoint", false);
      }
    });
    o.logger?.debug("new session", { peerId, remote, transport });
    o.onSession?.(session, ctx);
    return peer;
  }
}
