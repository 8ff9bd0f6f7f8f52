/**
 * `tsvpn --client --config FILE`: FILE is a tsvpn YAML config or an OpenVPN
 * client profile (.ovpn/.conf). Runs the client until SIGINT/SIGTERM.
 */
import { ConfigError } from "../config/config_error.ts";
import { loadConfigOrProfile } from "../config/load.ts";
import { runClient } from "../client/client.ts";
import type { LogLevel } from "../log/log.ts";
import { Logger } from "../log/log.ts";
import { releaseStartupPages } from "./startup_pages.ts";

export interface ClientCommand {
  config: string;
  logLevel?: LogLevel;
}

/** Runs the client; resolves with the process exit code (2 for a bad config). */
export async function runClientCommand(command: ClientCommand): Promise<number> {
  const path = command.config;
  let loaded;
  try {
    loaded = await loadConfigOrProfile(path);
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `${path}: ${messageOf(err)}`);
    return 2;
  }
  const config = loaded.config;
  if (config.mode !== "client") {
    console.error(`${path}: mode: expected client for --client, got "${config.mode}"`);
    return 2;
  }
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
  return await runClient(config, { log });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
