/**
 * The management `reload` command (tsvpn's; OpenVPN reloads on `signal SIGHUP`,
 * which restarts its tunnels): re-reads the configuration file and applies
 * the keys that may change live without dropping unaffected tunnels
 * (src/server/server_reload.ts). One line back: SUCCESS with what changed, or
 * ERROR naming the key that needs a restart or what is wrong with the file.
 */

import { firstLine } from "../log/first_line.ts";
import type { ServerControl } from "./server_control.ts";

export const RELOAD_HELP =
  "reload                 : Re-read the config file; apply client, push, route, script and CRL changes.";

export async function reloadCommand(control: ServerControl): Promise<string> {
  if (!control.reload) return "ERROR: reload is not supported by this server";
  try {
    return `SUCCESS: configuration reloaded: ${await control.reload()}`;
  } catch (e) {
    return `ERROR: ${firstLine(e)}`;
  }
}
