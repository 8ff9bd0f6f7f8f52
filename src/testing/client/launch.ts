/**
 * The client for e2e tests that need options the CLI does not offer:
 * `tsvpn --client --config FILE` (src/cli/client.ts) without its start-up
 * extras (ignored-option warnings, releasing start-up pages), plus the
 * ClientOptions that have no config key. e2e tests start it inside a namespace:
 *
 *     deno run -A --unstable-net src/testing/client/launch.ts FILE [OPTIONS_JSON]
 *
 * OPTIONS_JSON: resolvConfPath (keeps resolv.conf in the test's directory),
 * handshakeTimeoutMs, firstResponseTimeoutMs (fail fast), and level (the log
 * level, instead of the config's log.level). Exit codes: 2 for a missing or
 * bad config, otherwise runClient's.
 */

import { loadConfigOrProfile } from "../../config/load.ts";
import { ConfigError } from "../../config/config_error.ts";
import { Logger } from "../../log/log.ts";
import { runClient } from "../../client/run_client.ts";
import { loadClientConfig } from "../../cli/client.ts";

const path = Deno.args[0];
if (!path) {
  console.error("usage: src/testing/client/launch.ts CONFIG [OPTIONS_JSON]");
  Deno.exit(2);
}
const options = JSON.parse(Deno.args[1] ?? "{}") as {
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
const log = new Logger({ level: options.level ?? config.log.level, scope: "client" });
// SIGHUP reads the file again, as `tsvpn --client` does.
Deno.exit(await runClient(config, { log, ...options }, async () => (await loadClientConfig(path)).config));
