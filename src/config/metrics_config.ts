/**
 * `server.metrics` and a client's `metrics` (docs/observability.md): where the
 * HTTP listener for Prometheus' /metrics binds and, on the server, whether it
 * also serves the web status page. The listener may bind any address (a
 * Prometheus server scrapes it from elsewhere); the page answers loopback
 * peers only unless `status_page_remote: true`.
 */

import { parseIp } from "../addr/ip.ts";
import { CLIENT_METRICS_KEYS, SERVER_METRICS_KEYS } from "./keys.ts";
import type { MetricsConfig } from "./schema.ts";
import type { Field, MapView } from "./yaml_reader.ts";

const LISTEN_WHAT = "HOST:PORT with an IP address ([::1]:9477 for IPv6) or localhost";
const DEFAULT_CLIENT_SERIES = 100;

/** Reads `metrics` from `parent` (the `server:` map, or a client config's top level); absent = null. */
export function readMetrics(parent: MapView, role: "server" | "client"): MetricsConfig | null {
  const f = parent.opt("metrics");
  if (!f || f.isNull) return null;
  const m = f.map(role === "server" ? SERVER_METRICS_KEYS : CLIENT_METRICS_KEYS);
  const page = m.opt("status_page");
  const remote = m.opt("status_page_remote");
  const series = m.opt("client_series");
  return {
    listen: parseMetricsListen(m.req("listen")),
    statusPage: page ? page.bool() : false,
    statusPageRemote: remote ? remote.bool() : false,
    clientSeries: series ? series.int(0, 100000, "a whole number from 0 to 100000") : DEFAULT_CLIENT_SERIES,
  };
}

function parseMetricsListen(f: Field): { host: string; port: number } {
  const v = f.scalar();
  if (typeof v !== "string") f.expected(LISTEN_WHAT);
  const m = /^\[([^\]]+)\]:([0-9]+)$/.exec(v) ?? /^([^:\[\]]+):([0-9]+)$/.exec(v);
  if (!m) f.expected(LISTEN_WHAT);
  const port = Number(m[2]);
  if (port < 1 || port > 65535) {
    f.fail(`expected a port from 1 to 65535 in ${LISTEN_WHAT}, got ${JSON.stringify(v)}`);
  }
  if (m[1] === "localhost") return { host: "127.0.0.1", port };
  const ip = parseIp(m[1]);
  if (!ip) f.fail(`expected ${LISTEN_WHAT}, got ${JSON.stringify(v)}`);
  return { host: ip.text, port };
}
