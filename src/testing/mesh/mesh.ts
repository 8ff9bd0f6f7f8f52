/**
 * An in-memory mesh for tests: one server (MeshIntroducer plus a UDP socket
 * that observes each client's public endpoint) and tsvpn clients (MeshAgent,
 * each on its own SimNet socket, optionally behind a NAT), with the control
 * channel as an ordered in-memory queue and time on a synchronous StepClock.
 *
 * `sendIp(from, dst)` does what the client datapath will do once wired: a
 * destination owned by a direct peer goes on the direct path (sealed by the
 * pair key, over SimNet), anything else to the server, whose router relays it
 * (calling `MeshIntroducer.onRelayed`, as the server datapath will). Each
 * client's `tun` records what arrived and how.
 */

import { formatIpv4, parseIpv4 } from "../../addr/ip.ts";
import { parsePrefix } from "../../addr/prefix.ts";
import type { Clock } from "../../control/clock.ts";
import { parsePeerInfo } from "../../control/peer_info.ts";
import type { CipherName } from "../../data/aead.ts";
import type { EndpointSlots } from "../../device/datagram_socket.ts";
import { Logger } from "../../log/log.ts";
import { buildUdp } from "../packet/builders.ts";
import { RX_DELIVER } from "../../mesh/direct_path.ts";
import { endpointSlot, parseEndpoint } from "../../mesh/endpoint.ts";
import { MeshAgent } from "../../mesh/mesh_agent.ts";
import type { CloseReason } from "../../mesh/messages.ts";
import { MeshIntroducer } from "../../mesh/pair_table.ts";
import { DEFAULT_MESH_SETTINGS, type MeshSettings } from "../../mesh/settings.ts";
import { type SimNat, SimNet, type SimSocket } from "./nat.ts";
import { seededBytes } from "./random.ts";
import { MESH_OVERHEAD } from "../../mesh/wire.ts";

/** A Clock whose timers fire, in deadline order, only inside `runTo`. */
export class StepClock implements Clock {
  t = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();
  #id = 0;

  now = (): number => this.t;

  setTimer = (fn: () => void, ms: number): number => {
    this.#timers.set(++this.#id, { at: this.t + Math.max(0, ms), fn });
    return this.#id;
  };

  clearTimer = (id: number): void => void this.#timers.delete(id);

  /** Fires every timer due up to `t` in order, calling `after` after each; then sets the time to `t`. */
  runTo(t: number, after: () => void): void {
    for (let fired = 0; fired < 1_000_000; fired++) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.#timers) {
        if (e[1].at <= t && (next === undefined || e[1].at < next[1].at)) next = e;
      }
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
      after();
    }
    this.t = t;
  }
}

export interface RigClientSpec {
  name: string;
  /** Virtual address, "10.8.0.x". */
  vpn: string;
  /** The socket's address: private when behind `nat`. */
  address: string;
  nat?: SimNat | null;
  port?: number;
  iroutes?: string[];
  /** Announces IV_TSVPN. @default true */
  tsvpn?: boolean;
  /** `mesh: false` is false. @default true */
  meshAllowed?: boolean;
  /** Reports its socket address as a local endpoint. @default true */
  reportLocal?: boolean;
  cipher?: CipherName;
}

export interface Delivery {
  src: string;
  dst: string;
  via: "direct" | "relayed";
}

export class RigClient {
  readonly spec: RigClientSpec;
  readonly session: number;
  readonly socket: SimSocket;
  readonly agent: MeshAgent;
  readonly tun: Delivery[] = [];
  /** The agent's log lines. */
  readonly log: string[];
  /** The client's session runs (its agent is live). */
  alive = true;
  /** The server holds the session (relays to it). */
  joined = true;

  constructor(spec: RigClientSpec, session: number, socket: SimSocket, agent: MeshAgent, log: string[]) {
    this.spec = spec;
    this.session = session;
    this.socket = socket;
    this.agent = agent;
    this.log = log;
  }

  /** Path to the peer named `name` ("direct"/"relayed"), or "none" without a pair. */
  pathTo(name: string): string {
    return this.agent.peers().find((p) => p.name === name)?.path ?? "none";
  }
}

const SERVER = "192.0.2.1";
const SERVER_PING_MS = 10_000;
const SERVER_ENDPOINT = endpointSlot(parseEndpoint(`${SERVER}:1194`));

export class MeshRig {
  readonly clock = new StepClock();
  readonly net = new SimNet(() => this.clock.now());
  readonly server: MeshIntroducer;
  readonly serverSocket: SimSocket;
  readonly serverLog: string[] = [];
  readonly clients: RigClient[] = [];
  #control: { session: number; toServer: boolean; text: string }[] = [];
  #observed = new Map<number, string>();

  constructor(settings: Partial<MeshSettings> = {}) {
    this.server = new MeshIntroducer({
      settings: { ...DEFAULT_MESH_SETTINGS, enabled: true, ...settings },
      capacity: 64,
      serverCiphers: ["AES-256-GCM", "CHACHA20-POLY1305", "AES-128-GCM"],
      send: (session, text) => this.#control.push({ session, toServer: false, text }),
      log: new Logger({ level: "debug", sink: (l) => this.serverLog.push(l) }),
    });
    this.serverSocket = this.net.socket(parseIpv4(SERVER), 1194);
    this.serverSocket.onReceive = (buf, len, from, row) => this.#serverReceive(buf, len, from, row);
  }

  addClient(spec: RigClientSpec): RigClient {
    const session = this.clients.length;
    const port = spec.port ?? 1194;
    const socket = this.net.socket(parseIpv4(spec.address), port, spec.nat ?? null);
    const log: string[] = [];
    const agent = new MeshAgent({
      name: spec.name,
      ciphers: ["AES-256-GCM", "CHACHA20-POLY1305", "AES-128-GCM"],
      clock: this.clock,
      random: seededBytes(1000 + session),
      sendControl: (text) => this.#control.push({ session, toServer: true, text }),
      socket,
      localEndpoints: () =>
        spec.reportLocal === false ? [] : [parseEndpoint(`${formatIpv4(socket.address)}:${port}`)],
      log: new Logger({ level: "debug", sink: (l) => log.push(l) }),
      backend: "noble",
    });
    const c = new RigClient(spec, session, socket, agent, log);
    this.clients.push(c);
    socket.onReceive = (buf, len, from, row) => this.#clientReceive(c, buf, len, from, row);
    this.#ping(c);
    this.pump();
    const ping = () => {
      if (!c.joined) return;
      this.#ping(c);
      this.clock.setTimer(ping, SERVER_PING_MS);
    };
    this.clock.setTimer(ping, SERVER_PING_MS);
    return c;
  }

  client(name: string): RigClient {
    return this.clients.find((c) => c.spec.name === name)!;
  }

  /** Delivers control messages and datagrams until nothing is in flight. */
  pump(): void {
    for (let i = 0; i < 100_000; i++) {
      const m = this.#control.shift();
      if (m !== undefined) {
        const c = this.clients[m.session];
        if (m.toServer) this.server.onControlMessage(m.session, m.text);
        else if (c.alive) c.agent.onControlMessage(m.text);
        continue;
      }
      if (this.net.pending === 0) return;
      this.net.flush();
    }
    throw new Error("MeshRig.pump: the mesh never went quiet");
  }

  /** Lets `ms` pass: every timer fires on time and everything it sends is delivered. */
  run(ms: number): void {
    this.pump();
    this.clock.runTo(this.clock.t + ms, () => this.pump());
    this.pump();
  }

  /** One IPv4 UDP packet from `from` to `dst`, routed as the wired client datapath will. */
  sendIp(from: RigClient, dst: string, src = from.spec.vpn): "direct" | "relayed" | "no-route" {
    const pkt = buildUdp({ src, dst, srcPort: 5000, dstPort: 6000, payload: new Uint8Array(32) });
    const slotBuf = new Uint8Array(MESH_OVERHEAD + pkt.length);
    slotBuf.set(pkt, MESH_OVERHEAD);
    const slot = from.agent.table.directSlot4At(slotBuf, MESH_OVERHEAD + 16);
    if (slot >= 0) {
      from.agent.direct.queueData(slot, slotBuf, MESH_OVERHEAD, pkt.length);
      from.agent.direct.flush();
      this.pump();
      return "direct";
    }
    const owner = this.#ownerOf(dst);
    if (owner === undefined || !from.joined) return "no-route";
    this.server.onRelayed(from.session, owner.session, pkt.length);
    owner.tun.push({ src, dst, via: "relayed" });
    this.pump();
    return "relayed";
  }

  /** The client's control session renegotiated (both ends see it). */
  renegotiate(c: RigClient): void {
    this.server.renegotiated(c.session);
    c.agent.renegotiated();
    this.pump();
  }

  /** The server drops the session (kill, revoke, timeout); the client does not know yet. */
  serverDrops(c: RigClient, reason: CloseReason): void {
    c.joined = false;
    this.server.leave(c.session, reason);
    this.pump();
  }

  /** The session ends on both sides. */
  endSession(c: RigClient, reason: CloseReason = "left"): void {
    c.agent.sessionEnded();
    c.alive = false;
    c.joined = false;
    this.server.leave(c.session, reason);
    this.pump();
  }

  #ownerOf(dst: string): RigClient | undefined {
    const d = parseIpv4(dst);
    return this.clients.find((c) =>
      c.joined &&
      (parseIpv4(c.spec.vpn) === d ||
        (c.spec.iroutes ?? []).some((p) => {
          const prefix = parsePrefix(p);
          return prefix.family === 4 && (d >>> (32 - prefix.bits)) === (prefix.addr >>> (32 - prefix.bits));
        }))
    );
  }

  /** The client's OpenVPN traffic to the server, in the rig a two-byte datagram naming its session. */
  #ping(c: RigClient): void {
    c.socket.send(Uint8Array.of(0xee, c.session), 0, 2, SERVER_ENDPOINT, 0);
  }

  #serverReceive(buf: Uint8Array, len: number, from: EndpointSlots, row: number): void {
    if (len !== 2 || buf[0] !== 0xee) return;
    const c = this.clients[buf[1]];
    if (c === undefined || !c.joined) return;
    const seen = from.format(row);
    const before = this.#observed.get(c.session);
    this.#observed.set(c.session, seen);
    if (before === undefined) this.#join(c, seen);
    else if (before !== seen) this.server.update(c.session, { publicEndpoint: parseEndpoint(seen) });
  }

  #join(c: RigClient, observed: string): void {
    const s = c.spec;
    const info = `IV_VER=2.6.14\n${
      s.tsvpn === false ? "" : "IV_TSVPN=1\n"
    }IV_CIPHERS=AES-256-GCM:CHACHA20-POLY1305\n`;
    this.server.join({
      session: c.session,
      name: s.name,
      peerInfo: parsePeerInfo(info),
      meshAllowed: s.meshAllowed ?? true,
      cipher: s.cipher ?? "AES-256-GCM",
      publicEndpoint: parseEndpoint(observed),
      addresses: [{ family: 4, v4: parseIpv4(s.vpn) }],
      iroutes: (s.iroutes ?? []).map((p) => parsePrefix(p)),
    });
  }

  #clientReceive(c: RigClient, buf: Uint8Array, len: number, from: EndpointSlots, row: number): void {
    if (!c.alive) return;
    const d = c.agent.direct;
    if (d.receive(buf, 0, len, from, row) !== RX_DELIVER) return;
    const p = d.plainOff;
    const src = formatIpv4(
      ((buf[p + 12] << 24) | (buf[p + 13] << 16) | (buf[p + 14] << 8) | buf[p + 15]) >>> 0,
    );
    const dst = formatIpv4(
      ((buf[p + 16] << 24) | (buf[p + 17] << 16) | (buf[p + 18] << 8) | buf[p + 19]) >>> 0,
    );
    c.tun.push({ src, dst, via: "direct" });
  }
}
