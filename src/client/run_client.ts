/**
 * The client as a process: runs a ClientHandle, its metrics listener and its
 * management interface, and maps signals as OpenVPN's client does — from the
 * OS or from the management `signal` command.
 *
 *   SIGINT, SIGTERM  stop: disconnect, undo every host change, exit
 *   SIGUSR1          soft restart: reconnect now, keeping the device and host changes
 *   SIGHUP           hard restart: re-read the configuration (a bad one is logged and
 *                    the client keeps running), undo every host change, start afresh
 *   SIGUSR2          log the status in one line
 *
 * Deno would open its debugger on SIGUSR1; process/inspector_guard.ts keeps it shut.
 */

import type { ClientConfig } from "../config/schema.ts";
import { firstLine } from "../log/first_line.ts";
import { formatManagementAddress } from "../ops/listen_address.ts";
import { executeClientCommand } from "../ops/client_commands.ts";
import { type ManagementHandle, startManagement } from "../ops/management.ts";
import { InspectorGuard } from "../process/inspector_guard.ts";
import { VERSION } from "../version.ts";
import { type ClientHandle, type ClientOptions, startClient } from "./client.ts";
import { ClientManagement } from "./client_management.ts";
import { serveClientMetrics } from "./client_metrics.ts";
import { ClientStateHistory } from "./client_state_history.ts";

/** Re-reads the configuration for SIGHUP; rejects with a one-line reason. */
export type ConfigReloader = () => Promise<ClientConfig>;

type ProcessSignal = "SIGINT" | "SIGTERM" | "SIGUSR1" | "SIGUSR2" | "SIGHUP";
const SIGNALS: readonly ProcessSignal[] = ["SIGINT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGHUP"];

/**
 * Runs the client until SIGINT or SIGTERM (or a fatal error) and resolves
 * with the exit code once every host change is undone.
 */
export async function runClient(
  config: ClientConfig,
  options: ClientOptions,
  reload: ConfigReloader = () => Promise.resolve(config),
): Promise<number> {
  return await new ClientProcess(config, options, reload).run();
}

class ClientProcess {
  readonly #options: ClientOptions;
  readonly #reload: ConfigReloader;
  readonly #log: ClientOptions["log"];
  #config: ClientConfig;
  #handle: ClientHandle;
  readonly #history: ClientStateHistory;
  #hardRestart: Promise<ClientConfig | null> | null = null;

  constructor(config: ClientConfig, options: ClientOptions, reload: ConfigReloader) {
    this.#config = config;
    this.#options = options;
    this.#reload = reload;
    this.#log = options.log;
    this.#handle = startClient(config, options);
    this.#history = new ClientStateHistory(this.#handle);
  }

  /** What a signal does, from the OS or the management interface. */
  signal(signal: ProcessSignal): void {
    const handle = this.#handle;
    if (signal === "SIGINT" || signal === "SIGTERM") handle.stop(`received ${signal}`);
    else if (signal === "SIGUSR1") handle.restart("received SIGUSR1");
    else if (signal === "SIGUSR2") logStatus(handle, this.#log);
    else this.#startHardRestart();
  }

  async run(): Promise<number> {
    const listeners = SIGNALS.map((s) => [s, () => this.signal(s)] as const);
    for (const [signal, fn] of listeners) Deno.addSignalListener(signal, fn);
    // SIGUSR1 is the soft restart: it must never open Deno's debugger instead.
    const guard = new InspectorGuard({ log: this.#log });
    const management = await this.#startManagement();
    try {
      return management === undefined ? await this.#failStart() : await this.#runRestarts();
    } finally {
      await management?.close();
      guard.close();
      for (const [signal, fn] of listeners) Deno.removeSignalListener(signal, fn);
    }
  }

  /** The handle's runs, one after another across SIGHUP restarts; the last one's exit code. */
  async #runRestarts(): Promise<number> {
    let metricsClosed = serveClientMetrics(this.#config, this.#handle, this.#log);
    for (;;) {
      if (metricsClosed === null) return await this.#handle.done.then(() => 1);
      const code = await this.#handle.done;
      const next = this.#hardRestart ? await this.#hardRestart : null;
      if (next === null) return code;
      this.#hardRestart = null;
      this.#log.info("restarting with the configuration read again");
      await metricsClosed;
      this.#config = next;
      this.#handle = startClient(next, this.#options);
      this.#history.follow(this.#handle);
      metricsClosed = serveClientMetrics(next, this.#handle, this.#log);
    }
  }

  #startHardRestart(): void {
    if (this.#hardRestart) return;
    const pending = this.#hardRestart = reloadOrKeep(this.#reload, this.#log);
    pending.then((next) => {
      if (next) this.#handle.stop("received SIGHUP: restarting");
      else this.#hardRestart = null;
    });
  }

  /** `management.listen` (read at start; a SIGHUP keeps it): null without one, undefined when it cannot listen. */
  async #startManagement(): Promise<ManagementHandle | null | undefined> {
    const m = this.#config.management;
    if (!m) return null;
    const control = new ClientManagement(() => this.#handle, () => this.#history, (s) => this.signal(s));
    try {
      return await startManagement(formatManagementAddress(m.listen), null, {
        log: this.#log,
        passwordFile: m.passwordFile,
        commands: (line) => executeClientCommand(line, { control, version: VERSION, pid: Deno.pid }),
      });
    } catch (e) {
      this.#log.error(`client could not start: ${firstLine(e)}`);
      return undefined;
    }
  }

  async #failStart(): Promise<number> {
    this.#handle.stop("the management interface could not start");
    await this.#handle.done;
    return 1;
  }
}

/** The configuration read again, or null (logged) when it cannot be used. */
async function reloadOrKeep(reload: ConfigReloader, log: ClientOptions["log"]): Promise<ClientConfig | null> {
  try {
    return await reload();
  } catch (e) {
    log.error(`SIGHUP: keeping the running configuration: ${firstLine(e)}`);
    return null;
  }
}

function logStatus(handle: ClientHandle, log: ClientOptions["log"]): void {
  const s = handle.status;
  log.info("status", {
    state: s.state,
    remote: s.remote ?? "-",
    address: s.plan?.local4 ? `${s.plan.local4.address}/${s.plan.local4.prefixLen}` : "-",
    connects: s.connects,
    lastError: s.lastError ?? "-",
  });
}
