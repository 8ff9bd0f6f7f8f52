/**
 * `server.scripts` and `server.client_config_dir`: OpenVPN's client-connect,
 * client-disconnect, learn-address and client-config-dir (docs/operations.md).
 * Paths resolve against the config file's directory; whether a script exists
 * or runs is found out when it is run (a client-connect that cannot run
 * refuses the client), as OpenVPN does.
 */

import type { ServerScripts } from "./schema.ts";
import { SERVER_SCRIPTS_KEYS } from "./keys.ts";
import type { MapView } from "./yaml_reader.ts";

/** Seconds a server script gets by default before it is killed. */
export const DEFAULT_SCRIPT_TIMEOUT = 10;
const MAX_SCRIPT_TIMEOUT = 600;

export function noServerScripts(): ServerScripts {
  return { clientConnect: null, clientDisconnect: null, learnAddress: null, timeout: DEFAULT_SCRIPT_TIMEOUT };
}

/** Reads `server.scripts` from the server section. */
export function readServerScripts(server: MapView): ServerScripts {
  const scripts = noServerScripts();
  const f = server.opt("scripts");
  if (!f || f.isNull) return scripts;
  const m = f.map(SERVER_SCRIPTS_KEYS);
  const path = (key: string) => {
    const v = m.opt(key);
    return v ? v.filePath() : null;
  };
  scripts.clientConnect = path("client_connect");
  scripts.clientDisconnect = path("client_disconnect");
  scripts.learnAddress = path("learn_address");
  const timeout = m.opt("timeout");
  if (timeout) {
    scripts.timeout = timeout.int(
      1,
      MAX_SCRIPT_TIMEOUT,
      `a whole number of seconds from 1 to ${MAX_SCRIPT_TIMEOUT}`,
    );
  }
  return scripts;
}

/** Reads `server.client_config_dir` (a directory path) from the server section. */
export function readClientConfigDir(server: MapView): string | null {
  const f = server.opt("client_config_dir");
  return f ? f.filePath() : null;
}
