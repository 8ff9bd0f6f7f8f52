/**
 * The client schema (mode: client): remotes, pull policy, local routes,
 * scripts and reconnect backoff on top of the shared sections.
 */

import {
  type ClientConfig,
  DEFAULTS,
  DNS_MODES,
  type Proto,
  PROTOS,
  PULL_FILTER_ACTIONS,
  type PullConfig,
  type PullFilterAction,
  type PullFilterRule,
  type ReconnectConfig,
  REDIRECT_FLAGS,
  type Remote,
  type ScriptsConfig,
} from "./schema.ts";
import { CLIENT_KEYS, PULL_KEYS, RECONNECT_KEYS, REMOTE_KEYS, SCRIPTS_KEYS } from "./keys.ts";
import {
  readCompat,
  readData,
  readDev,
  readKeepalive,
  readLog,
  readManagement,
  readPki,
} from "./sections.ts";
import { readMetrics } from "./metrics_config.ts";
import { readClientAuth } from "./auth_config.ts";
import { readEnumList, readHost, readPort, readPrefixList, readSeconds } from "./values.ts";
import type { Field, MapView } from "./yaml_reader.ts";

export function readClientConfig(root: MapView): ClientConfig {
  root.checkKeys(CLIENT_KEYS);
  const protoField = root.opt("proto");
  const proto: Proto = protoField ? protoField.oneOf(PROTOS) : DEFAULTS.proto;
  const remotes = readRemotes(root, proto);
  const random = root.opt("remote_random");
  const remoteRandom = random ? random.bool() : false;
  const dev = readDev(root);
  const pki = readPki(root);
  const serverNameField = root.opt("server_name");
  const serverName = serverNameField ? serverNameField.string() : null;
  const data = readData(root);
  const keepalive = readKeepalive(root, false);
  const log = readLog(root);
  const pull = readPull(root);
  const routes = readPrefixList(root, "routes", 4);
  const routes6 = readPrefixList(root, "routes6", 6);
  const redirect = root.opt("redirect_gateway");
  const redirectGateway = redirect ? readEnumList(redirect, REDIRECT_FLAGS) : [];
  const scripts = readScripts(root);
  const reconnect = readReconnect(root);
  const management = readManagement(root);
  const mssfix = readClientMssfix(root, dev.mtu);
  const deadPeer = root.opt("dead_peer_timeout");
  const deadPeerTimeout = deadPeer
    ? deadPeer.int(0, 3600, "a whole number of seconds, 0-3600 (0 = off)")
    : DEFAULTS.deadPeerTimeout;
  const stateDirField = root.opt("state_dir");
  const stateDir = stateDirField ? stateDirField.filePath() : DEFAULTS.clientStateDir;
  const metrics = readMetrics(root, "client");
  const auth = readClientAuth(root);
  return {
    mode: "client",
    remotes,
    remoteRandom,
    proto,
    dev,
    pki,
    serverName,
    data,
    keepalive,
    log,
    pull,
    routes,
    routes6,
    redirectGateway,
    scripts,
    reconnect,
    management,
    mssfix,
    deadPeerTimeout,
    stateDir,
    metrics,
    compat: readCompat(root),
    auth,
  };
}

/** `mssfix`: "auto" (the default), 0 (off) or the largest inner packet, up to dev.mtu. */
function readClientMssfix(root: MapView, mtu: number): number | "auto" {
  const f = root.opt("mssfix");
  if (!f || f.scalar() === "auto") return "auto";
  if (f.scalar() === 0) return 0;
  return f.int(576, mtu, `auto, 0 (off) or an integer from 576 to ${mtu} (dev.mtu)`);
}

function readRemotes(root: MapView, proto: Proto): Remote[] {
  const f = root.req("remotes");
  const items = f.list();
  if (f.isNull || items.length === 0) f.expected("a non-empty list of remotes ({ host, port })");
  return items.map((item) => {
    const m = item.map(REMOTE_KEYS);
    const port = m.opt("port");
    const p = m.opt("proto");
    return {
      host: readHost(m.req("host")),
      port: port ? readPort(port) : DEFAULTS.port,
      proto: p ? p.oneOf(PROTOS) : proto,
    };
  });
}

/** The pull policy with every default filled in (also the start of an .ovpn translation). */
export function defaultPull(): PullConfig {
  return { routes: true, redirectGateway: true, netGatewayRoutes: false, dns: DEFAULTS.pullDns, filter: [] };
}

function readPull(root: MapView): PullConfig {
  const pull = defaultPull();
  const f = root.opt("pull");
  if (!f) return pull;
  const m = f.map(PULL_KEYS);
  const routes = m.opt("routes");
  if (routes) pull.routes = routes.bool();
  const redirect = m.opt("redirect_gateway");
  if (redirect) pull.redirectGateway = redirect.bool();
  const netGateway = m.opt("net_gateway_routes");
  if (netGateway) pull.netGatewayRoutes = netGateway.bool();
  const dns = m.opt("dns");
  if (dns) pull.dns = dns.oneOf(DNS_MODES);
  const filter = m.opt("filter");
  if (filter) pull.filter = filter.list().map(readPullFilterRule);
  return pull;
}

const RULE_WHAT = "a map with one key, accept, ignore or reject, whose value is the option text to match";

/** `{ ignore: "route 10." }`: one action key, a non-empty text (commas never occur in a pushed option). */
function readPullFilterRule(f: Field): PullFilterRule {
  if (f.scalar() !== undefined) f.expected(RULE_WHAT);
  const m = f.map(PULL_FILTER_ACTIONS);
  const keys = m.keys();
  if (keys.length !== 1) f.expected(RULE_WHAT);
  const action = keys[0] as PullFilterAction;
  const value = m.req(action);
  const text = value.string('the start of a pushed option, such as "route 10."');
  if (text.includes(",")) {
    value.fail(
      `expected text without commas (pushed options never contain one), got ${JSON.stringify(text)}`,
    );
  }
  return { action, text };
}

function readScripts(root: MapView): ScriptsConfig {
  const scripts: ScriptsConfig = { up: null, down: null };
  const f = root.opt("scripts");
  if (!f) return scripts;
  const m = f.map(SCRIPTS_KEYS);
  const up = m.opt("up");
  if (up) scripts.up = up.filePath();
  const down = m.opt("down");
  if (down) scripts.down = down.filePath();
  return scripts;
}

function readReconnect(root: MapView): ReconnectConfig {
  const r: ReconnectConfig = {
    initialDelay: DEFAULTS.reconnectInitialDelay,
    maxDelay: DEFAULTS.reconnectMaxDelay,
  };
  const f = root.opt("reconnect");
  if (!f) return r;
  const m = f.map(RECONNECT_KEYS);
  const initial = m.opt("initial_delay");
  if (initial) r.initialDelay = readSeconds(initial);
  const max = m.opt("max_delay");
  if (max) r.maxDelay = readSeconds(max);
  if (r.maxDelay < r.initialDelay) {
    (max ?? initial!).fail(
      `expected max_delay of at least initial_delay (${r.initialDelay}), got ${r.maxDelay}`,
    );
  }
  return r;
}
