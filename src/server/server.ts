/**
 * The tsvpn server: composition of every part from a ServerConfig.
 *
 *   device (openTun)  ──inside loop──►  Datapath  ◄──outside loop──  socket (UDP / framed TCP)
 *        ▲  host setup (netlink)          │  ▲                          │ control packets
 *        │                                ▼  │ keys, peers, routes      ▼
 *   HostSetup: MTU, addresses,        RouteTable / MacTable        ControlListener → ControlSession
 *   routes (undone on stop)           AddressPool (+ persistence)  (TLS, auth, PUSH_REPLY)
 *
 * Session life: the listener creates a ControlSession per hard reset; the
 * certificate is verified against CA + CRL (clientAuth); `authorize` refuses
 * disabled clients and a full server, replaces an older login of the same
 * name (duplicate_cn false), reserves a peer-id (the datapath's array index,
 * pushed as `peer-id`) and leases addresses. Every `key` event installs data
 * keys into the peer's DataChannel (a soft reset keeps the old key for the
 * transition window); the first one attaches the peer to the datapath and
 * registers its addresses and iroutes in the route table. When the session
 * closes (exit, timeout, kill, revocation, replacement) all of it is released.
 *
 * Stop (SIGINT/SIGTERM through runServer): clients are told (OCC exit on the
 * data channel, RESTART on the control channel for peers that negotiated
 * exit notification), sessions get a moment to deliver that, then the loops
 * end, every route and address the server added is removed, the device
 * closed, and the pool saved.
 */

import { openNetlink } from "../../ffi/netlink.ts";
import { openTun } from "../../ffi/tun.ts";
import { openUdp } from "../../ffi/udp.ts";
import { parsePrefix } from "../addr/prefix.ts";
import { readPemSource } from "../config/pem_source.ts";
import type { ClientOverride, PemSource, ServerConfig } from "../config/schema.ts";
import { systemClock } from "../control/clock.ts";
import type { ControlWrapConfig } from "../control/control_wrap.ts";
import { ControlListener, type PeerContext } from "../control/listener.ts";
import type { AuthDecision, ControlSession, PeerIdentity, PeerVerifier } from "../control/session.ts";
import { pkiVerifier } from "../control/verifier.ts";
import { IV_PROTO_CC_EXIT_NOTIFY } from "../control/peer_info.ts";
import { DataChannel } from "../data/data_channel.ts";
import { dataKeysFromKey2 } from "../data/key_material.ts";
import { Datapath } from "../datapath/datapath.ts";
import { runInsideLoop, runOutsideLoop } from "../datapath/loops.ts";
import { PC_BYTES_IN, PC_BYTES_OUT, PC_PACKETS_IN, PC_PACKETS_OUT } from "../datapath/peer_table.ts";
import { type DatagramSocket, EndpointSlots } from "../device/datagram_socket.ts";
import type { NetConfig } from "../device/net_config.ts";
import type { PacketDevice } from "../device/packet_device.ts";
import type { Logger } from "../log/log.ts";
import type { ServerControl, ServerSnapshot } from "../ops/server_control.ts";
import { parseStaticKey } from "../pki/static_key.ts";
import { commonNameOfDer, verifyPeerCertificate } from "../pki/verify.ts";
import type { AddressPool, Lease } from "../pool/address_pool.ts";
import { PoolStore } from "../pool/pool_store.ts";
import { formatIpv4, formatIpv6 } from "../addr/ip.ts";
import { formatMac } from "../addr/mac.ts";
import { VERSION } from "../version.ts";
import { startManagement } from "../ops/management.ts";
import { startStatusFile } from "../ops/status_file.ts";
import { CrlWatch } from "./crl_watch.ts";
import { HostSetup } from "./host_setup.ts";
import { poolFromConfig } from "./pool_setup.ts";
import { buildClientPush } from "./push_reply.ts";
import { TcpServerSocket } from "./tcp_socket.ts";

/**
 * Kernel UDP buffers of the listening socket. The default (~208 KiB, about 90
 * full-size datagrams) overflowed under a single TCP stream whenever the
 * process was descheduled for a few milliseconds (UdpRcvbufErrors, then TCP
 * backing off); 4 MiB rides out such gaps. Privileged: SO_RCVBUFFORCE.
 */
const UDP_BUFFER_BYTES = 4 << 20;
export interface ServerOptions {
  log: Logger;
  /** Host network configuration; default: rtnetlink in the current namespace. */
  net?: NetConfig;
  /** Opens the tun/tap device; default: ffi/tun.ts openTun. */
  openDevice?: (kind: "tun" | "tap", name: string, mtu: number) => PacketDevice;
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number;
  /** Seconds between CRL file checks (a changed CRL disconnects revoked clients at once). @default 1 */
  crlCheckSeconds?: number;
}

export interface ServerHandle {
  readonly control: ServerControl;
  /** Logs the client count, non-zero drop counters and datapath statistics. */
  logStatus(): void;
  readonly datapath: Datapath;
  readonly device: PacketDevice;
  /** The bound UDP/TCP port. */
  readonly localPort: number;
  /** Resolves once the server stopped (by stop() or a fatal loop error). */
  readonly done: Promise<void>;
  /** Stops the server as on SIGTERM; resolves when everything is cleaned up. Safe to call twice. */
  stop(reason?: string): Promise<void>;
}

interface ClientRecord {
  session: ControlSession;
  ctx: PeerContext;
  /** Current link endpoint (UDP address or TCP connection row). */
  endpoint: EndpointSlots;
  name: string | null;
  peerId: number;
  lease: Lease | null;
  override: ClientOverride | null;
  channel: DataChannel | null;
  attached: boolean;
  released: boolean;
  connectedSince: number;
  cipher: string;
  serial: string;
}

interface Reply {
  slots: EndpointSlots;
  fn: (p: Uint8Array) => void;
}

const EXIT_GRACE_MS = 2500;

class Server implements ServerControl {
  readonly config: ServerConfig;
  readonly log: Logger;
  readonly now: () => number;
  readonly pool: AddressPool | null;
  readonly store: PoolStore | null;
  readonly host: HostSetup;
  readonly net: NetConfig;
  dp!: Datapath;
  device!: PacketDevice;
  socket!: DatagramSocket;
  tcp: TcpServerSocket | null = null;
  listener!: ControlListener;
  readonly #records = new Map<number, ClientRecord>();
  readonly #byPeer: (ClientRecord | null)[] = [];
  readonly #replies = new Map<string, Reply>();
  #current: { from: EndpointSlots; row: number } | null = null;
  #crl: CrlWatch | null = null;
  #ca = "";
  #timer: ReturnType<typeof setInterval> | undefined;
  #loops: Promise<void>[] = [];
  #stopping: Promise<void> | null = null;
  #doneResolve!: () => void;
  readonly done: Promise<void>;
  #poolSaved = -1;
  #saving = false;

  constructor(config: ServerConfig, options: ServerOptions) {
    this.config = config;
    this.log = options.log;
    this.now = options.now ?? Date.now;
    this.pool = poolFromConfig(config, this.now);
    this.store = config.server.poolPersist ? new PoolStore(config.server.poolPersist) : null;
    this.net = options.net ?? openNetlink();
    this.host = new HostSetup(this.net, this.log.child("host"));
    this.done = new Promise((r) => this.#doneResolve = r);
  }

  async start(options: ServerOptions): Promise<void> {
    const c = this.config;
    const s = c.server;
    this.#ca = await readPemSource(c.pki.ca);
    const cert = await readPemSource(c.pki.cert);
    const key = await readPemSource(c.pki.key);
    if (c.pki.crl) this.#crl = await this.#openCrl(c.pki.crl);
    let wrap: ControlWrapConfig = { mode: "none" };
    if (c.pki.tlsCrypt) {
      wrap = { mode: "tls-crypt", key: parseStaticKey(await readPemSource(c.pki.tlsCrypt)) };
    } else if (c.pki.tlsAuth) {
      wrap = {
        mode: "tls-auth",
        key: parseStaticKey(await readPemSource(c.pki.tlsAuth.key)),
        digest: c.pki.tlsAuth.digest,
        direction: c.pki.tlsAuth.direction ?? undefined,
      };
    }
    if (this.pool && this.store) {
      const snap = await this.store.load();
      if (snap) {
        const r = this.pool.restore(snap);
        this.log.info("address pool restored", {
          file: this.store.path,
          applied: r.applied,
          skipped: r.skipped,
        });
      }
      this.#poolSaved = this.pool.changes;
    }

    // Device and host configuration.
    const open = options.openDevice ??
      ((kind, name, mtu) => openTun({ kind, name, mtu, vnetHeader: kind === "tun" }));
    this.device = open(c.dev.type, c.dev.name, c.dev.mtu);
    try {
      await this.host.apply({
        dev: this.device.name,
        mtu: c.dev.mtu,
        layout: this.pool?.layout ?? null,
        routes: [...s.routes, ...s.routes6],
      });
    } catch (e) {
      this.device.close();
      throw e;
    }

    // Underlay.
    try {
      if (c.listen.proto === "tcp") {
        this.tcp = new TcpServerSocket({
          hostname: c.listen.host,
          port: c.listen.port,
          onClose: (id) => this.listener?.linkClosed(`tcp#${id}`, "connection closed"),
          // Idle means "carries no session", not "quiet": keepalive may be off.
          hasSession: (id) => (this.listener?.sessionsOnLink(`tcp#${id}`) ?? 0) > 0,
          maxConnections: s.maxClients * 2 + 16,
        });
        this.socket = this.tcp;
      } else {
        this.socket = openUdp({
          host: c.listen.host,
          port: c.listen.port,
          recvBufferBytes: UDP_BUFFER_BYTES,
          sendBufferBytes: UDP_BUFFER_BYTES,
          gso: true,
        });
      }
    } catch (e) {
      await this.host.undo();
      this.device.close();
      throw e;
    }

    const capacity = Math.min(s.maxClients + 16, 0xfffff);
    this.dp = new Datapath({
      mode: c.dev.type === "tap" ? "switch" : "router",
      device: this.device,
      socket: this.socket,
      capacity,
      clientToClient: s.clientToClient,
      maxMacsPerClient: s.maxMacsPerClient,
      mssfix: s.mssfix,
      float: c.listen.proto === "udp",
      pingIntervalMs: c.keepalive.interval * 1000,
      timeoutMs: c.keepalive.timeout * 2000,
      now: this.now,
      log: this.log.child("datapath"),
      onControl: (buf, off, len, from, row) => this.#onControl(buf, off, len, from, row),
      onFloat: (id) => this.#onFloat(id),
      onExit: (id) => this.#byPeer[id]?.session.close("client sent an exit notification", false),
      onTimeout: (id) => this.#onTimeout(id),
      onRekeyDue: (id) => this.#onRekeyDue(id),
    });
    for (let i = 0; i < capacity; i++) this.#byPeer.push(null);

    const base = pkiVerifier({ ca: this.#ca, crl: () => this.#crl?.text, usage: "clientAuth" });
    const verifyPeer: PeerVerifier = async (der, chain) => {
      const r = await base(der, chain);
      if (!r.ok) this.log.warn("client refused", { cn: cnOf(der), reason: r.reason });
      return r;
    };
    this.listener = new ControlListener({
      credentials: { ca: this.#ca, cert, key },
      verifyPeer,
      wrap,
      logger: this.log.child("control"),
      maxSessions: s.maxClients * 2 + 16,
      session: {
        ciphers: c.data.ciphers,
        renegotiateMs: c.data.renegSeconds * 1000,
        transitionWindowMs: c.data.transitionWindow * 1000,
        clock: systemClock,
      },
      authorize: (peer, ctx) => this.#authorize(peer, ctx),
      pushOptions: (_peer, ctx) => this.#push(ctx),
      onSession: (session, ctx) => this.#onSession(session, ctx),
    });

    this.#loops = [
      runInsideLoop(this.dp).catch((e) => this.#loopFailed("device", e)),
      runOutsideLoop(this.dp).catch((e) => this.#loopFailed("socket", e)),
    ];
    let crlCheck = 0;
    const crlEvery = options.crlCheckSeconds ?? 1;
    this.#timer = setInterval(() => {
      this.dp.tick();
      this.#savePool();
      if (++crlCheck >= crlEvery) {
        crlCheck = 0;
        if (!this.#stopping) void this.#crl?.poll();
      }
    }, 1000);
    const layout = this.pool?.layout;
    this.log.info("server started", {
      listen: `${c.listen.proto}:${formatHostPort(c.listen.host, this.socket.localPort)}`,
      dev: this.device.name,
      mode: c.dev.type,
      topology: c.dev.type === "tun" ? s.topology : "subnet",
      ...(layout?.server4 != null ? { address: formatIpv4(layout.server4) } : {}),
      ...(layout?.server6 ? { address6: formatIpv6(layout.server6) } : {}),
      clientToClient: s.clientToClient,
    });
  }

  // -- Control plane glue --

  #onControl(buf: Uint8Array, off: number, len: number, from: EndpointSlots, row: number): void {
    let linkKey: string;
    let remote: string;
    let transport: "udp" | "tcp";
    if (this.tcp) {
      const id = TcpServerSocket.connectionOf(from, row);
      linkKey = `tcp#${id}`;
      remote = this.tcp.remoteOf(id);
      transport = "tcp";
    } else {
      linkKey = from.format(row);
      remote = linkKey;
      transport = "udp";
    }
    const known = this.#replies.has(linkKey);
    const reply = this.#replyFor(linkKey, from, row);
    this.#current = { from, row };
    try {
      this.listener.handlePacket(transport, linkKey, remote, reply.fn, buf, off, len);
    } finally {
      this.#current = null;
      // A source that got only a stateless answer (or nothing) leaves nothing behind.
      if (!known && this.listener.sessionsOnLink(linkKey) === 0) this.#replies.delete(linkKey);
    }
  }

  #replyFor(linkKey: string, from: EndpointSlots, row: number): Reply {
    let r = this.#replies.get(linkKey);
    if (!r) {
      if (this.#replies.size > 8192) this.#replies.clear();
      const slots = new EndpointSlots(1);
      slots.copyRow(0, from, row);
      r = {
        slots,
        fn: (p) => {
          if (!this.#stopped) this.socket.send(p, 0, p.length, slots, 0);
        },
      };
      this.#replies.set(linkKey, r);
    }
    return r;
  }

  get #stopped(): boolean {
    return this.#stopping !== null && this.#closedSocket;
  }

  #closedSocket = false;

  #onSession(session: ControlSession, ctx: PeerContext): void {
    const endpoint = new EndpointSlots(1);
    if (this.#current) endpoint.copyRow(0, this.#current.from, this.#current.row);
    const rec: ClientRecord = {
      session,
      ctx,
      endpoint,
      name: null,
      peerId: -1,
      lease: null,
      override: null,
      channel: null,
      attached: false,
      released: false,
      connectedSince: 0,
      cipher: "",
      serial: "",
    };
    this.#records.set(ctx.peerId, rec);
    session.on("key", (k) => this.#onKey(rec, k.keyId, k.key2, k.cipher));
    session.on("keyRetired", (e) => {
      if (rec.channel && rec.channel.sendKeyId !== e.keyId) rec.channel.removeKey(e.keyId);
    });
    session.on("closed", (e) => this.#release(rec, e.reason));
  }

  #authorize(peer: PeerIdentity, ctx: PeerContext): AuthDecision {
    const rec = this.#records.get(ctx.peerId);
    if (!rec) return { ok: false, reason: "session is gone" };
    const name = peer.commonName;
    const refuse = (reason: string): AuthDecision => {
      this.log.warn("client refused", { cn: name, remote: ctx.remote, reason });
      return { ok: false, reason };
    };
    if (this.#stopping) return refuse("server is shutting down");
    const s = this.config.server;
    const override = s.clients.get(name) ?? null;
    if (override?.disabled) return refuse("client is disabled in the server configuration");
    if (!s.duplicateCn) {
      for (const other of this.#records.values()) {
        if (other !== rec && other.name === name && !other.released) {
          this.log.info("replacing older session of the same client", { cn: name, remote: ctx.remote });
          other.session.close("replaced by a new login of the same client", true);
          this.#release(other, "replaced by a new login of the same client");
        }
      }
    }
    let active = 0;
    for (const r of this.#records.values()) if (r.peerId >= 0 && !r.released) active++;
    if (active >= s.maxClients) return refuse(`server is full (max_clients ${s.maxClients})`);
    const id = this.dp.reservePeer();
    if (id < 0) return refuse("no free peer-id");
    let lease: Lease | null = null;
    if (this.pool) {
      const r = this.pool.allocate(name);
      if (!r.ok) {
        this.dp.releasePeer(id);
        return refuse(r.message);
      }
      lease = r.lease;
    }
    rec.name = name;
    rec.peerId = id;
    rec.lease = lease;
    rec.override = override;
    rec.serial = peer.serial;
    this.#byPeer[id] = rec;
    if (lease && this.pool) {
      const { ifconfig, ifconfigIpv6 } = this.pool.pushIfconfig(lease);
      this.log.info("address assigned", {
        cn: name,
        peerId: id,
        ...(ifconfig ? { ifconfig } : {}),
        ...(ifconfigIpv6 ? { ifconfigIpv6 } : {}),
        ...(lease.fixed ? { static: true } : {}),
      });
    }
    return { ok: true };
  }

  #push(ctx: PeerContext) {
    const rec = this.#records.get(ctx.peerId);
    if (!rec || rec.peerId < 0) throw new Error("push request from a session that was not authorized");
    const s = this.config.server;
    return buildClientPush({
      pool: this.pool,
      lease: rec.lease,
      clientToClient: s.clientToClient,
      keepalive: this.config.keepalive,
      push: s.push,
      override: rec.override,
      peerId: rec.peerId,
    });
  }

  #onKey(rec: ClientRecord, keyId: number, key2: Uint8Array, cipher: string): void {
    if (rec.peerId < 0 || rec.released) return;
    const material = dataKeysFromKey2(key2, { cipher: cipher as "AES-256-GCM", role: "server" });
    key2.fill(0);
    if (!rec.channel) {
      const d = this.config.data;
      rec.channel = new DataChannel({
        peerId: rec.peerId,
        replayWindow: d.replayWindow,
        renegBytes: d.renegBytes,
        transitionWindowMs: d.transitionWindow * 1000,
      });
    }
    try {
      rec.channel.installKey(keyId, material, this.now());
    } catch (e) {
      this.log.error("could not install data keys", { cn: rec.name, reason: (e as Error).message });
      rec.session.close("data key installation failed", false);
      return;
    }
    rec.cipher = cipher;
    if (rec.attached) {
      this.log.info("data keys renewed", { cn: rec.name, keyId });
      return;
    }
    this.dp.attachPeer(rec.peerId, rec.channel, rec.endpoint, 0);
    rec.attached = true;
    rec.connectedSince = this.now();
    if (this.dp.modeName === "router") {
      if (rec.lease && this.pool) {
        for (const p of this.pool.routesFor(rec.lease)) this.dp.routes.add(p, rec.peerId);
      }
      for (const p of [...(rec.override?.iroutes ?? []), ...(rec.override?.iroutes6 ?? [])]) {
        const prev = this.dp.routes.add(parsePrefix(p.text), rec.peerId);
        this.log.info("route added", {
          prefix: p.text,
          via: rec.name,
          ...(prev >= 0 && prev !== rec.peerId ? { takenFrom: this.#byPeer[prev]?.name ?? prev } : {}),
        });
      }
    }
    this.log.info("client connected", {
      cn: rec.name,
      remote: rec.ctx.remote,
      peerId: rec.peerId,
      cipher,
      ...(rec.lease?.ipv4 != null ? { address: formatIpv4(rec.lease.ipv4) } : {}),
      ...(rec.lease?.ipv6 ? { address6: formatIpv6(rec.lease.ipv6) } : {}),
    });
  }

  /** Peer `id`'s data key carried reneg_bytes or nears packet-id exhaustion: start a soft reset. */
  #onRekeyDue(id: number): void {
    const rec = this.#byPeer[id];
    const reason = rec?.channel?.rekeyReason;
    if (rec && reason) rec.session.renegotiate(reason);
  }

  #release(rec: ClientRecord, reason: string): void {
    if (rec.released) return;
    rec.released = true;
    const id = rec.peerId;
    if (id >= 0) {
      if (rec.attached && this.dp.modeName === "router") {
        for (const p of [...(rec.override?.iroutes ?? []), ...(rec.override?.iroutes6 ?? [])]) {
          if (this.dp.routes.ownerOf(parsePrefix(p.text)) === id) {
            this.log.info("route removed", { prefix: p.text });
          }
        }
      }
      this.dp.releasePeer(id);
      this.#byPeer[id] = null;
      rec.channel?.clear();
    }
    if (rec.lease && this.pool) this.pool.release(rec.lease);
    if (rec.attached) {
      const secs = Math.round((this.now() - rec.connectedSince) / 1000);
      this.log.info("client disconnected", { cn: rec.name, remote: rec.ctx.remote, reason, durationS: secs });
    } else if (rec.name) {
      this.log.info("session ended before data", { cn: rec.name, reason });
    }
    // The listener's record goes when the session emits closed; drop ours now or then.
    if (rec.session.closed) this.#records.delete(rec.ctx.peerId);
    else rec.session.on("closed", () => this.#records.delete(rec.ctx.peerId));
  }

  #onFloat(id: number): void {
    const rec = this.#byPeer[id];
    if (!rec) return;
    rec.endpoint.copyRow(0, this.dp.peers.endpoints, id);
    const linkKey = this.dp.peers.endpoints.format(id);
    const reply = this.#replyFor(linkKey, this.dp.peers.endpoints, id);
    this.listener.float(rec.ctx.peerId, linkKey, linkKey, reply.fn);
    rec.ctx.remote = linkKey;
  }

  #onTimeout(id: number): void {
    const rec = this.#byPeer[id];
    const reason = `no packet from the client for ${this.config.keepalive.timeout * 2} s (ping-restart)`;
    if (!rec) {
      this.dp.releasePeer(id);
      return;
    }
    rec.session.close(reason, false);
    this.#release(rec, reason);
  }

  #loopFailed(which: string, e: unknown): void {
    if (this.#stopping) return;
    this.log.error(`${which} loop failed`, { reason: (e as Error)?.message ?? String(e) });
    void this.stop(`${which} failed`);
  }

  #savePool(): void {
    if (!this.pool || !this.store || this.#saving || this.pool.changes === this.#poolSaved) return;
    const changes = this.pool.changes;
    this.#saving = true;
    this.store.save(this.pool.snapshot()).then(
      () => this.#poolSaved = changes,
      (e) => this.log.warn("could not save the address pool", { reason: (e as Error).message }),
    ).finally(() => this.#saving = false);
  }

  #openCrl(source: PemSource): Promise<CrlWatch> {
    return CrlWatch.open({
      source,
      log: this.log,
      verify: (certificate, chain, crl) =>
        verifyPeerCertificate(certificate, { ca: this.#ca, crl, usage: "clientAuth", intermediates: chain }),
      // Every verified session, with the certificate and chain of its latest (re)negotiation.
      clients: () =>
        [...this.#records.values()].flatMap((rec) => {
          const peer = rec.session.peer;
          if (rec.released || peer === null) return [];
          const disconnect = (reason: string) => this.#killRecord(rec, reason);
          return [{ name: peer.commonName, certificate: peer.certificate, chain: peer.chain, disconnect }];
        }),
    });
  }

  /** Logs clients and non-zero drop counters (SIGUSR2, as OpenVPN dumps its status; and at stop). */
  logStatus(): void {
    const snap = this.snapshot();
    const drops: Record<string, number> = {};
    for (const [k, v] of Object.entries(snap.drops)) if (v > 0) drops[k] = v;
    const stats: Record<string, number> = {};
    const records = [
      this.dp.counters.statRecord(),
      this.listener.stats.record(),
      this.tcp?.statRecord() ?? {},
    ];
    for (const r of records) for (const [k, v] of Object.entries(r)) if (v > 0) stats[k] = v;
    this.log.info("status", { clients: snap.clients.length, ...prefixKeys("drop_", drops), ...stats });
  }

  // -- ServerControl --

  snapshot(): ServerSnapshot {
    const c = this.config;
    const peers = this.dp.peers;
    const clients = [];
    const names = new Map<number, ClientRecord>();
    for (const rec of this.#records.values()) {
      if (!rec.attached || rec.released) continue;
      const id = rec.peerId;
      names.set(id, rec);
      clients.push({
        name: rec.name ?? "",
        realAddress: rec.ctx.remote,
        virtualAddress: rec.lease?.ipv4 != null ? formatIpv4(rec.lease.ipv4) : "",
        virtualAddress6: rec.lease?.ipv6 ? formatIpv6(rec.lease.ipv6) : "",
        peerId: id,
        clientId: rec.ctx.peerId,
        cipher: rec.cipher,
        connectedSince: Math.floor(rec.connectedSince / 1000),
        bytesIn: peers.counter(id, PC_BYTES_IN),
        bytesOut: peers.counter(id, PC_BYTES_OUT),
        packetsIn: peers.counter(id, PC_PACKETS_IN),
        packetsOut: peers.counter(id, PC_PACKETS_OUT),
        lastActivity: Math.floor(peers.lastRx[id] / 1000),
      });
    }
    const routes = this.dp.modeName === "router"
      ? this.dp.routes.entries().map((e) => {
        const rec = names.get(e.owner);
        const text = e.prefix.family === 4 ? formatIpv4(e.prefix.addr) : formatIpv6(e.prefix.addr);
        const full = e.prefix.family === 4 ? 32 : 128;
        return {
          virtualAddress: e.prefix.bits === full ? text : `${text}/${e.prefix.bits}`,
          name: rec?.name ?? "",
          realAddress: rec?.ctx.remote ?? "",
          lastRef: Math.floor(peers.lastRx[e.owner] / 1000),
        };
      })
      : [];
    const now = this.now();
    const macs = this.dp.modeName === "switch"
      ? this.dp.macs.entries().map((m) => ({
        mac: formatMac(m.mac),
        port: m.port === 0 ? "tap" : names.get(m.port - 1)?.name ?? String(m.port - 1),
        ageSeconds: Math.max(0, Math.floor((now - m.lastSeen) / 1000)),
      }))
      : [];
    // Datapath drops by their own names; control-channel drops prefixed, since
    // both layers have reasons such as "replay" and "malformed".
    const drops = this.dp.counters.dropRecord();
    for (const [k, v] of Object.entries(this.listener.drops.snapshot())) drops[`control_${k}`] = v;
    return {
      version: VERSION,
      time: Math.floor(now / 1000),
      mode: c.dev.type,
      topology: c.dev.type === "tun" ? c.server.topology : "subnet",
      device: this.device.name,
      listen: `${c.listen.proto}:${formatHostPort(c.listen.host, this.socket.localPort)}`,
      clients,
      routes,
      macs,
      drops,
      globalStats: { "Max bcast/mcast queue length": 0 },
    };
  }

  kill(name: string, reason: string): Promise<number> {
    let n = 0;
    for (const rec of [...this.#records.values()]) {
      if (rec.name !== name || rec.released) continue;
      n++;
      this.#killRecord(rec, reason);
    }
    return Promise.resolve(n);
  }

  #killRecord(rec: ClientRecord, reason: string): void {
    if (rec.released) return;
    this.log.info("killing client", { cn: rec.name ?? rec.session.peer?.commonName, reason });
    if (rec.peerId >= 0) this.dp.sendExit(rec.peerId);
    rec.session.close(reason, true);
    this.#release(rec, reason);
  }

  /** Re-reads the CRL and re-checks every client; rejects (keeping the last good CRL) when it is bad. */
  reloadCrl(): Promise<number> {
    return this.#crl?.reload() ?? Promise.resolve(0);
  }

  // -- Stop --

  stop(reason = "server shutting down"): Promise<void> {
    this.#stopping ??= this.#stop(reason);
    return this.#stopping;
  }

  async #stop(reason: string): Promise<void> {
    this.log.info("server stopping", { reason });
    clearInterval(this.#timer);
    this.logStatus();
    const live = [...this.#records.values()].filter((r) => !r.session.closed);
    // Peers that negotiated exit notification get RESTART on the control channel (listener.close);
    // the others an OCC exit on the data channel.
    for (const rec of live) {
      const ccExit = ((rec.session.peer?.ivProto ?? 0) & IV_PROTO_CC_EXIT_NOTIFY) !== 0;
      if (rec.attached && !rec.released && !ccExit) this.dp.sendExit(rec.peerId);
    }
    this.listener.close(reason);
    const deadline = Date.now() + EXIT_GRACE_MS;
    while (live.some((r) => !r.session.closed) && Date.now() < deadline) await sleep(50);
    for (const rec of live) this.#release(rec, reason);
    this.#closedSocket = true;
    this.socket.close();
    // Routes and addresses first: they vanish with the device, and undo() must see them go.
    await this.host.undo();
    this.device.close();
    await Promise.race([Promise.all(this.#loops), sleep(2000)]);
    if (this.pool && this.store && this.pool.changes !== this.#poolSaved) {
      try {
        await this.store.save(this.pool.snapshot());
      } catch (e) {
        this.log.warn("could not save the address pool", { reason: (e as Error).message });
      }
    }
    this.net.close();
    this.log.info("server stopped");
    this.#doneResolve();
  }
}

function prefixKeys(prefix: string, r: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(r)) out[prefix + k] = v;
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function cnOf(der: Uint8Array): string {
  return commonNameOfDer(der.slice()) ?? "";
}

function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Starts a server from its configuration; resolves once it is listening. */
export async function startServer(config: ServerConfig, options: ServerOptions): Promise<ServerHandle> {
  const server = new Server(config, options);
  try {
    await server.start(options);
  } catch (e) {
    server.net.close();
    throw e;
  }
  return {
    control: server,
    logStatus: () => server.logStatus(),
    get datapath() {
      return server.dp;
    },
    get device() {
      return server.device;
    },
    localPort: server.socket.localPort,
    done: server.done,
    stop: (reason) => server.stop(reason),
  };
}

/**
 * Runs a server until SIGINT/SIGTERM (SIGHUP reloads the CRL, SIGUSR2 logs
 * the status and drop counters) and returns the
 * exit code: 0 after a clean stop, 1 when it could not start.
 */
export async function runServer(config: ServerConfig, options: ServerOptions): Promise<number> {
  let handle: ServerHandle;
  try {
    handle = await startServer(config, options);
  } catch (e) {
    options.log.error(`server could not start: ${(e as Error).message.split("\n")[0]}`);
    return 1;
  }
  // Management interface and status file (src/ops) on top of ServerControl.
  const extras: { close(): Promise<void> }[] = [];
  try {
    const m = config.management?.listen;
    if (m) {
      const text = m.kind === "unix" ? m.path : formatHostPort(m.host, m.port);
      const mgmt = await startManagement(text, handle.control, {
        log: options.log,
        passwordFile: config.management!.passwordFile,
      });
      options.log.info("management interface listening", { address: mgmt.address });
      extras.push(mgmt);
    }
    if (config.server.statusFile) {
      extras.push(
        await startStatusFile(config.server.statusFile, config.server.statusInterval, handle.control, {
          log: options.log,
        }),
      );
    }
  } catch (e) {
    options.log.error(`server could not start: ${(e as Error).message.split("\n")[0]}`);
    await Promise.all(extras.map((x) => x.close().catch(() => {})));
    await handle.stop("startup failed");
    return 1;
  }
  const onStop = () => void handle.stop("received a signal to stop");
  // A bad CRL is logged by the watcher and leaves the last good one in force.
  const onHup = () => void handle.control.reloadCrl().catch(() => {});
  const onUsr2 = () => handle.logStatus();
  Deno.addSignalListener("SIGINT", onStop);
  Deno.addSignalListener("SIGTERM", onStop);
  Deno.addSignalListener("SIGHUP", onHup);
  Deno.addSignalListener("SIGUSR2", onUsr2);
  try {
    await handle.done;
    await Promise.all(extras.map((x) => x.close().catch(() => {})));
  } finally {
    Deno.removeSignalListener("SIGINT", onStop);
    Deno.removeSignalListener("SIGTERM", onStop);
    Deno.removeSignalListener("SIGHUP", onHup);
    Deno.removeSignalListener("SIGUSR2", onUsr2);
  }
  return 0;
}
