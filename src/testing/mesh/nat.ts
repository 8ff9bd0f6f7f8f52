/**
 * A simulated IPv4 internet with NAT routers, for the mesh's tests (no
 * sockets, no namespaces: everything stays in memory).
 *
 * - `SimNet.socket(address, port, nat?)` makes a UDP socket on the public
 *   internet, or on the LAN behind `nat` (its address is then private).
 * - A `SimNat` maps a LAN socket's outgoing datagrams to its public address:
 *   `"cone"`: endpoint-independent mapping (one public port per LAN socket,
 *     whatever the destination) with address-and-port-dependent filtering
 *     (an inbound datagram passes only from an endpoint the LAN socket has
 *     sent to): the common home router, RFC 4787's recommended behaviour;
 *   `"full-cone"`: endpoint-independent mapping and filtering;
 *   `"symmetric"`: a new public port per destination (endpoint-dependent
 *     mapping), same filtering as "cone": carrier-grade and some firewalls.
 *   Each flow (LAN socket ↔ remote endpoint) expires `mappingTimeoutMs` after
 *   its last datagram either way, as Linux conntrack does; a public port is
 *   kept while any of its flows lives.
 *   `rebind()` forgets every mapping (router restart, or a mapping timed out
 *   under a long silence): the next datagram leaves from a new public port.
 *   Sockets on the same LAN reach each other directly by private address;
 *   there is no hairpinning (a LAN socket sending to its own NAT's public
 *   address gets nothing).
 * - Datagrams are queued; `flush()` delivers them (and whatever their
 *   handlers send) in order, up to a bound, so tests never recurse.
 */

import { formatIpv4 } from "../../addr/ip.ts";
import { type DatagramSocket, EndpointSlots } from "../../device/datagram_socket.ts";

export type NatBehaviour = "cone" | "full-cone" | "symmetric";

/** One public port; `remotes` holds each flow's last activity (a flow expires on its own, like conntrack). */
interface Mapping {
  publicPort: number;
  inside: SimSocket;
  remotes: Map<string, number>;
}

interface Queued {
  bytes: Uint8Array;
  fromAddr: number;
  fromPort: number;
  toAddr: number;
  toPort: number;
  /** Set when the datagram stays on this NAT's LAN. */
  lan: SimNat | null;
}

const key = (a: number, p: number): string => `${a >>> 0}:${p}`;

export class SimNat {
  readonly publicAddress: number;
  readonly behaviour: NatBehaviour;
  mappingTimeoutMs: number;
  /** Datagrams refused at this NAT (no mapping, filtered, expired). */
  filtered = 0;
  readonly #now: () => number;
  #mappings = new Map<number, Mapping>();
  #byInside = new Map<string, Mapping>();
  #nextPort = 20000;

  constructor(publicAddress: number, behaviour: NatBehaviour, now: () => number, mappingTimeoutMs = 30_000) {
    this.publicAddress = publicAddress >>> 0;
    this.behaviour = behaviour;
    this.#now = now;
    this.mappingTimeoutMs = mappingTimeoutMs;
  }

  /** Forgets every mapping: later datagrams leave from new public ports. */
  rebind(): void {
    this.#mappings.clear();
    this.#byInside.clear();
    this.#nextPort += 1000;
  }

  /** @internal The public port an outgoing datagram from `inside` to (toAddr, toPort) leaves from. */
  outbound(inside: SimSocket, toAddr: number, toPort: number): number {
    const remote = key(toAddr, toPort);
    const insideKey = this.behaviour === "symmetric" ? `${inside.id}>${remote}` : `${inside.id}`;
    let m = this.#byInside.get(insideKey);
    if (m !== undefined && this.#expired(m)) {
      this.#drop(insideKey, m);
      m = undefined;
    }
    if (m === undefined) {
      m = { publicPort: this.#nextPort++, inside, remotes: new Map() };
      this.#mappings.set(m.publicPort, m);
      this.#byInside.set(insideKey, m);
    }
    m.remotes.set(remote, this.#now());
    return m.publicPort;
  }

  /** @internal The LAN socket an inbound datagram reaches, or null when the NAT refuses it. */
  inbound(publicPort: number, fromAddr: number, fromPort: number): SimSocket | null {
    const m = this.#mappings.get(publicPort);
    if (m === undefined || this.#expired(m)) {
      this.filtered++;
      return null;
    }
    const remote = key(fromAddr, fromPort);
    const seen = m.remotes.get(remote);
    if (
      this.behaviour !== "full-cone" && (seen === undefined || this.#now() - seen > this.mappingTimeoutMs)
    ) {
      this.filtered++;
      return null;
    }
    m.remotes.set(remote, this.#now());
    return m.inside;
  }

  /** True once every flow of the mapping timed out. */
  #expired(m: Mapping): boolean {
    const now = this.#now();
    for (const at of m.remotes.values()) if (now - at <= this.mappingTimeoutMs) return false;
    return true;
  }

  #drop(insideKey: string, m: Mapping): void {
    this.#byInside.delete(insideKey);
    this.#mappings.delete(m.publicPort);
  }
}

export type Receiver = (buf: Uint8Array, len: number, from: EndpointSlots, row: number) => void;

export class SimSocket implements Pick<DatagramSocket, "send"> {
  static #ids = 0;
  readonly id = ++SimSocket.#ids;
  readonly net: SimNet;
  address: number;
  readonly port: number;
  nat: SimNat | null;
  onReceive: Receiver | null = null;

  constructor(net: SimNet, address: number, port: number, nat: SimNat | null) {
    this.net = net;
    this.address = address >>> 0;
    this.port = port;
    this.nat = nat;
  }

  /** Moves the socket (roaming): a new address, behind another NAT or none. */
  moveTo(address: number, nat: SimNat | null): void {
    this.net.detach(this);
    this.address = address >>> 0;
    this.nat = nat;
    this.net.attach(this);
  }

  send(buf: Uint8Array, offset: number, length: number, to: EndpointSlots, row: number): boolean {
    this.net.send(this, buf.slice(offset, offset + length), to.ipv4(row), to.port(row));
    return true;
  }
}

export class SimNet {
  /** Every datagram handed over, delivered or not (for failure messages). */
  readonly trace: string[] = [];
  /** Drops every datagram this returns true for (loss, a firewall). */
  lose: ((d: { fromAddr: number; toAddr: number; toPort: number; bytes: Uint8Array }) => boolean) | null =
    null;
  readonly #now: () => number;
  #queue: Queued[] = [];
  #sockets = new Map<string, SimSocket>();
  #nats = new Map<number, SimNat>();
  readonly #from = new EndpointSlots(1);
  readonly #buf = new Uint8Array(2048);

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Sees a copy of every datagram as it is delivered (an on-path observer). */
  tap:
    | ((d: { bytes: Uint8Array; fromAddr: number; fromPort: number; toAddr: number; toPort: number }) => void)
    | null = null;

  /** Queues a datagram with any source (an attacker who can spoof addresses). */
  inject(bytes: Uint8Array, fromAddr: number, fromPort: number, toAddr: number, toPort: number): void {
    this.#queue.push({ bytes: bytes.slice(), fromAddr, fromPort, toAddr: toAddr >>> 0, toPort, lan: null });
  }

  /** Datagrams queued and not yet delivered. */
  get pending(): number {
    return this.#queue.length;
  }

  nat(publicAddress: number, behaviour: NatBehaviour, mappingTimeoutMs?: number): SimNat {
    const n = new SimNat(publicAddress, behaviour, this.#now, mappingTimeoutMs);
    this.#nats.set(n.publicAddress, n);
    return n;
  }

  socket(address: number, port: number, nat: SimNat | null = null): SimSocket {
    const s = new SimSocket(this, address, port, nat);
    this.attach(s);
    return s;
  }

  /** @internal */
  attach(s: SimSocket): void {
    this.#sockets.set(this.#socketKey(s.address, s.port, s.nat), s);
  }

  /** @internal */
  detach(s: SimSocket): void {
    this.#sockets.delete(this.#socketKey(s.address, s.port, s.nat));
  }

  /** @internal Routes one datagram out of `from` (through its NAT unless the target is on its LAN). */
  send(from: SimSocket, bytes: Uint8Array, toAddr: number, toPort: number): void {
    const nat = from.nat;
    const sameLan = nat !== null && this.#sockets.has(this.#socketKey(toAddr, toPort, nat));
    let fromAddr = from.address, fromPort = from.port;
    if (nat !== null && !sameLan) {
      fromAddr = nat.publicAddress;
      fromPort = nat.outbound(from, toAddr >>> 0, toPort);
    }
    this.#queue.push({ bytes, fromAddr, fromPort, toAddr: toAddr >>> 0, toPort, lan: sameLan ? nat : null });
  }

  /** Delivers queued datagrams, and those their handlers send, until none is left (at most `max`). */
  flush(max = 100_000): number {
    let n = 0;
    while (this.#queue.length > 0 && n < max) {
      this.#deliver(this.#queue.shift()!);
      n++;
    }
    if (this.#queue.length > 0) {
      throw new Error(`SimNet.flush: still ${this.#queue.length} datagrams after ${max}`);
    }
    return n;
  }

  #deliver(d: Queued): void {
    const label = `${formatIpv4(d.fromAddr)}:${d.fromPort} > ${
      formatIpv4(d.toAddr)
    }:${d.toPort} (${d.bytes.length})`;
    if (this.lose?.(d)) return void this.trace.push(`${label} lost`);
    this.tap?.({ ...d, bytes: d.bytes.slice() });
    const target = this.#target(d);
    if (target === null || target.onReceive === null) return void this.trace.push(`${label} dropped`);
    this.trace.push(label);
    this.#buf.set(d.bytes);
    this.#from.setIpv4(0, d.fromAddr, d.fromPort);
    target.onReceive(this.#buf, d.bytes.length, this.#from, 0);
  }

  /** The receiving socket: on the sender's LAN, behind the NAT owning the address, or on the internet. */
  #target(d: Queued): SimSocket | null {
    if (d.lan !== null) return this.#sockets.get(this.#socketKey(d.toAddr, d.toPort, d.lan)) ?? null;
    const nat = this.#nats.get(d.toAddr);
    if (nat !== undefined) {
      return d.fromAddr === nat.publicAddress ? null : nat.inbound(d.toPort, d.fromAddr, d.fromPort); // no hairpin
    }
    return this.#sockets.get(this.#socketKey(d.toAddr, d.toPort, null)) ?? null;
  }

  #socketKey(address: number, port: number, nat: SimNat | null): string {
    return `${nat === null ? "internet" : nat.publicAddress}/${key(address, port)}`;
  }
}
