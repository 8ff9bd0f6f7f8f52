/**
 * The validated, typed configuration: what `parseConfig`/`loadConfig` return.
 * Every key that has a default is filled in; keys without one are `null` when
 * absent, never `undefined`. Paths are already resolved against the config
 * file's directory. YAML keys are snake_case; these fields are their camelCase
 * twins (`client_to_client` → `clientToClient`).
 */

import type { LogLevel } from "../log/log.ts";
import type { IpAddress } from "../addr/ip.ts";
import type { IpPrefix } from "../addr/prefix.ts";
import type { MeshSettings } from "../mesh/settings.ts";
import type { CompressFraming } from "../data/framing.ts";
import type { AuthConfig, ClientAuthConfig } from "./auth_config.ts";

export type { AuthConfig, AuthScriptMethod, AuthTokenConfig, ClientAuthConfig } from "./auth_config.ts";

export type Mode = "server" | "client";
export type Proto = "udp" | "tcp";
export type DevType = "tun" | "tap";
export type Topology = "subnet" | "net30" | "p2p";
export type CipherName = "AES-256-GCM" | "AES-128-GCM" | "CHACHA20-POLY1305";
export type RedirectFlag = "def1" | "bypass-dhcp" | "bypass-dns" | "local" | "ipv6" | "!ipv4";
/** HMAC digest of tls-auth (OpenVPN's `auth`, default SHA1). */
export type TlsAuthDigest = "SHA1" | "SHA256" | "SHA384" | "SHA512";
export type DnsMode = "none" | "resolv.conf";
/** OpenVPN's pull-filter actions: apply the option, drop it silently, or fail the push (restart). */
export type PullFilterAction = "accept" | "ignore" | "reject";

export const PROTOS: readonly Proto[] = ["udp", "tcp"];
export const DEV_TYPES: readonly DevType[] = ["tun", "tap"];
export const TOPOLOGIES: readonly Topology[] = ["subnet", "net30", "p2p"];
export const CIPHERS: readonly CipherName[] = ["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"];
export const REDIRECT_FLAGS: readonly RedirectFlag[] = [
  "def1",
  "bypass-dhcp",
  "bypass-dns",
  "local",
  "ipv6",
  "!ipv4",
];
export const TLS_AUTH_DIGESTS: readonly TlsAuthDigest[] = ["SHA1", "SHA256", "SHA384", "SHA512"];
export const DNS_MODES: readonly DnsMode[] = ["none", "resolv.conf"];
export const PULL_FILTER_ACTIONS: readonly PullFilterAction[] = ["accept", "ignore", "reject"];

export const DEFAULTS = {
  port: 1194,
  proto: "udp" as Proto,
  listenHost: "0.0.0.0",
  devType: "tun" as DevType,
  devName: "tsvpn0",
  /** OpenVPN's default tun-mtu, so stock peers agree without configuration. */
  mtu: 1500,
  ciphers: ["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"] as readonly CipherName[],
  renegSeconds: 3600,
  renegBytes: 0,
  /** Shorter than OpenVPN's 3600 s: see DEFAULT_TRANSITION_WINDOW_MS in data/key_lifetime.ts. */
  transitionWindow: 60,
  replayWindow: 1024,
  keepaliveInterval: 10,
  keepaliveTimeout: 60,
  logLevel: "info" as LogLevel,
  topology: "subnet" as Topology,
  maxClients: 1024,
  /** New client sessions per second (burst: twice as many). */
  handshakeRate: 100,
  /** OpenVPN's max-routes-per-client default. */
  maxMacsPerClient: 256,
  statusInterval: 60,
  tlsAuthDigest: "SHA1" as TlsAuthDigest,
  pullDns: "none" as DnsMode,
  reconnectInitialDelay: 1,
  reconnectMaxDelay: 60,
  /** Client: WireGuard's 15 s (keepalive 10 + rekey 5) for a server that stopped answering. */
  deadPeerTimeout: 15,
  /** Client: where the journal of host changes lives (src/client/host_journal.ts). */
  clientStateDir: "/var/lib/tsvpn/client",
} as const;

/** PEM material: a file to read (path resolved) or text given inline in the config. */
export type PemSource = { kind: "file"; path: string } | { kind: "inline"; pem: string };

export interface ListenConfig {
  /** Canonical IP text, e.g. "0.0.0.0" or "::". */
  host: string;
  port: number;
  proto: Proto;
}

export interface DevConfig {
  type: DevType;
  name: string;
  /** 576..65535; default 1500. */
  mtu: number;
}

export interface TlsAuthConfig {
  key: PemSource;
  /** OpenVPN key-direction; null = bidirectional (no key-direction). */
  direction: 0 | 1 | null;
  digest: TlsAuthDigest;
}

export interface PkiConfig {
  ca: PemSource;
  cert: PemSource;
  key: PemSource;
  crl: PemSource | null;
  tlsCrypt: PemSource | null;
  /** Never set together with tlsCrypt. */
  tlsAuth: TlsAuthConfig | null;
}

export interface DataConfig {
  /** Preference order, unique, non-empty. */
  ciphers: CipherName[];
  /** Seconds between data key renegotiations; 0 = never. */
  renegSeconds: number;
  /** Bytes between renegotiations (sent and received under one key, OpenVPN's count); 0 = off. */
  renegBytes: number;
  /** Seconds a replaced data key still opens packets after a renegotiation, ≥ 1. */
  transitionWindow: number;
  /** Replay window in packets, 1..65536. */
  replayWindow: number;
}

export interface KeepaliveConfig {
  /** Seconds of idleness after which a ping is sent. */
  interval: number;
  /** Seconds of silence after which the peer is considered gone; ≥ 2 × interval. */
  timeout: number;
}

export interface LogConfig {
  level: LogLevel;
}

/** Management listener: TCP on a loopback address, or a unix socket (path resolved). */
export type ManagementListen = { kind: "tcp"; host: string; port: number } | { kind: "unix"; path: string };

export interface ManagementConfig {
  listen: ManagementListen;
  /** File whose first line is the password each session must send (OpenVPN's pw-file); resolved path. */
  passwordFile: string | null;
  /**
   * Start in hold (OpenVPN's --management-hold): the server starts nothing but
   * the management interface until a session sends `hold release`. @default false
   */
  hold: boolean;
  /**
   * Server: every new client and every renegotiation waits for `client-auth`/`client-deny` from a
   * management session (OpenVPN's --management-client-auth).
   */
  clientAuth: boolean;
}

/** `server.metrics` / a client's `metrics`: the HTTP listener for /metrics and the status page. */
export interface MetricsConfig {
  /** Any address (Prometheus scrapes it from elsewhere); IPv6 hosts without brackets. */
  listen: { host: string; port: number };
  /** Server only: serve the web status page, its JSON and the kill button (default false). */
  statusPage: boolean;
  /** Server only: answer the page from non-loopback peers too (default false: loopback only). */
  statusPageRemote: boolean;
  /** Server only: most clients with their own tsvpn_client_* series (by connection order; default 100). */
  clientSeries: number;
}

/** Options pushed to clients. Per-client pushes are sent in addition to the global ones. */
export interface PushConfig {
  routes: IpPrefix[];
  routes6: IpPrefix[];
  redirectGateway: RedirectFlag[];
  /** DNS servers, IPv4 and IPv6. */
  dns: IpAddress[];
  domain: string | null;
}

/** Per-certificate-name settings (OpenVPN's client-config-dir). */
export interface ClientOverride {
  /** The certificate common name (the YAML key). */
  name: string;
  /** A disabled client is refused at authentication. */
  disabled: boolean;
  /** Static IPv4 address; already checked against network and topology. */
  address: IpAddress | null;
  address6: IpAddress | null;
  /** Subnets behind this client (routed to it, and accepted as its source). */
  iroutes: IpPrefix[];
  iroutes6: IpPrefix[];
  push: PushConfig;
  /** false keeps this client relayed even when `server.mesh.enabled` (default true). */
  mesh: boolean;
}

export interface ServerSection {
  /** IPv4 pool network; null only when bridge is true. */
  network: IpPrefix | null;
  network6: IpPrefix | null;
  /** Derived: the server's own VPN address, the first host of network (OpenVPN's rule). */
  address: IpAddress | null;
  /** Derived: the first host of network6. */
  address6: IpAddress | null;
  topology: Topology;
  clientToClient: boolean;
  duplicateCn: boolean;
  maxClients: number;
  /** New client sessions the server starts per second (token bucket, burst twice the rate). */
  handshakeRate: number;
  /** tap: most MACs one client may own in the switch's table (OpenVPN's max-routes-per-client). */
  maxMacsPerClient: number;
  poolPersist: string | null;
  statusFile: string | null;
  statusInterval: number;
  /**
   * Largest inner IP packet a TCP SYN's MSS is clamped to (MSS = mssfix − 40
   * for IPv4, − 60 for IPv6); default min(dev.mtu, 1448) so datagrams fit 1500 bytes; 0 = no clamping.
   */
  mssfix: number;
  /** tap only: the server hands out no addresses (clients use the bridged LAN). */
  bridge: boolean;
  /** Routes the server adds on the host towards the VPN device. */
  routes: IpPrefix[];
  routes6: IpPrefix[];
  push: PushConfig;
  /** Keyed by certificate common name. */
  clients: Map<string, ClientOverride>;
  /** `server.mesh`: direct paths between tsvpn clients (docs/mesh.md). */
  mesh: MeshSettings;
  /** `server.compat`: what older OpenVPN profiles expect. */
  compat: CompatConfig;
  /**
   * `server.pool_range`: the IPv4 client addresses handed out dynamically
   * (OpenVPN's ifconfig-pool); static addresses may lie outside it. null = the
   * whole network.
   */
  poolRange: { start: IpAddress; end: IpAddress } | null;
  /** `server.metrics`: Prometheus /metrics and the status page; absent or null = off. */
  metrics?: MetricsConfig | null;
  /** `server.scripts`: per-client scripts with OpenVPN's contract (src/server/connect_scripts.ts). */
  scripts: ServerScripts;
  /** OpenVPN's client-config-dir, read at each connect (src/server/ccd_file.ts); resolved path or null. */
  clientConfigDir: string | null;
  /** `server.auth`: username/password by script, optional auth-token; null = certificates only. */
  auth: AuthConfig | null;
}

/** `server.compat` (docs/operations.md, "Older profiles: compression framing"). */
export interface CompatConfig {
  /**
   * Compression framing every client's data packets carry (OpenVPN's
   * `comp-lzo no` = lzo-no, `compress stub` = stub, `compress stub-v2`), pushed
   * to clients as that option; nothing is ever compressed. @default "none"
   */
  compress: CompressFraming;
}

/** `server.scripts`: resolved paths or null, and the timeout each run gets. */
export interface ServerScripts {
  clientConnect: string | null;
  clientDisconnect: string | null;
  learnAddress: string | null;
  /** Seconds a script may run before it is killed (a timed-out client-connect refuses the client). */
  timeout: number;
}

export interface ServerConfig {
  mode: "server";
  listen: ListenConfig;
  dev: DevConfig;
  pki: PkiConfig;
  data: DataConfig;
  keepalive: KeepaliveConfig;
  log: LogConfig;
  management: ManagementConfig | null;
  server: ServerSection;
}

export interface Remote {
  /** Host name or canonical IP text. */
  host: string;
  port: number;
  proto: Proto;
}

/** One pull filter: `text` is compared with the start of each pushed option as received. */
export interface PullFilterRule {
  action: PullFilterAction;
  text: string;
}

export interface PullConfig {
  /** Install routes (and routes6) the server pushes. */
  routes: boolean;
  /** Honour a pushed redirect-gateway, and pushed routes as wide as one (/0, /1; IPv6 up to /3). */
  redirectGateway: boolean;
  /** Install pushed routes via net_gateway (around the tunnel). */
  netGatewayRoutes: boolean;
  /** What to do with pushed DNS servers and domain. */
  dns: DnsMode;
  /** Checked in order against every pushed option; the first match decides; no match accepts. */
  filter: PullFilterRule[];
}

export interface ScriptsConfig {
  /** Run after the device is configured; path resolved. */
  up: string | null;
  /** Run after the tunnel is torn down; path resolved. */
  down: string | null;
}

export interface ReconnectConfig {
  /** Seconds before the first retry; doubles up to maxDelay. */
  initialDelay: number;
  maxDelay: number;
}

export interface ClientConfig {
  /** `compat`: the compression framing the server expects (older servers; a push overrides it). */
  compat: CompatConfig;
  mode: "client";
  /** Non-empty; tried in order unless remoteRandom. */
  remotes: Remote[];
  remoteRandom: boolean;
  /** Default protocol of remotes that name none. */
  proto: Proto;
  dev: DevConfig;
  pki: PkiConfig;
  /** Name (CN or DNS SAN) the server certificate must carry; null = any serverAuth cert from the CA. */
  serverName: string | null;
  data: DataConfig;
  /** null = use what the server pushes. */
  keepalive: KeepaliveConfig | null;
  log: LogConfig;
  pull: PullConfig;
  /** Local routes through the tunnel, whatever the server pushes. */
  routes: IpPrefix[];
  routes6: IpPrefix[];
  /** Local redirect-gateway flags; [] = do not redirect unless pushed. */
  redirectGateway: RedirectFlag[];
  scripts: ScriptsConfig;
  reconnect: ReconnectConfig;
  management: ManagementConfig | null;
  /**
   * Largest inner IP packet a TCP SYN's MSS is clamped to, in both directions
   * (as server.mssfix); "auto" derives it from the MTU of the link towards the
   * server (client/uplink_mss.ts); 0 = no clamping.
   */
  mssfix: number | "auto";
  /**
   * Seconds without an authenticated packet from the server, after sending,
   * before re-dialling at once (dead_peer.ts); 0 = off.
   */
  deadPeerTimeout: number;
  /** Directory of the host-change journal (host_journal.ts). */
  stateDir: string;
  /** `metrics`: Prometheus /metrics; absent or null = off. */
  metrics?: MetricsConfig | null;
  /** `auth`: username and password sent to the server (OpenVPN's auth-user-pass); null = none. */
  auth: ClientAuthConfig | null;
}

export type Config = ServerConfig | ClientConfig;
