/**
 * The client as a process: runs a ClientHandle and maps signals as OpenVPN's
 * client does.
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
import { InspectorGuard } from "../process/inspector_guard.ts";
import { type ClientHandle, type ClientOptions, startClient } from "./client.ts";
import { serveClientMetrics } from "./client_metrics.ts";

/** Re-reads the configuration for SIGHUP; rejects with a one-line reason. */
export type ConfigReloader = () => Promise<ClientConfig>;

/**
 * Runs the client until SIGINT or SIGTERM (or a fatal error) and resolves
 * with the exit code once every host change is undone.
 */
export async function runClient(
  config: ClientConfig,
  options: ClientOptions,
  reload: ConfigReloader = () => Promise.resolve(config),
): Promise<number> {
  const log = options.log;
  let handle = startClient(config, options);
  let metricsClosed = serveClientMetrics(config, handle, log);
  if (metricsClosed === null) return await handle.done.then(() => 1);
  let hardRestart: Promise<ClientConfig | null> | null = null;
  const listeners: [Deno.Signal, () => void][] = [
    ["SIGINT", () => handle.stop("received SIGINT")],
    ["SIGTERM", () => handle.stop("received SIGTERM")],
    ["SIGUSR1", () => handle.restart("received SIGUSR1")],
    ["SIGUSR2", () => logStatus(handle, log)],
    ["SIGHUP", () => {
      if (hardRestart) return;
      hardRestart = reloadOrKeep(reload, log);
      hardRestart.then((next) => next ? handle.stop("received SIGHUP: restarting") : (hardRestart = null));
    }],
  ];
  for (const [signal, fn] of listeners) Deno.addSignalListener(signal, fn);
  // SIGUSR1 is the soft restart: it must never open Deno's debugger instead.
  const guard = new InspectorGuard({ log });
  try {
    for (;;) {
      const code = await handle.done;
      const next = hardRestart ? await hardRestart : null;
      if (next === null) return code;
      hardRestart = null;
      log.info("restarting with the configuration read again");
      await metricsClosed;
      handle = startClient(next, options);
      metricsClosed = serveClientMetrics(next, handle, log);
      if (metricsClosed === null) return await handle.done.then(() => 1);
    }
  } finally {
    guard.close();
    for (const [signal, fn] of listeners) Deno.removeSignalListener(signal, fn);
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
