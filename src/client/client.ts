/**
 * `tsvpn --client`: the long-running client. A run goes
 *
 *   keys (client_pki.ts) → host recorder → tun device → datapath
 *     → reconnect loop: dial → session → apply push → up … end → backoff → dial …
 *     → shutdown
 *
 * It opens the tun device once and keeps it for the whole run (persist-tun:
 * applications never see the interface vanish), runs the shared datapath
 * over it in "single" mode, and loops over connection attempts
 * (connection.ts) with the reconnect policy of backoff.ts. Each PUSH_REPLY,
 * screened as received (push_screen.ts, via connection.ts), is vetted,
 * planned and applied by push_apply.ts through the host-change recorder
 * (host_changes.ts), which touches only what changed since the previous
 * connection. On every exit path the recorder undoes everything in reverse
 * order, the device is closed (the kernel removes it), and the down script
 * runs.
 *
 * Exit codes: 0 after stop() / SIGINT / SIGTERM with everything undone;
 * 1 when the client cannot run (unreadable keys, no tun device, host
 * configuration refused, up script failed, the server sent HALT).
 */

import { openNetlink } from "../../ffi/netlink.ts";
import { openTun } from "../../ffi/tun.ts";
import type { ClientConfig, Remote } from "../config/schema.ts";
import { systemClock } from "../control/clock.ts";
import { Emitter } from "../control/emitter.ts";
import type { Datapath } from "../datapath/datapath.ts";
import { ClientMesh } from "./client_mesh.ts";
import type { NetConfig } from "../device/net_config.ts";
import type { PacketDevice } from "../device/packet_device.ts";
import type { Logger } from "../log/log.ts";
import {
  INITIAL_RECONNECT_STATE,
  nextAttempt,
  orderRemotes,
  outcomeOf,
  type ReconnectState,
  type RetryableEnd,
} from "./backoff.ts";
import { openClientHost } from "./client_host.ts";
import { loadClientPki } from "./client_pki.ts";
import { type ConnectedInfo, Connection, type ConnectionDeps, type ConnectionEnd } from "./connection.ts";
import { UserPassSource } from "./user_pass.ts";
import { findDhcpServer } from "./dhcp_lease.ts";
import { openTransport, systemResolver } from "./dial.ts";
import type { HostChanges } from "./host_changes.ts";
import type { HostJournal } from "./host_journal.ts";
import { type AppliedPush, PushApplier } from "./push_apply.ts";
import { startClientDatapath } from "./single_peer_datapath.ts";
import { SwitchableSocket } from "./switchable_socket.ts";
import { UplinkClamp } from "./uplink_mss.ts";

import type { ClientEvents, ClientOptions, ClientState, ClientStatus } from "./client_types.ts";
export type { ClientEvents, ClientOptions, ClientState, ClientStatus } from "./client_types.ts";

export class ClientHandle extends Emitter<ClientEvents> {
  /** The exit code, once everything tsvpn changed is undone. */
  readonly done: Promise<number>;
  readonly #config: ClientConfig;
  readonly #options: ClientOptions;
  readonly #log: Logger;
  readonly #status: ClientStatus = {
    state: "starting",
    remote: null,
    plan: null,
    connects: 0,
    lastError: null,
  };
  // What the run opened, closed or undone by #shutdown (null: not opened).
  #net: NetConfig | null = null;
  #host: HostChanges | null = null;
  #journal: HostJournal | null = null;
  #device: PacketDevice | null = null;
  #datapath: Datapath | null = null;
  readonly #clamp: UplinkClamp;
  readonly #socket = new SwitchableSocket();
  #tick: ReturnType<typeof setInterval> | undefined;
  readonly #loops: Promise<void>[] = [];
  #pushes: PushApplier | null = null;
  #connection: Connection | null = null;
  #userPass: UserPassSource | null = null;
  #stopping = false;
  /** Set by restart(): the connection's "stopped" end means "dial again now". */
  #restarting = false;
  #wake: (() => void) | null = null;
  #applying: Promise<void> = Promise.resolve();

  constructor(config: ClientConfig, options: ClientOptions) {
    super();
    this.#config = config;
    this.#options = options;
    this.#log = options.log;
    this.#clamp = new UplinkClamp(config.mssfix, options.log);
    this.done = this.#run();
  }

  get status(): Readonly<ClientStatus> {
    return this.#status;
  }

  /** The datapath (kept across reconnects) once the device is open; read by client_metrics.ts. */
  get datapath(): Datapath | null {
    return this.#datapath;
  }

  /** The mesh of the current UDP connection, or null. */
  get mesh(): ClientMesh | null {
    return ClientMesh.of(this.#datapath);
  }

  /** Disconnects (telling the server), undoes every host change and resolves `done` with 0. */
  stop(reason = "stop requested"): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#setState("stopping");
    this.#log.info("stopping", { reason });
    void this.#connection?.stop(reason);
    this.#wake?.();
  }

  /**
   * Soft restart (OpenVPN's SIGUSR1): ends the connection, telling the server,
   * and dials the same remote again at once; the device and the host changes
   * stay, and a reconnect that finds nothing changed touches nothing.
   */
  restart(reason = "restart requested"): void {
    if (this.#stopping) return;
    this.#log.info("restarting", { reason });
    if (this.#connection) {
      this.#restarting = true;
      void this.#connection.stop(reason);
    } else {
      this.#wake?.(); // waiting to re-dial: dial now
    }
  }

  /** Every change of `status.state` is also an event (the management `state` history). */
  #setState(state: ClientState): void {
    if (this.#status.state === state) return;
    this.#status.state = state;
    this.emit("state", state);
  }

  /** Resolves with the next `connected` event, rejects after `timeoutMs` or when the client stops. */
  waitConnected(timeoutMs: number): Promise<AppliedPush> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off("connected", on);
        reject(new Error(`Not connected within ${timeoutMs} ms (last error: ${this.#status.lastError})`));
      }, timeoutMs);
      const on = (e: AppliedPush) => {
        clearTimeout(timer);
        this.off("connected", on);
        resolve(e);
      };
      this.on("connected", on);
      this.done.then(() => {
        clearTimeout(timer);
        this.off("connected", on);
        reject(new Error("The client stopped before connecting"));
      });
    });
  }

  /** Keys → host recorder → device → datapath → reconnect loop; then everything undone. */
  async #run(): Promise<number> {
    let code = 0;
    try {
      const pki = await loadClientPki(this.#config);
      this.#userPass = await UserPassSource.forConfig(this.#config.auth);
      const host = await this.#openHost();
      const device = this.#openDevice();
      const datapath = this.#datapath = this.#startDatapath(device);
      this.#pushes = new PushApplier({
        config: this.#config,
        log: this.#log,
        host,
        dev: device.name,
        dhcpServer: this.#options.dhcpServer ?? (() => findDhcpServer()),
        isStopping: () => this.#stopping,
      });
      code = await this.#reconnectLoop({
        config: this.#config,
        ...pki,
        datapath,
        socket: this.#socket,
        resolver: this.#options.resolver ?? systemResolver,
        log: this.#log,
        handshakeTimeoutMs: this.#options.handshakeTimeoutMs ?? 30_000,
        firstResponseTimeoutMs: this.#options.firstResponseTimeoutMs ?? 10_000,
        openTransport: this.#options.openTransport ?? openTransport,
        onPush: (info) => this.#onPush(info),
        userPass: this.#userPass,
      });
    } catch (e) {
      const message = (e as Error).message;
      this.#log.error(message);
      this.#status.lastError = message;
      code = 1;
    } finally {
      await this.#shutdown(code);
    }
    return code;
  }

  /** The netlink handle and the recorder of host changes (client_host.ts). */
  async #openHost(): Promise<HostChanges> {
    this.#net = this.#options.net ?? openNetlink();
    const { host, journal } = await openClientHost(this.#net, this.#config, this.#options, this.#log);
    this.#journal = journal;
    this.#host = host;
    return host;
  }

  /** The tun or tap device, opened once for the whole run (persist-tun). */
  #openDevice(): PacketDevice {
    const dev = this.#config.dev;
    // tap frames carry no virtio-net header: the server's switch opens its tap the same way.
    const openDevice = this.#options.openDevice ??
      ((name, mtu) => openTun({ kind: dev.type, name, mtu, vnetHeader: dev.type === "tun" }));
    this.#device = openDevice(dev.name, dev.mtu);
    this.#log.info("device open", { dev: this.#device.name, type: dev.type, mtu: this.#device.mtu });
    return this.#device;
  }

  /** The single-peer datapath and its loops (single_peer_datapath.ts), fed to the live connection. */
  #startDatapath(device: PacketDevice): Datapath {
    const { datapath, loops, tick } = startClientDatapath({
      device,
      socket: this.#socket,
      now: this.#options.now,
      log: this.#log,
      connection: () => this.#connection,
      isStopping: () => this.#stopping,
    });
    this.#loops.push(...loops);
    this.#tick = tick;
    return datapath;
  }

  /** Applies a push (push_apply.ts); `#applying` lets the loop and #shutdown wait for it. */
  #onPush(info: ConnectedInfo): Promise<void> {
    const work = (async () => {
      const applied = await this.#pushes!.apply(info);
      if (this.#datapath) {
        await this.#clamp.apply(this.#datapath, {
          net: this.#net,
          server: info.address,
          proto: info.remote.proto,
        }, applied.plan.mtu);
      }
      this.#status.plan = applied.plan;
      this.#status.connects++;
      this.#setState("connected");
      this.emit("connected", applied);
    })();
    this.#applying = work.then(() => {}, () => {});
    return work;
  }

  /** Dials the remotes in order until stopped; resolves with the exit code. */
  async #reconnectLoop(deps: ConnectionDeps): Promise<number> {
    const config = this.#config;
    const random = this.#options.random ?? Math.random;
    const remotes = orderRemotes(config.remotes, config.remoteRandom, random);
    let state: ReconnectState = INITIAL_RECONNECT_STATE;
    while (!this.#stopping) {
      const end = await this.#connectOnce(deps, remotes[state.remote]);
      if (end !== null && this.#restarting && !this.#stopping) {
        this.#restarting = false;
        continue;
      }
      if (end === null || end.kind === "stopped" || this.#stopping) break;
      this.#status.lastError = end.reason;
      this.emit("disconnected", end);
      if (end.kind === "fatal" || end.kind === "halt") {
        this.#log.error(end.reason);
        return 1;
      }
      const refused = end.kind === "auth-failed" ? this.#userPass?.authFailed(end.reason, this.#log) : null;
      if (refused === "exit") return 1;
      if (refused === "retry") continue;
      const decision = nextAttempt(state, outcomeOf(end), remotes.length, config.reconnect, random);
      state = decision.state;
      this.#logReconnect(end, decision.delayMs, remotes[state.remote]);
      this.#setState("waiting");
      await this.#sleep(decision.delayMs);
    }
    return 0;
  }

  /** One connection attempt, from dialling to its end; null when stopped before it began. */
  async #connectOnce(deps: ConnectionDeps, remote: Remote): Promise<ConnectionEnd | null> {
    this.#setState("connecting");
    this.#status.remote = `${remote.host}:${remote.port}`;
    const connection = new Connection(deps, remote);
    this.#connection = connection;
    if (this.#stopping) return null;
    const end = await connection.run();
    this.#connection = null;
    await this.#applying;
    return end;
  }

  #logReconnect(end: RetryableEnd, delayMs: number, next: Remote): void {
    const message = `${end.reason}; ${delayMs === 0 ? "reconnecting now" : "reconnecting"}`;
    const fields = { to: `${next.host}:${next.port}`, in: `${(delayMs / 1000).toFixed(1)}s` };
    if (end.kind === "auth-failed") this.#log.error(message, fields);
    else this.#log.warn(message, fields);
  }

  /** Every exit path: disconnect, undo host changes, close the device, then the down script. */
  async #shutdown(code: number): Promise<void> {
    this.#setState("stopping");
    this.#stopping = true;
    await this.#connection?.stop("exiting");
    await this.#applying;
    if (this.#host) {
      const failures = await this.#host.undoAll();
      // Kept when something could not be undone: the next start or `tsvpn client cleanup` tries again.
      await this.#journal?.close(failures.length === 0);
    }
    try {
      this.#device?.close();
    } catch (e) {
      this.#log.warn(`closing the device failed: ${(e as Error).message}`);
    }
    this.#socket.close();
    if (this.#tick !== undefined) clearInterval(this.#tick);
    await Promise.race([Promise.allSettled(this.#loops), new Promise((r) => setTimeout(r, 2000))]);
    await this.#pushes?.runFinalDownScript();
    if (this.#net && !this.#options.net) this.#net.close();
    this.#setState("stopped");
    this.#log.info("stopped", { code, connects: this.#status.connects });
  }

  #sleep(ms: number): Promise<void> {
    if (ms <= 0 || this.#stopping) return Promise.resolve();
    const clock = this.#options.retryClock ?? systemClock;
    return new Promise((resolve) => {
      const t = clock.setTimer(done, ms);
      function done() {
        clock.clearTimer(t);
        resolve();
      }
      this.#wake = () => {
        this.#wake = null;
        done();
      };
    });
  }
}

/** Starts the client; the handle stops it and reports its exit code. */
export function startClient(config: ClientConfig, options: ClientOptions): ClientHandle {
  return new ClientHandle(config, options);
}
