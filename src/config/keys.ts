/**
 * The YAML keys of every map in both schemas, defined once: the readers
 * (server_config.ts, client_config.ts, sections.ts) accept exactly these, an
 * unknown key being an error with a "did you mean", and `tsvpn import openvpn`
 * writes a server config's keys in this order. A new key is added here and
 * then read where its section is read.
 */

export const LISTEN_KEYS = ["host", "port", "proto"] as const;
export const DEV_KEYS = ["type", "name", "mtu"] as const;
/** PEM material: a file (`ca`) or inline text (`ca_pem`). */
export const PEM_NAMES = ["ca", "cert", "key", "crl", "tls_crypt"] as const;
export const PKI_KEYS = [...PEM_NAMES.flatMap((k) => [k, `${k}_pem`]), "tls_auth"] as const;
export const TLS_AUTH_KEYS = ["key", "key_pem", "direction", "digest"] as const;
export const DATA_KEYS = [
  "ciphers",
  "reneg_seconds",
  "reneg_bytes",
  "transition_window",
  "replay_window",
] as const;
export const KEEPALIVE_KEYS = ["interval", "timeout"] as const;
export const LOG_KEYS = ["level"] as const;
export const MANAGEMENT_KEYS = ["listen", "password_file", "client_auth", "hold"] as const;
/** `server.metrics`: Prometheus /metrics and the web status page (docs/observability.md). */
export const SERVER_METRICS_KEYS = ["listen", "status_page", "status_page_remote", "client_series"] as const;
/** A client config's `metrics`: Prometheus /metrics only. */
export const CLIENT_METRICS_KEYS = ["listen"] as const;
export const PUSH_KEYS = ["routes", "routes6", "redirect_gateway", "dns", "domain"] as const;

export const SERVER_KEYS = [
  "mode",
  "listen",
  "dev",
  "pki",
  "data",
  "keepalive",
  "log",
  "management",
  "server",
] as const;

/** The `server:` section of a server config. */
export const SERVER_SECTION_KEYS = [
  "network",
  "network6",
  "topology",
  "bridge",
  "client_to_client",
  "duplicate_cn",
  "max_clients",
  "handshake_rate",
  "max_macs_per_client",
  "pool_persist",
  "pool_range",
  "status_file",
  "status_interval",
  "mssfix",
  "routes",
  "routes6",
  "push",
  "clients",
  "mesh",
  "compat",
  "metrics",
  "scripts",
  "client_config_dir",
  "auth",
] as const;

/** `server.scripts`: OpenVPN's client-connect, client-disconnect and learn-address (docs/operations.md). */
export const SERVER_SCRIPTS_KEYS = [
  "client_connect",
  "client_disconnect",
  "learn_address",
  "timeout",
] as const;

/** `server.pool_range`: the dynamic IPv4 range (OpenVPN's ifconfig-pool). */
export const POOL_RANGE_KEYS = ["start", "end"] as const;

/** `server.compat`: what older OpenVPN profiles expect (docs/operations.md). */
export const COMPAT_KEYS = ["compress"] as const;
/** `server.auth`: username/password checked by a script (OpenVPN's auth-user-pass-verify). */
export const AUTH_KEYS = ["script", "method", "timeout", "token", "auth_token"] as const;
/** `server.auth.token` (OpenVPN's auth-gen-token). */
export const AUTH_TOKEN_KEYS = ["lifetime", "secret_file"] as const;
/** A client config's `auth` (OpenVPN's auth-user-pass). */
export const CLIENT_AUTH_KEYS = ["user_pass_file"] as const;

/** `server.mesh`: direct client-to-client paths (docs/mesh.md). */
export const MESH_KEYS = ["enabled", "punch_timeout", "keepalive", "retry", "max_pairs"] as const;

/** One entry of `server.clients` (keyed by certificate name). */
export const CLIENT_OVERRIDE_KEYS = [
  "disabled",
  "address",
  "address6",
  "iroutes",
  "iroutes6",
  "push",
  "mesh",
] as const;

/** Keys per map of a server config by path ("" the top level, "*" any client name), in writing order. */
export const SERVER_MAP_KEYS: ReadonlyMap<string, readonly string[]> = new Map<string, readonly string[]>([
  ["", SERVER_KEYS],
  ["listen", LISTEN_KEYS],
  ["dev", DEV_KEYS],
  ["pki", PKI_KEYS],
  ["pki.tls_auth", TLS_AUTH_KEYS],
  ["data", DATA_KEYS],
  ["keepalive", KEEPALIVE_KEYS],
  ["log", LOG_KEYS],
  ["management", MANAGEMENT_KEYS],
  ["server", SERVER_SECTION_KEYS],
  ["server.push", PUSH_KEYS],
  ["server.mesh", MESH_KEYS],
  ["server.compat", COMPAT_KEYS],
  ["server.pool_range", POOL_RANGE_KEYS],
  ["server.metrics", SERVER_METRICS_KEYS],
  ["server.scripts", SERVER_SCRIPTS_KEYS],
  ["server.auth", AUTH_KEYS],
  ["server.auth.token", AUTH_TOKEN_KEYS],
  ["server.clients.*", CLIENT_OVERRIDE_KEYS],
  ["server.clients.*.push", PUSH_KEYS],
]);

export const CLIENT_KEYS = [
  "mode",
  "remotes",
  "remote_random",
  "proto",
  "dev",
  "pki",
  "server_name",
  "data",
  "keepalive",
  "log",
  "pull",
  "routes",
  "routes6",
  "redirect_gateway",
  "scripts",
  "reconnect",
  "management",
  "mssfix",
  "dead_peer_timeout",
  "state_dir",
  "metrics",
  "auth",
  "compat",
] as const;

/** One entry of a client config's `remotes` list. */
export const REMOTE_KEYS = ["host", "port", "proto"] as const;
export const PULL_KEYS = ["routes", "redirect_gateway", "net_gateway_routes", "dns", "filter"] as const;
export const SCRIPTS_KEYS = ["up", "down"] as const;
export const RECONNECT_KEYS = ["initial_delay", "max_delay"] as const;
