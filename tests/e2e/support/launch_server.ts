/**
 * Runs the tsvpn server from a config file, as `tsvpn --server --config FILE`
 * will once main.ts is wired to runServer:
 *
 *     deno run -A --unstable-net tests/e2e/support/launch_server.ts FILE
 *
 * Exit codes: 2 for a bad config (one line naming file, line and key), 1 when
 * the server cannot start, 0 after SIGINT/SIGTERM and cleanup.
 */

import { loadConfig } from "../../../src/config/load.ts";
import { ConfigError } from "../../../src/config/config_error.ts";
import { Logger } from "../../../src/log/log.ts";
import { runServer } from "../../../src/server/server.ts";

const path = Deno.args[0];
if (!path) {
  console.error("usage: launch_server.ts CONFIG");
  Deno.exit(2);
}
let config;
try {
  config = await loadConfig(path);
} catch (e) {
  console.error(e instanceof ConfigError ? e.message : `Cannot load ${path}: ${(e as Error).message}`);
  Deno.exit(2);
}
if (config.mode !== "server") {
  console.error(`${path}: expected mode: server`);
  Deno.exit(2);
}
const log = new Logger({ level: config.log.level, scope: "server" });
Deno.exit(await runServer(config, { log }));
