/**
 * Entry points: YAML text or file → validated Config. Every failure is a
 * ConfigError whose message is one line naming file, line and key.
 */

import { dirname, resolve } from "node:path";
import { readClientConfig } from "./client_config.ts";
import { ConfigError } from "./config_error.ts";
import type { IgnoredOption } from "./ovpn_lexer.ts";
import { parseOvpnClient } from "./ovpn_client.ts";
import type { Config } from "./schema.ts";
import { readServerConfig } from "./server_config.ts";
import { YamlSource } from "./yaml_reader.ts";

export interface ParseOptions {
  /** Directory relative paths are resolved against; default: the directory part of fileName. */
  baseDir?: string;
}

/** Parses and validates YAML text. Pure: reads no files. */
export function parseConfig(text: string, fileName: string, options: ParseOptions = {}): Config {
  const src = YamlSource.parse(text, fileName, options.baseDir ?? dirname(fileName));
  const root = src.root();
  if (root.isNull) {
    throw new ConfigError(
      fileName,
      1,
      "",
      "expected a map of settings starting with mode: server or mode: client",
    );
  }
  const map = root.map(null);
  const mode = map.req("mode").oneOf(["server", "client"] as const);
  return mode === "server" ? readServerConfig(map) : readClientConfig(map);
}

/** Reads and validates a config file; relative paths inside resolve against its directory (made absolute). */
export async function loadConfig(path: string): Promise<Config> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new ConfigError(path, 0, "", `cannot read file: ${reason(err)}`);
  }
  return parseConfig(text, path, { baseDir: dirname(resolve(path)) });
}

export interface LoadedConfig {
  config: Config;
  /** "ovpn" for an OpenVPN client profile (.ovpn or .conf), else "yaml". */
  format: "yaml" | "ovpn";
  /** OpenVPN options that were not translated (always [] for YAML); worth a warning each. */
  ignored: IgnoredOption[];
}

/**
 * Loads a tsvpn YAML config, or an OpenVPN client profile when the name ends
 * in .ovpn or .conf (what `tsvpn --client --config alice.ovpn` needs).
 */
export async function loadConfigOrProfile(path: string): Promise<LoadedConfig> {
  if (!/\.(ovpn|conf)$/i.test(path)) return { config: await loadConfig(path), format: "yaml", ignored: [] };
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new ConfigError(path, 0, "", `cannot read file: ${reason(err)}`);
  }
  const { config, ignored } = parseOvpnClient(text, path, { baseDir: dirname(resolve(path)) });
  return { config, format: "ovpn", ignored };
}

function reason(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "no such file";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.IsADirectory) return "is a directory";
  return err instanceof Error ? err.message.split("\n")[0] : String(err);
}
