/**
 * The tsvpn server: the composition root that builds every part from a
 * ServerConfig and the OS ports (device, socket, netlink, clocks) and wires
 * them together. Each part has one job:
 *
 *   server_pki.ts        credentials, tls-crypt/tls-auth, client verifier; the CRL (crl_watch.ts)
 *   host_setup.ts        the device's MTU, addresses and routes through NetConfig, undone at stop
 *   server_transport.ts  the UDP or TCP socket and the links the control listener sees on it
 *   client_registry.ts   one record per session: authorize, push, data keys, float, release, kill
 *   server_status.ts     the status snapshot (src/ops) and the status log line; server_internals.ts its
 *                        `internals` (memory, table sizes)
 *   pool_setup.ts        the address pool and its persistence
 *   server_wiring.ts     the listener's and datapath's settings and their hooks into the registry
 *   server_memory.ts     when malloc's free memory is given back (after bursts of handshakes)
 *
 *   device ──inside loop──►  Datapath  ◄──outside loop── socket (ServerTransport)
 *                              │  ▲                         │ control packets
 *                              ▼  │ keys, peers, routes     ▼
 *                           ClientRegistry ◄── hooks ── ControlListener → ControlSession
 *
 * run_server.ts runs it as a process (signals, management, status file).
 *
 * Stop (SIGINT/SIGTERM through runServer): clients are told (OCC exit on the
 * data channel, RESTART on the control channel for peers that negotiated
 * exit notification), sessions get a moment to deliver that, then the loops
 * end, every route and address the server added is removed, the device
 * closed, and the pool saved.
 */

import { openNetlink } from "../../ffi/netlink.ts";
import { openTun } from "../../ffi/tun.ts";
import type { ServerConfig } from "../config/schema.ts";
import { systemClock, TimerCountingClock } from "../control/clock.ts";
import type { ControlWrapConfig } from "../control/control_wrap.ts";
import type { ControlListener } from "../control/listener.ts";
import { type TlsCredentials, tlsEngine } from "../control/tls_channel.ts";
import type { Datapath } from "../datapath/datapath.ts";
import { runInsideLoop, runOutsideLoop } from "../datapath/loops.ts";
import type { NetConfig } from "../device/net_config.ts";
import type { PacketDevice } from "../device/packet_device.ts";
import { formatIpv4, formatIpv6 } from "../addr/ip.ts";
import type { Logger } from "../log/log.ts";
import type { ServerControl, ServerSnapshot } from "../ops/server_control.ts";
import type { ClientAuthGate } from "../ops/client_auth_gate.ts";
import { ClientRegistry } from "./client_registry.ts";
import { MallocKeeper } from "./server_memory.ts";
import { openUserAuth, registryAuthHooks, type UserAuth } from "./user_auth.ts";
import type { CrlWatch } from "./crl_watch.ts";
import { HandshakeTally } from "./handshake_tally.ts";
import { HostSetup } from "./host_setup.ts";
import { PoolKeeper } from "./pool_setup.ts";
import { applyReload, readReloadedConfig } from "./server_reload.ts";
import { openClientCrl, readControlWrap, readServerCredentials } from "./server_pki.ts";
import { ServerMetrics } from "./server_metrics.ts";
import { internalsSnapshot } from "./server_internals.ts";
import { ServerStatus } from "./server_status.ts";
import { ServerTransport } from "./server_transport.ts";
import type { ServerHandle, ServerOptions } from "./server_types.ts";
import { createServerDatapath, createServerListener } from "./server_wiring.ts";

export type { ServerHandle, ServerOptions } from "./server_types.ts";

/** How long sessions get to deliver the exit notification at stop. */
const EXIT_GRACE_MS = 2500;
/** How long the packet loops get to end once the device and socket are closed. */
const LOOPS_END_MS = 2000;
/** The period of datapath ticks (keepalive, timeouts, key checks) and pool saves. */
const TICK_MS = 1000;

class Server implements ServerControl {
  readonly #config: ServerConfig;
  readonly #options: ServerOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #poolKeeper: PoolKeeper;
  readonly #host: HostSetup;
  readonly net: NetConfig;
  #crl: CrlWatch | null = null;
  #listener!: ControlListener;
  device!: PacketDevice;
  #transport!: ServerTransport;
  datapath!: Datapath;
  #registry!: ClientRegistry;
  #userAuth: UserAuth | null = null;
  #gate: ClientAuthGate | null = null;
  #status!: ServerStatus;
  metrics!: ServerMetrics;
  readonly #handshakes = new HandshakeTally();
  /** The control channel's clock, its waiting timers counted for the status. */
  readonly #controlClock: TimerCountingClock;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Gives malloc's free memory back after bursts of handshakes (server_memory.ts). */
  readonly #mallocKeeper = new MallocKeeper();
  #loops: Promise<void>[] = [];
  #stopping: Promise<void> | null = null;
  #reloading: Promise<unknown> = Promise.resolve();
  #doneResolve!: () => void;
  readonly done: Promise<void>;

  constructor(config: ServerConfig, options: ServerOptions) {
    this.#config = config;
    this.#options = options;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#poolKeeper = new PoolKeeper(config, { now: this.#now, log: this.#log });
    this.net = options.net ?? openNetlink();
    this.#host = new HostSetup(this.net, this.#log.child("host"));
    this.#controlClock = new TimerCountingClock(options.clock ?? systemClock);
    this.done = new Promise((r) => this.#doneResolve = r);
  }

  get localPort(): number {
    return this.#transport.socket.localPort;
  }

  async start(): Promise<void> {
    const pki = this.#config.pki;
    const credentials = await readServerCredentials(pki);
    // Picked now, so a forced engine that cannot load stops the start-up instead of the first handshake.
    const tls = tlsEngine();
    this.#log.info("control channel TLS", { engine: tls.engine, reason: tls.reason });
    if (pki.crl) {
      this.#crl = await openClientCrl({
        source: pki.crl,
        ca: credentials.ca,
        log: this.#log,
        clients: () => this.#registry.crlClients(),
      });
    }
    const wrap = await readControlWrap(pki);
    this.#userAuth = await openUserAuth(
      this.#config.server.auth,
      this.#config.management?.clientAuth ?? false,
      () => this.#gate,
      this.#log.child("auth"),
    );
    await this.#poolKeeper.restore();
    this.#listener = this.#createListener(credentials, wrap);
    await this.#openDevice();
    await this.#openTransport();
    this.datapath = this.#createDatapath();
    this.#registry = new ClientRegistry({
      config: this.#config,
      datapath: this.datapath,
      pool: this.#poolKeeper.pool,
      float: (controlPeerId, endpoints, row) => this.#transport.float(controlPeerId, endpoints, row),
      log: this.#log,
      now: this.#now,
      ...registryAuthHooks(this.#userAuth, () => this.#gate),
    });
    this.#status = new ServerStatus({
      config: this.#config,
      datapath: this.datapath,
      listener: this.#listener,
      registry: this.#registry,
      transport: this.#transport,
      now: this.#now,
      internals: () =>
        internalsSnapshot({
          listener: this.#listener,
          registry: this.#registry,
          transport: this.#transport,
          datapath: this.datapath,
          pool: this.#poolKeeper.pool,
          clock: this.#controlClock,
        }),
    });
    this.metrics = new ServerMetrics({
      datapath: this.datapath,
      listener: this.#listener,
      registry: this.#registry,
      handshakes: this.#handshakes,
      pool: this.#poolKeeper.pool,
      clientSeries: this.#config.server.metrics?.clientSeries ?? 100,
    });
    this.#loops = [
      runInsideLoop(this.datapath).catch((e) => this.#loopFailed("device", e)),
      runOutsideLoop(this.datapath).catch((e) => this.#loopFailed("socket", e)),
    ];
    this.#startTimer();
    this.#logStarted();
  }

  #createListener(credentials: TlsCredentials, wrap: ControlWrapConfig): ControlListener {
    return createServerListener({
      config: this.#config,
      credentials,
      wrap,
      crl: this.#crl,
      log: this.#log,
      clock: this.#controlClock,
      userAuth: this.#userAuth !== null,
      registry: () => this.#registry,
      transport: () => this.#transport,
      handshakes: this.#handshakes,
    });
  }

  attachClientAuth(gate: ClientAuthGate): void {
    this.#gate = gate;
  }

  /** Opens the device and configures the host; on failure nothing stays behind. */
  async #openDevice(): Promise<void> {
    const { dev, server } = this.#config;
    const open = this.#options.openDevice ??
      ((kind, name, mtu) => openTun({ kind, name, mtu, vnetHeader: kind === "tun" }));
    this.device = open(dev.type, dev.name, dev.mtu);
    try {
      await this.#host.apply({
        dev: this.device.name,
        mtu: dev.mtu,
        layout: this.#poolKeeper.pool?.layout ?? null,
        routes: [...server.routes, ...server.routes6],
      });
    } catch (e) {
      this.device.close();
      throw e;
    }
  }

  /** Opens the listening socket; on failure undoes the host setup and closes the device. */
  async #openTransport(): Promise<void> {
    try {
      this.#transport = new ServerTransport({
        listen: this.#config.listen,
        listener: this.#listener,
        maxConnections: this.#config.server.maxClients * 2 + 16,
        openUdp: this.#options.openSocket,
      });
    } catch (e) {
      await this.#host.undo();
      this.device.close();
      throw e;
    }
  }

  #createDatapath(): Datapath {
    return createServerDatapath({
      config: this.#config,
      device: this.device,
      now: this.#now,
      log: this.#log,
      registry: () => this.#registry,
      transport: () => this.#transport,
    });
  }

  /** Once a second: datapath tick, pool save, malloc trim when due; every crlCheckSeconds a CRL file check. */
  #startTimer(): void {
    let sinceCrlCheck = 0;
    const crlEvery = this.#options.crlCheckSeconds ?? 1;
    this.#timer = setInterval(() => {
      this.datapath.tick();
      this.#poolKeeper.saveInBackground();
      this.#mallocKeeper.tick(this.#now(), this.#listener.sessionCount);
      if (++sinceCrlCheck >= crlEvery) {
        sinceCrlCheck = 0;
        if (!this.#stopping) void this.#crl?.poll();
      }
    }, TICK_MS);
  }

  tunAddress(): { ipv4: string; ipv6: string } {
    const layout = this.#poolKeeper.pool?.layout;
    return {
      ipv4: layout?.server4 != null ? formatIpv4(layout.server4) : "",
      ipv6: layout?.server6 ? formatIpv6(layout.server6) : "",
    };
  }

  #logStarted(): void {
    const { dev, server } = this.#config;
    const layout = this.#poolKeeper.pool?.layout;
    this.#log.info("server started", {
      listen: this.#transport.describe(),
      dev: this.device.name,
      mode: dev.type,
      topology: dev.type === "tun" ? server.topology : "subnet",
      ...(layout?.server4 != null ? { address: formatIpv4(layout.server4) } : {}),
      ...(layout?.server6 ? { address6: formatIpv6(layout.server6) } : {}),
      clientToClient: server.clientToClient,
    });
  }

  #loopFailed(which: string, e: unknown): void {
    if (this.#stopping) return;
    this.#log.error(`${which} loop failed`, { reason: (e as Error)?.message ?? String(e) });
    void this.stop(`${which} failed`);
  }

  /** Logs clients and non-zero drop counters (SIGUSR2, as OpenVPN dumps its status; and at stop). */
  logStatus(): void {
    this.#status.log(this.#log);
  }

  // -- ServerControl --

  snapshot(): ServerSnapshot {
    return this.#status.snapshot();
  }

  kill(name: string, reason: string): Promise<number> {
    return Promise.resolve(this.#registry.kill(name, reason));
  }

  killAddress(address: string, reason: string): Promise<number> {
    return Promise.resolve(this.#registry.killWhere((rec) => rec.ctx.remote === address, reason));
  }

  killClientId(clientId: number, message: string | null, reason: string): Promise<boolean> {
    const n = this.#registry.killWhere((rec) => rec.ctx.peerId === clientId, reason, message);
    return Promise.resolve(n > 0);
  }

  /** Re-reads the CRL and re-checks every client; rejects (keeping the last good CRL) when it is bad. */
  reloadCrl(): Promise<number> {
    return this.#crl?.reload() ?? Promise.resolve(0);
  }

  /** Re-reads the configuration file and applies what may change live (server_reload.ts); one reload at a time. */
  reload(): Promise<string> {
    const run = this.#reloading.then(() => this.#reload(), () => this.#reload());
    this.#reloading = run.catch(() => {});
    return run;
  }

  async #reload(): Promise<string> {
    const path = this.#options.configPath;
    if (!path) return `no configuration file: CRL re-read, ${await this.reloadCrl()} client(s) disconnected`;
    const next = await readReloadedConfig(path, this.#config, this.#poolKeeper.pool !== null);
    const summary = await applyReload(this.#config, next, {
      registry: this.#registry,
      pool: this.#poolKeeper.pool,
      replaceRoutes: (before, after) => this.#host.replaceRoutes(this.device.name, before, after),
      reloadCrl: this.#crl ? () => this.#crl!.reload() : null,
    });
    this.#log.info("configuration reloaded", { file: path, summary });
    return summary;
  }

  // -- Stop --

  stop(reason = "server shutting down"): Promise<void> {
    this.#stopping ??= this.#stop(reason);
    return this.#stopping;
  }

  async #stop(reason: string): Promise<void> {
    this.#log.info("server stopping", { reason });
    clearInterval(this.#timer);
    this.logStatus();
    const live = this.#registry.beginStop();
    this.#listener.close(reason);
    await settleWithin(ClientRegistry.allClosed(live), EXIT_GRACE_MS);
    this.#registry.releaseAll(live, reason);
    this.#transport.close();
    // Routes and addresses first: they vanish with the device, and undo() must see them go.
    await this.#host.undo();
    this.device.close();
    await settleWithin(Promise.all(this.#loops), LOOPS_END_MS);
    await this.#poolKeeper.saveNow();
    this.net.close();
    this.#log.info("server stopped");
    this.#doneResolve();
  }
}

/** Waits for `work` or `ms`, whichever comes first, leaving no timer behind. */
async function settleWithin(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<void>((r) => timer = setTimeout(r, ms));
  try {
    await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts a server from its configuration; resolves once it is listening. */
export async function startServer(config: ServerConfig, options: ServerOptions): Promise<ServerHandle> {
  const server = new Server(config, options);
  try {
    await server.start();
  } catch (e) {
    server.net.close();
    throw e;
  }
  return {
    control: server,
    metrics: server.metrics,
    logStatus: () => server.logStatus(),
    datapath: server.datapath,
    device: server.device,
    localPort: server.localPort,
    tunAddress: server.tunAddress(),
    done: server.done,
    stop: (reason) => server.stop(reason),
    attachClientAuth: (gate) => server.attachClientAuth(gate),
  };
}
