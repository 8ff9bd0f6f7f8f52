/**
 * One connection attempt to one remote, from dialling to its end: resolve,
 * open the transport, TLS + key-method 2 + PUSH_REPLY through a
 * ControlSession, data keys into a DataChannel attached to the client's
 * datapath as peer 0, keepalive from the push, and finally a verdict saying
 * how it ended. Host configuration is not done here: `onPush` hands the
 * push to the client, which plans and applies it and may refuse it (fatal).
 *
 *   run() ──► resolve ──► transport ──► hard reset … TLS … PUSH_REPLY ──► onPush ──► up
 *                │             │                 │                                  │
 *             failed        failed      failed (timeout, TLS, AUTH_FAILED)   lost / server-restart
 */

import type { Remote } from "../config/schema.ts";
import type { PushOptions } from "../control/push_options.ts";
import { ClientMesh } from "./client_mesh.ts";
import { ControlSession, type SessionEnd, type SessionKey } from "../control/session.ts";
import { type CompressFraming, framingOfOption } from "../data/framing.ts";
import { DataChannel } from "../data/data_channel.ts";
import { PEER_ID_UNDEF } from "../data/data_header.ts";
import { dataKeysFromKey2 } from "../data/key_material.ts";
import type { DatagramSocket, EndpointSlots } from "../device/datagram_socket.ts";
import type { Logger } from "../log/log.ts";
import { DialError, formatRemote, resolveRemote, serverEndpoint } from "./dial.ts";
import { deadPeerTimeoutMs, isPeerDead } from "./dead_peer.ts";
import { screenPushOptions } from "./push_screen.ts";
import { connectionEndOf } from "./connection_end.ts";
import type { ConnectedInfo, ConnectionDeps, ConnectionEnd } from "./connection_types.ts";

export type { ConnectedInfo, ConnectionDeps, ConnectionEnd } from "./connection_types.ts";

export class Connection {
  readonly remote: Remote;
  readonly #deps: ConnectionDeps;
  readonly #log: Logger;
  #session: ControlSession | null = null;
  #mesh: ClientMesh | null = null;
  #socket: DatagramSocket | null = null;
  #endpoint: EndpointSlots | null = null;
  #dataChannel: DataChannel | null = null;
  /** Compression framing: the profile's (compat.compress) until the server pushes one (src/data/framing.ts). */
  #framing: CompressFraming;
  #address = "";
  #upAt = 0;
  #gotPacket = false;
  #pushed: PushOptions | null = null;
  /** Silence after sending that ends the tunnel (dead_peer.ts); 0 = off. */
  #deadPeerMs = 0;
  #lastError: string | null = null;
  #end: ConnectionEnd | null = null;
  #finish: (e: ConnectionEnd) => void = () => {};
  #timers: ReturnType<typeof setTimeout>[] = [];
  #stopping = false;

  constructor(deps: ConnectionDeps, remote: Remote) {
    this.#deps = deps;
    this.remote = remote;
    this.#log = deps.log;
    this.#framing = deps.config.compat.compress;
  }

  /** True once the push was applied. */
  get up(): boolean {
    return this.#upAt > 0;
  }

  get address(): string {
    return this.#address;
  }

  /** Runs the attempt; resolves once it has ended and its socket is closed. */
  async run(): Promise<ConnectionEnd> {
    const done = new Promise<ConnectionEnd>((resolve) => this.#finish = resolve);
    try {
      await this.#start();
    } catch (e) {
      this.#conclude({
        kind: "failed",
        reason: e instanceof DialError ? e.message : `${(e as Error).message}`,
      });
    }
    const end = await done;
    this.#cleanup();
    return end;
  }

  /**
   * Ends the connection on request: tells the server (EXIT on the control
   * channel, OCC exit on UDP) and waits briefly for that to be acknowledged.
   */
  async stop(reason: string): Promise<void> {
    if (this.#end || this.#stopping) return;
    this.#stopping = true;
    const session = this.#session;
    if (session && session.established && !session.closed) {
      if (this.remote.proto === "udp" && this.#dataChannel) this.#deps.datapath.sendExit(0);
      const closed = session.once("closed");
      session.close(reason, true);
      await Promise.race([closed, new Promise((r) => this.#timer(() => r(null), 2500))]);
    }
    this.#conclude({ kind: "stopped", reason });
  }

  /** Control packets from the datapath (single mode hands over everything that is not data). */
  onControl(buf: Uint8Array, off: number, len: number, from: EndpointSlots, row: number): void {
    if (!this.#session || !this.#endpoint || !from.equals(row, this.#endpoint, 0)) return;
    this.#gotPacket = true;
    this.#session.receive(buf, off, len);
  }

  /** The datapath saw the server silent for the keepalive timeout. */
  onTimeout(): void {
    const secs = Math.round(this.#deps.datapath.timeoutMs / 1000);
    this.#conclude(this.#lostOrFailed(`no packet from the server for ${secs} s (ping-restart)`));
  }

  /**
   * Called once a second: ends an up tunnel whose server has answered
   * nothing authenticated for the dead-peer timeout while we kept sending
   * (dead_peer.ts); the client re-dials at once.
   */
  checkDeadPeer(): void {
    if (this.#deadPeerMs === 0 || !this.up || this.#end) return;
    const datapath = this.#deps.datapath;
    const peers = datapath.peers;
    if (peers.active[0] !== 1) return;
    const now = datapath.now();
    if (!isPeerDead(now, peers.lastRx[0], peers.lastTx[0], this.#deadPeerMs)) return;
    const secs = Math.round((now - peers.lastRx[0]) / 1000);
    this.#conclude({
      kind: "lost",
      reason: `nothing authenticated from the server for ${secs} s after sending (dead peer)`,
      upForMs: this.#upFor(),
      deadPeer: true,
    });
  }

  /** The datapath found the data key worn out (reneg_bytes, packet-id): start a soft reset. */
  onRekeyDue(): void {
    const reason = this.#dataChannel?.rekeyReason;
    if (reason) this.#session?.renegotiate(reason);
  }

  /** The server sent an OCC exit notification on the data channel. */
  onExit(): void {
    this.#conclude({
      kind: "server-restart",
      reason: "the server announced it is exiting",
      upForMs: this.#upFor(),
    });
  }

  /** Resolve → open the transport → control session → deadlines → first packet out. */
  async #start(): Promise<void> {
    const remote = this.remote;
    this.#address = await resolveRemote(remote.host, this.#deps.resolver);
    if (this.#end) return;
    const where = formatRemote(this.#address, remote.port);
    this.#log.info("connecting", {
      remote: remote.host === this.#address ? where : `${remote.host} (${where})`,
      proto: remote.proto,
    });
    const endpoint = serverEndpoint(this.#address, remote.port);
    this.#endpoint = endpoint;
    this.#socket = await this.#deps.openTransport(
      remote,
      this.#address,
      endpoint,
      this.#deps.firstResponseTimeoutMs,
      (why) => {
        this.#conclude(this.#lostOrFailed(why));
      },
    );
    if (this.#end) {
      this.#socket.close();
      return;
    }
    this.#deps.socket.use(this.#socket);
    const session = this.#openSession(endpoint);
    this.#session = session;
    this.#armDeadlines(session, where);
    session.start();
  }

  /** The control session to the server, its packets sent through the client's switchable socket. */
  #openSession(endpoint: EndpointSlots): ControlSession {
    const { config, log } = this.#deps;
    const socket = this.#deps.socket;
    const session = new ControlSession({
      role: "client",
      proto: this.remote.proto,
      devType: config.dev.type,
      credentials: this.#deps.credentials,
      verifyPeer: this.#deps.verifyPeer,
      wrap: this.#deps.makeWrap(),
      send: (packet) => {
        socket.send(packet, 0, packet.length, endpoint, 0);
      },
      ciphers: config.data.ciphers,
      renegotiateMs: config.data.renegSeconds * 1000,
      transitionWindowMs: config.data.transitionWindow * 1000,
      handshakeWindowMs: this.#deps.handshakeTimeoutMs,
      logger: log.child("control"),
      peerInfo: { mtu: config.dev.mtu },
      screenPush: (options) => this.#screenPush(options),
      userPass: this.#deps.userPass ? () => this.#deps.userPass!.current() : undefined,
      authToken: (token) => {
        if (this.#deps.userPass?.tokenReceived(token)) this.#log.info("server sent an auth-token");
      },
    });
    session.on("established", (e) => {
      log.info("TLS established", { server: e.peer.commonName, tls: e.tlsProtocol ?? "?" });
    });
    session.on("pushReply", (e) => this.#onPush(e.options, e.raw));
    session.on("key", (key) => this.#installKey(key, endpoint));
    session.on("keyRetired", (e) => this.#dataChannel?.removeKey(e.keyId));
    if (this.remote.proto === "udp") {
      const { credentials: { cert }, datapath } = this.#deps;
      this.#mesh = new ClientMesh({
        config,
        certPem: cert,
        session,
        datapath,
        socket,
        log: log.child("mesh"),
      });
    }
    session.on("message", (e) => {
      if (e.kind !== "RESTART" && e.kind !== "HALT" && !ClientMesh.isMeshMessage(e.text)) {
        log.info("control message from the server", { text: e.text });
      }
    });
    session.on("error", (e) => this.#lastError = e.reason);
    session.on("closed", (e) => this.#onClosed(e));
    return session;
  }

  /**
   * A pushed `comp-lzo no` / `compress stub` / `compress stub-v2` (OpenVPN
   * servers configured for older profiles): the data channel frames packets
   * that way from now on; nothing is compressed. Real compression is refused
   * with a warning (the server's compressed packets are then dropped).
   */
  #applyPushedFraming(extra: string[]): void {
    for (const option of extra) {
      const framing = framingOfOption(option);
      if (framing === undefined) continue;
      if (framing === null) {
        this.#log.warn("the server pushed compression, which tsvpn does not do", { option });
        continue;
      }
      this.#framing = framing;
      if (this.#dataChannel) this.#dataChannel.framing = framing;
      this.#log.info("compression framing from the push (nothing is compressed)", { option });
    }
  }

  /** A data key from the session: the first one creates the data channel and attaches it as peer 0. */
  #installKey(key: SessionKey, endpoint: EndpointSlots): void {
    const { config, datapath } = this.#deps;
    const material = dataKeysFromKey2(key.key2, { cipher: key.cipher, role: "client" });
    const now = datapath.now();
    if (!this.#dataChannel) {
      this.#dataChannel = new DataChannel({
        peerId: this.#pushed?.peerId ?? PEER_ID_UNDEF,
        replayWindow: config.data.replayWindow,
        renegBytes: config.data.renegBytes,
        transitionWindowMs: config.data.transitionWindow * 1000,
        framing: this.#framing,
      });
      this.#dataChannel.installKey(key.keyId, material, now);
      if (datapath.reservePeer() !== 0) throw new Error("The client datapath's peer slot is in use");
      datapath.attachPeer(0, this.#dataChannel, endpoint, 0);
    } else {
      this.#dataChannel.installKey(key.keyId, material, now);
    }
    this.#log.debug("data key installed", { keyId: key.keyId, cipher: key.cipher });
  }

  /** Fails the attempt when the server never answers, or the handshake and push take too long. */
  #armDeadlines(session: ControlSession, where: string): void {
    const { firstResponseTimeoutMs, handshakeTimeoutMs } = this.#deps;
    this.#timer(() => {
      if (!this.#gotPacket) {
        this.#conclude({
          kind: "failed",
          reason: `No answer from ${where} within ${firstResponseTimeoutMs / 1000} s`,
        });
      }
    }, firstResponseTimeoutMs);
    this.#timer(() => {
      if (!this.#pushed) {
        const what = session.established ? "PUSH_REPLY" : "TLS handshake";
        this.#conclude({
          kind: "failed",
          reason: `${what} with ${where} did not complete within ${handshakeTimeoutMs / 1000} s` +
            (this.#lastError ? `: ${this.#lastError}` : ""),
        });
      }
    }, handshakeTimeoutMs);
  }

  /** pull_filter and the control-character check (push_screen.ts), logged here. */
  #screenPush(options: string[]): string[] | { reject: string } {
    const screened = screenPushOptions(this.#deps.config.pull.filter, options);
    if (screened.kind === "rejected") return { reject: screened.reason };
    for (const option of screened.ignored) {
      this.#log.debug("pushed option removed by pull_filter", { option });
    }
    for (const warning of screened.warnings) this.#log.warn(warning);
    return screened.options;
  }

  #onPush(push: PushOptions, raw: string[]): void {
    this.#pushed = push;
    this.#applyPushedFraming(push.extra ?? []);
    const datapath = this.#deps.datapath;
    const keepalive = this.#deps.config.keepalive;
    datapath.pingIntervalMs = (keepalive ? keepalive.interval : push.ping ?? 0) * 1000;
    datapath.timeoutMs = (keepalive ? keepalive.timeout : push.pingRestart ?? 0) * 1000;
    this.#deadPeerMs = deadPeerTimeoutMs(this.#deps.config.deadPeerTimeout, push.ping ?? 0);
    this.#log.debug("PUSH_REPLY", { options: raw.join(",") });
    const info: ConnectedInfo = {
      remote: this.remote,
      address: this.#address,
      push,
      raw,
      serverName: this.#session?.peer?.commonName ?? "",
    };
    this.#deps.onPush(info).then(
      () => {
        if (this.#end) return;
        this.#upAt = Date.now();
      },
      (e) => this.#conclude({ kind: "fatal", reason: (e as Error).message }),
    );
  }

  /** How the session's end ends this attempt (connection_end.ts); nothing while stop() runs. */
  #onClosed(e: SessionEnd): void {
    if (this.#stopping) return;
    this.#conclude(connectionEndOf(e, {
      pushed: this.#pushed !== null,
      established: this.#session?.established ?? false,
      upForMs: this.#upFor(),
      withPassword: Boolean(this.#deps.userPass),
    }));
  }

  #lostOrFailed(reason: string): ConnectionEnd {
    return this.#pushed ? { kind: "lost", reason, upForMs: this.#upFor() } : { kind: "failed", reason };
  }

  #upFor(): number {
    return this.#upAt > 0 ? Date.now() - this.#upAt : 0;
  }

  #conclude(end: ConnectionEnd): void {
    if (this.#end) return;
    this.#end = end;
    this.#finish(end);
  }

  #cleanup(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers = [];
    this.#mesh?.end();
    this.#deps.datapath.releasePeer(0);
    this.#dataChannel?.clear();
    if (this.#session && !this.#session.closed) this.#session.close("connection ended", false);
    if (this.#socket) this.#deps.socket.drop(this.#socket);
    this.#socket?.close();
  }

  #timer(fn: () => void, ms: number): void {
    this.#timers.push(setTimeout(fn, ms));
  }
}
