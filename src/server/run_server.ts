/**
 * `runServer`: the server as a process. Starts the management interface
 * (src/ops; its log and state history, and the hold of `management.hold`),
 * then the server, then the status file and the metrics listener on top of
 * its ServerControl, and maps signals (OS or the management `signal`
 * command): SIGINT/SIGTERM stop, SIGHUP reloads the configuration (the live
 * keys and the CRL, server_reload.ts; only the CRL when started without a
 * file), SIGUSR2 logs the status and drop counters, SIGUSR1 is logged (and
 * never opens Deno's debugger: process/inspector_guard.ts).
 */

import type { ServerConfig } from "../config/schema.ts";
import { firstLine } from "../log/first_line.ts";
import type { Logger } from "../log/log.ts";
import { startManagement } from "../ops/management.ts";
import { ManagementEvents } from "../ops/management_events.ts";
import type { ManagementSignal } from "../ops/management_openvpn.ts";
import { ClientAuthHub } from "../ops/management_client_auth.ts";
import { startStatusFile } from "../ops/status_file.ts";
import { InspectorGuard } from "../process/inspector_guard.ts";
import { LateControl } from "./late_control.ts";
import { startServerMetrics } from "./metrics_listener.ts";
import { type ServerHandle, type ServerOptions, startServer } from "./server.ts";

interface Closable {
  close(): Promise<void>;
}

/**
 * Runs a server until SIGINT/SIGTERM and returns the exit code: 0 after a
 * clean stop, 1 when it could not start. The management interface starts
 * first, so `management.hold` can hold the server until `hold release`.
 */
export async function runServer(config: ServerConfig, options: ServerOptions): Promise<number> {
  const events = new ManagementEvents({ hold: config.management?.hold ?? false });
  const removeTap = options.log.addTap((level, text) => events.recordLog(level, text));
  const serverProcess = new ServerProcess(config, options, events);
  try {
    return await serverProcess.run();
  } finally {
    removeTap();
  }
}

/** One run of the server process: management, hold, server, status file, signals, stop. */
class ServerProcess {
  readonly #config: ServerConfig;
  readonly #options: ServerOptions;
  readonly #log: Logger;
  readonly #events: ManagementEvents;
  readonly #control: LateControl;
  readonly #extras: Closable[] = [];
  #handle: ServerHandle | null = null;
  /** management.client_auth: made with the interface, attached to the server once it runs. */
  #clientAuth: ClientAuthHub | null = null;
  /** Set by SIGINT/SIGTERM during the hold: nothing starts. */
  #stopBeforeStart = false;

  constructor(config: ServerConfig, options: ServerOptions, events: ManagementEvents) {
    this.#config = config;
    this.#options = options;
    this.#log = options.log;
    this.#events = events;
    this.#control = new LateControl(config, options.now);
  }

  async run(): Promise<number> {
    const removeSignals = listenForSignals((name) => this.signal(name));
    const guard = new InspectorGuard({ log: this.#log });
    try {
      return await this.#run();
    } finally {
      guard.close();
      removeSignals();
    }
  }

  async #run(): Promise<number> {
    const events = this.#events;
    events.recordState("CONNECTING");
    if (!await this.#startOrFail(() => this.#startManagement())) return 1;
    if (events.holdFlag) this.#log.info("holding until the management interface sends 'hold release'");
    await events.waitForRelease();
    if (this.#stopBeforeStart) return await this.#finish("received a signal to stop", 0);
    let handle: ServerHandle;
    try {
      handle = await startServer(this.#config, this.#options);
    } catch (e) {
      this.#log.error(`server could not start: ${firstLine(e)}`);
      return await this.#finish("server could not start", 1);
    }
    this.#handle = handle;
    this.#control.bind(handle.control);
    const clientAuth = this.#clientAuth;
    if (clientAuth) {
      handle.attachClientAuth(clientAuth);
      this.#extras.push({ close: () => Promise.resolve(clientAuth.close()) });
    }
    events.recordState("ASSIGN_IP", "", handle.tunAddress.ipv4, handle.tunAddress.ipv6);
    if (!await this.#startOrFail(() => this.#startStatusFileAndMetrics(handle))) {
      await handle.stop("startup failed");
      return await this.#finish("startup failed", 1);
    }
    events.recordState("CONNECTED", "SUCCESS", handle.tunAddress.ipv4, handle.tunAddress.ipv6);
    await handle.done;
    return await this.#finish("server stopped", 0);
  }

  /** Runs `start`; on failure logs it, closes what is open and returns false. */
  async #startOrFail(start: () => Promise<void>): Promise<boolean> {
    try {
      await start();
      return true;
    } catch (e) {
      this.#log.error(`server could not start: ${firstLine(e)}`);
      await closeAll(this.#extras);
      return false;
    }
  }

  async #finish(reason: string, code: number): Promise<number> {
    this.#events.recordState("EXITING", reason);
    await closeAll(this.#extras);
    return code;
  }

  async #startManagement(): Promise<void> {
    const management = this.#config.management;
    if (!management) return;
    const listen = management.listen;
    const address = listen.kind === "unix"
      ? listen.path
      : listen.host.includes(":")
      ? `[${listen.host}]:${listen.port}`
      : `${listen.host}:${listen.port}`;
    this.#clientAuth = management.clientAuth
      ? new ClientAuthHub({ log: this.#log.child("client-auth") })
      : null;
    const handle = await startManagement(address, this.#control, {
      log: this.#log,
      passwordFile: management.passwordFile,
      events: this.#events,
      signal: (name) => this.signal(name),
      clientAuth: this.#clientAuth,
    });
    this.#log.info("management interface listening", { address: handle.address });
    this.#extras.push(handle);
  }

  async #startStatusFileAndMetrics(handle: ServerHandle): Promise<void> {
    const server = this.#config.server;
    if (server.statusFile) {
      this.#extras.push(
        await startStatusFile(server.statusFile, server.statusInterval, handle.control, { log: this.#log }),
      );
    }
    const metrics = await startServerMetrics(this.#config, handle, this.#log);
    if (metrics) this.#extras.push(metrics);
  }

  /**
   * What a signal does, from the OS or the management `signal` command:
   * SIGINT/SIGTERM stop, SIGHUP reloads, SIGUSR2 logs the status, SIGUSR1 is
   * logged (OpenVPN's server restarts on it; tsvpn's keeps its tunnels).
   * Before the server started only a stop does anything.
   */
  signal(name: ProcessSignal): void {
    const handle = this.#handle;
    if (name === "SIGINT" || name === "SIGTERM") {
      if (handle) void handle.stop("received a signal to stop");
      else {
        this.#stopBeforeStart = true;
        this.#events.release();
      }
      return;
    }
    if (!handle) return;
    const control = handle.control;
    const log = this.#log;
    // A refused reload or a bad CRL is logged and leaves the running configuration and the last good CRL.
    if (name === "SIGHUP") {
      void (control.reload
        ? control.reload().catch((e) => log.error(firstLine(e)))
        : control.reloadCrl().catch(() => {}));
    }
    if (name === "SIGUSR1") {
      log.info("received SIGUSR1: the server keeps running (SIGHUP reloads, SIGTERM stops)");
    }
    if (name === "SIGUSR2") handle.logStatus();
  }
}

type ProcessSignal = ManagementSignal | "SIGINT";

function closeAll(extras: Closable[]): Promise<unknown> {
  return Promise.all(extras.map((x) => x.close().catch(() => {})));
}

/** Installs the OS signal handlers; returns their removal. */
function listenForSignals(on: (name: ProcessSignal) => void): () => void {
  const names: ProcessSignal[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2"];
  const handlers = names.map((name) => [name, () => on(name)] as const);
  for (const [signal, fn] of handlers) Deno.addSignalListener(signal, fn);
  return () => {
    for (const [signal, fn] of handlers) Deno.removeSignalListener(signal, fn);
  };
}
