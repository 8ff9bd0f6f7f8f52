/**
 * Runs the client from a config file, as `tsvpn --client --config FILE` will
 * once main.ts is wired to runClient; e2e tests start it inside a namespace:
 *
 *     deno run -A --unstable-net src/client/testing_launch.ts FILE [OPTIONS_JSON]
 *
 * OPTIONS_JSON sets ClientOptions that have no config key (resolvConfPath,
 * handshakeTimeoutMs, firstResponseTimeoutMs). Exit codes: 2 bad config,
 * otherwise runClient's.
 */

import { loadConfigOrProfile } from "../config/load.ts";
import { ConfigError } from "../config/config_error.ts";
import { Logger } from "../log/log.ts";
import { runClient } from "./client.ts";

const path = Deno.args[0];
if (!path) {
  console.error("usage: testing_launch.ts CONFIG [OPTIONS_JSON]");
  Deno.exit(2);
}
const extra = JSON.parse(Deno.args[1] ?? "{}") as {
  resolvConfPath?: string;
  handshakeTimeoutMs?: number;
  firstResponseTimeoutMs?: number;
  level?: "error" | "warn" | "info" | "debug";
};
let config;
try {
  config = (await loadConfigOrProfile(path)).config;
} catch (e) {
  console.error(e instanceof ConfigError ? e.message : `Cannot load ${path}: ${(e as Error).message}`);
  Deno.exit(2);
}
if (config.mode !== "client") {
  console.error(`${path}: expected mode: client`);
  Deno.exit(2);
}
const log = new Logger({ level: extra.level ?? config.log.level, scope: "client" });
Deno.exit(await runClient(config, { log, ...extra }));
