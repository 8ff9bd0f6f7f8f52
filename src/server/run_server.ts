/**
 * `runServer`: the server as a process. Starts it, adds the management
 * interface and the status file (src/ops) on top of its ServerControl, and
 * maps signals: SIGINT/SIGTERM stop, SIGHUP reloads the configuration (the
 * live keys and the CRL, server_reload.ts; only the CRL when started without
 * a file), SIGUSR2 logs the status and drop counters, SIGUSR1 is logged (and
 * never opens Deno's debugger: process/inspector_guard.ts).
 */

import type { ServerConfig } from "../config/schema.ts";
import type { Logger } from "../log/log.ts";
import { startManagement } from "../ops/management.ts";
import { ClientAuthHub } from "../ops/management_client_auth.ts";
import { startStatusFile } from "../ops/status_file.ts";
import { InspectorGuard } from "../process/inspector_guard.ts";
import { startServerMetrics } from "./metrics_listener.ts";
import { firstLine } from "../log/first_line.ts";
import { type ServerHandle, type ServerOptions, startServer } from "./server.ts";

interface Closable {
  close(): Promise<void>;
}

/**
 * Runs a server until SIGINT/SIGTERM and returns the exit code: 0 after a
 * clean stop, 1 when it could not start.
 */
export async function runServer(config: ServerConfig, options: ServerOptions): Promise<number> {
  let handle: ServerHandle;
  try {
    handle = await startServer(config, options);
  } catch (e) {
    options.log.error(`server could not start: ${(e as Error).message.split("\n")[0]}`);
    return 1;
  }
  const extras: Closable[] = [];
  try {
    await startExtras(config, handle, options.log, extras);
    const metrics = await startServerMetrics(config, handle, options.log);
    if (metrics) extras.push(metrics);
  } catch (e) {
    options.log.error(`server could not start: ${(e as Error).message.split("\n")[0]}`);
    await closeAll(extras);
    await handle.stop("startup failed");
    return 1;
  }
  const removeSignals = listenForSignals(handle, options.log);
  const guard = new InspectorGuard({ log: options.log });
  try {
    await handle.done;
    await closeAll(extras);
  } finally {
    guard.close();
    removeSignals();
  }
  return 0;
}

/** The management interface and the status file, as configured; each is pushed to `extras` once open. */
async function startExtras(
  config: ServerConfig,
  handle: ServerHandle,
  log: Logger,
  extras: Closable[],
): Promise<void> {
  const control = handle.control;
  const listen = config.management?.listen;
  if (listen) {
    const clientAuth = config.management!.clientAuth
      ? new ClientAuthHub({ log: log.child("client-auth") })
      : null;
    const address = listen.kind === "unix"
      ? listen.path
      : listen.host.includes(":")
      ? `[${listen.host}]:${listen.port}`
      : `${listen.host}:${listen.port}`;
    const management = await startManagement(address, control, {
      log,
      passwordFile: config.management!.passwordFile,
      clientAuth,
    });
    log.info("management interface listening", { address: management.address });
    extras.push(management);
    if (clientAuth) {
      handle.attachClientAuth(clientAuth);
      extras.push({ close: () => Promise.resolve(clientAuth.close()) });
    }
  }
  const server = config.server;
  if (server.statusFile) {
    extras.push(await startStatusFile(server.statusFile, server.statusInterval, control, { log }));
  }
}

function closeAll(extras: Closable[]): Promise<unknown> {
  return Promise.all(extras.map((x) => x.close().catch(() => {})));
}

/** Installs the signal handlers; returns their removal. */
function listenForSignals(handle: ServerHandle, log: Logger): () => void {
  const onStop = () => void handle.stop("received a signal to stop");
  // A refused reload or a bad CRL is logged and leaves the running configuration and the last good CRL.
  const onHup = () =>
    void (handle.control.reload
      ? handle.control.reload().catch((e) => log.error(firstLine(e)))
      : handle.control.reloadCrl().catch(() => {}));
  const onUsr2 = () => handle.logStatus();
  // OpenVPN's server restarts on SIGUSR1; tsvpn's keeps its tunnels (Deno's debugger stays shut: inspector_guard.ts).
  const onUsr1 = () => log.info("received SIGUSR1: the server keeps running (SIGHUP reloads, SIGTERM stops)");
  const handlers: [Deno.Signal, () => void][] = [
    ["SIGINT", onStop],
    ["SIGTERM", onStop],
    ["SIGHUP", onHup],
    ["SIGUSR2", onUsr2],
    ["SIGUSR1", onUsr1],
  ];
  for (const [signal, fn] of handlers) Deno.addSignalListener(signal, fn);
  return () => {
    for (const [signal, fn] of handlers) Deno.removeSignalListener(signal, fn);
  };
}
