/**
 * Starts the server's metrics listener from `server.metrics`: /metrics from
 * the server's families and, with `status_page: true`, the status page over
 * its ServerControl, guarded by the management password when one is set.
 */

import type { ServerConfig } from "../config/schema.ts";
import type { Logger } from "../log/log.ts";
import type { MetricsSource } from "../ops/metric_family.ts";
import { type MetricsHttp, startMetricsHttp } from "../ops/metrics_http.ts";
import { readPasswordFile } from "../ops/management_guard.ts";
import type { ServerControl } from "../ops/server_control.ts";

/** The listener `config.server.metrics` asks for, or null when it asks for none. */
export async function startServerMetrics(
  config: ServerConfig,
  server: { control: ServerControl; metrics: MetricsSource },
  log: Logger,
): Promise<MetricsHttp | null> {
  const m = config.server.metrics;
  if (!m) return null;
  const passwordFile = config.management?.passwordFile ?? null;
  const password = passwordFile ? (await readPasswordFile(passwordFile)).password : null;
  if (m.statusPage && m.statusPageRemote && password === null) {
    log.warn("status page open to remote peers without a password: set management.password_file");
  }
  return startMetricsHttp({
    host: m.listen.host,
    port: m.listen.port,
    source: server.metrics,
    log: log.child("metrics"),
    page: m.statusPage ? { control: server.control, remote: m.statusPageRemote, password } : null,
  });
}
