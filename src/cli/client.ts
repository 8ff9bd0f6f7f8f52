/**
 * `tsvpn --client --config FILE`: FILE is a tsvpn YAML config or an OpenVPN
 * client profile (.ovpn/.conf). Runs the client until SIGINT/SIGTERM; SIGHUP
 * reads FILE again (client/run_client.ts has the signals).
 */
import { ConfigError } from "../config/config_error.ts";
import { loadConfigOrProfile } from "../config/load.ts";
import type { ClientConfig } from "../config/schema.ts";
import { runClient } from "../client/run_client.ts";
import type { LogLevel } from "../log/log.ts";
import { Logger } from "../log/log.ts";
import { releaseStartupPages } from "./startup_pages.ts";

export interface ClientCommand {
  config: string;
  logLevel?: LogLevel;
}

/** A loaded client configuration and the OpenVPN options it ignored. */
export interface LoadedClientConfig {
  config: ClientConfig;
  ignored: { line: number; option: string; reason: string }[];
}

/** Loads FILE as a client configuration; rejects with a one-line message. */
export async function loadClientConfig(path: string): Promise<LoadedClientConfig> {
  let loaded;
  try {
    loaded = await loadConfigOrProfile(path);
  } catch (err) {
    throw new Error(err instanceof ConfigError ? err.message : `${path}: ${messageOf(err)}`);
  }
  if (loaded.config.mode !== "client") {
    throw new Error(`${path}: mode: expected client for --client, got "${loaded.config.mode}"`);
  }
  return { config: loaded.config, ignored: loaded.ignored };
}

/** Runs the client; resolves with the process exit code (2 for a bad config). */
export async function runClientCommand(command: ClientCommand): Promise<number> {
  const path = command.config;
  let loaded: LoadedClientConfig;
  try {
    loaded = await loadClientConfig(path);
  } catch (err) {
    console.error(messageOf(err));
    return 2;
  }
  const config = loaded.config;
  const log = new Logger({ level: command.logLevel ?? config.log.level, scope: "client" });
  releaseStartupPages(log);
  for (const item of loaded.ignored) {
    log.warn("ignoring OpenVPN option", {
      file: path,
      line: item.line,
      option: item.option,
      why: item.reason,
    });
  }
  return await runClient(config, { log }, async () => (await loadClientConfig(path)).config);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
