/**
 * `tsvpn --server [--config FILE] [--state-dir DIR]`: load (or, with no
 * --config, prepare the zero-config state directory and load) the server
 * configuration, then run the server until SIGINT/SIGTERM.
 */
import { ConfigError } from "../config/config_error.ts";
import { loadConfig } from "../config/load.ts";
import type { LogLevel } from "../log/log.ts";
import { releaseStartupPages } from "./startup_pages.ts";
import { Logger } from "../log/log.ts";
import { resolve } from "node:path";
import { runServer } from "../server/run_server.ts";
import { keepCrlCurrent } from "../server/crl_refresh.ts";
import { PKI_SUBDIR, prepareZeroConfig } from "../server/zero_config.ts";

export interface ServerCommand {
  config?: string;
  stateDir: string;
  logLevel?: LogLevel;
}

/** Runs the server; resolves with the process exit code (2 for a bad config). */
export async function runServerCommand(command: ServerCommand): Promise<number> {
  const bootLog = new Logger({ level: command.logLevel ?? "info", scope: "server" });
  releaseStartupPages(bootLog);
  let path = command.config;
  if (path === undefined) {
    try {
      const prepared = await prepareZeroConfig(command.stateDir, { log: bootLog });
      path = prepared.configPath;
    } catch (err) {
      console.error(`tsvpn: cannot prepare state directory ${command.stateDir}: ${messageOf(err)}`);
      return 1;
    }
  }
  let config;
  try {
    config = await loadConfig(path);
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `${path}: ${messageOf(err)}`);
    return 2;
  }
  if (config.mode !== "server") {
    console.error(`${path}: mode: expected server for --server, got "${config.mode}"`);
    return 2;
  }
  const log = new Logger({ level: command.logLevel ?? config.log.level, scope: "server" });
  // A zero-config server holds its own CA, so it alone can keep its CRL from expiring.
  const crlKeeper = command.config === undefined
    ? await keepCrlCurrent({ pkiDir: `${resolve(command.stateDir)}/${PKI_SUBDIR}`, log })
    : null;
  try {
    return await runServer(config, { log, configPath: resolve(path) });
  } finally {
    crlKeeper?.stop();
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
