/**
 * Readers for the sections both modes share: dev, pki, data, keepalive, log,
 * management and push. Each takes the parent map and fills in defaults.
 */

import { LOG_LEVELS } from "../log/log.ts";
import { COMPRESS_FRAMINGS } from "../data/framing.ts";
import { isLoopback, parseIp } from "../addr/ip.ts";
import {
  COMPAT_KEYS,
  DATA_KEYS,
  DEV_KEYS,
  KEEPALIVE_KEYS,
  LOG_KEYS,
  MANAGEMENT_KEYS,
  PKI_KEYS,
  PUSH_KEYS,
  TLS_AUTH_KEYS,
} from "./keys.ts";
import {
  type CipherName,
  CIPHERS,
  type CompatConfig,
  type DataConfig,
  DEFAULTS,
  DEV_TYPES,
  type DevConfig,
  type KeepaliveConfig,
  type LogConfig,
  type ManagementConfig,
  type ManagementListen,
  type PemSource,
  type PkiConfig,
  type PushConfig,
  REDIRECT_FLAGS,
  TLS_AUTH_DIGESTS,
  type TlsAuthConfig,
} from "./schema.ts";
import { readAddress, readDomain, readEnumList, readPrefixList, readSeconds } from "./values.ts";
import type { Field, MapView } from "./yaml_reader.ts";

const IFNAME = /^[^\s/:]{1,15}$/;

export function readDev(parent: MapView): DevConfig {
  const f = parent.opt("dev");
  const dev: DevConfig = { type: DEFAULTS.devType, name: DEFAULTS.devName, mtu: DEFAULTS.mtu };
  if (!f) return dev;
  const m = f.map(DEV_KEYS);
  const type = m.opt("type");
  if (type) dev.type = type.oneOf(DEV_TYPES);
  const name = m.opt("name");
  if (name) {
    const v = name.scalar();
    if (typeof v !== "string" || !IFNAME.test(v) || v === "." || v === "..") {
      name.expected("an interface name of 1 to 15 characters without spaces, / or :");
    }
    dev.name = v as string;
  }
  const mtu = m.opt("mtu");
  if (mtu) dev.mtu = mtu.int(576, 65535);
  return dev;
}

/** Reads `X` (a path) or `X_pem` (inline PEM); null when neither is given. */
function readPem(m: MapView, key: string): PemSource | null {
  const file = m.opt(key);
  const inline = m.opt(`${key}_pem`);
  if (file && inline) inline.fail(`expected either ${key} or ${key}_pem, not both`);
  if (file) return { kind: "file", path: file.filePath() };
  if (inline) {
    const pem = inline.string("PEM text");
    if (!pem.includes("-----BEGIN ")) inline.expected("PEM text (-----BEGIN …)");
    return { kind: "inline", pem };
  }
  return null;
}

function requirePem(m: MapView, key: string): PemSource {
  const src = readPem(m, key);
  if (!src) m.missing(key);
  return src;
}

export function readPki(parent: MapView): PkiConfig {
  const m = parent.req("pki").map(PKI_KEYS);
  const pki: PkiConfig = {
    ca: requirePem(m, "ca"),
    cert: requirePem(m, "cert"),
    key: requirePem(m, "key"),
    crl: readPem(m, "crl"),
    tlsCrypt: readPem(m, "tls_crypt"),
    tlsAuth: null,
  };
  const ta = m.opt("tls_auth");
  if (ta) {
    if (pki.tlsCrypt) ta.fail("expected either tls_crypt or tls_auth, not both", ta.keyLine);
    pki.tlsAuth = readTlsAuth(ta);
  }
  return pki;
}

function readTlsAuth(f: Field): TlsAuthConfig {
  const m = f.map(TLS_AUTH_KEYS);
  const dir = m.opt("direction");
  const digest = m.opt("digest");
  return {
    key: requirePem(m, "key"),
    direction: dir ? dir.oneOf([0, 1] as const) : null,
    digest: digest ? digest.oneOf(TLS_AUTH_DIGESTS) : DEFAULTS.tlsAuthDigest,
  };
}

export function readData(parent: MapView): DataConfig {
  const data: DataConfig = {
    ciphers: [...DEFAULTS.ciphers],
    renegSeconds: DEFAULTS.renegSeconds,
    renegBytes: DEFAULTS.renegBytes,
    transitionWindow: DEFAULTS.transitionWindow,
    replayWindow: DEFAULTS.replayWindow,
  };
  const f = parent.opt("data");
  if (!f) return data;
  const m = f.map(DATA_KEYS);
  const ciphers = m.opt("ciphers");
  if (ciphers) {
    const list: CipherName[] = readEnumList(ciphers, CIPHERS);
    if (list.length === 0) ciphers.expected("a non-empty list of ciphers");
    data.ciphers = list;
  }
  const reneg = m.opt("reneg_seconds");
  if (reneg) data.renegSeconds = reneg.int(0, 2 ** 31 - 1, "a whole number of seconds (0 = never)");
  const bytes = m.opt("reneg_bytes");
  if (bytes) data.renegBytes = bytes.int(0, Number.MAX_SAFE_INTEGER, "a whole number of bytes (0 = off)");
  const tran = m.opt("transition_window");
  if (tran) data.transitionWindow = tran.int(1, 2 ** 31 - 1, "a whole number of seconds (at least 1)");
  const win = m.opt("replay_window");
  if (win) data.replayWindow = win.int(1, 65536);
  return data;
}

/** The keepalive section, or null when absent and `required` is false. */
export function readKeepalive(parent: MapView, required: boolean): KeepaliveConfig | null {
  const f = parent.opt("keepalive");
  if (!f && !required) return null;
  const ka: KeepaliveConfig = { interval: DEFAULTS.keepaliveInterval, timeout: DEFAULTS.keepaliveTimeout };
  if (!f) return ka;
  const m = f.map(KEEPALIVE_KEYS);
  const interval = m.opt("interval");
  if (interval) ka.interval = readSeconds(interval);
  const timeout = m.opt("timeout");
  if (timeout) ka.timeout = readSeconds(timeout);
  if (ka.timeout < 2 * ka.interval) {
    const blame = timeout ?? interval!;
    blame.fail(
      `expected timeout at least twice interval (${ka.interval} s → ${2 * ka.interval} s), got ${ka.timeout}`,
    );
  }
  return ka;
}

export function readLog(parent: MapView): LogConfig {
  const f = parent.opt("log");
  if (!f) return { level: DEFAULTS.logLevel };
  const level = f.map(LOG_KEYS).opt("level");
  return { level: level ? level.oneOf(LOG_LEVELS) : DEFAULTS.logLevel };
}

const LISTEN_WHAT = "HOST:PORT on a loopback address or a unix socket path starting with / or ./";

function isLoopbackHost(host: string): boolean {
  if (host === "localhost") return true;
  const ip = parseIp(host);
  return ip !== null && isLoopback(ip);
}

export function readManagement(parent: MapView, server = false): ManagementConfig | null {
  const f = parent.opt("management");
  if (!f) return null;
  const m = f.map(MANAGEMENT_KEYS);
  const passwordFile = m.opt("password_file");
  const hold = m.opt("hold");
  if (hold && !server && hold.bool()) {
    hold.fail("expected false: hold is a server option (--management-hold)");
  }
  const clientAuth = m.opt("client_auth");
  if (clientAuth && !server) clientAuth.fail("expected no client_auth in a client config (a server option)");
  return {
    listen: parseManagementListen(m.req("listen")),
    passwordFile: passwordFile ? passwordFile.filePath() : null,
    clientAuth: clientAuth ? clientAuth.bool() : false,
    hold: hold ? hold.bool() : false,
  };
}

function parseManagementListen(f: Field): ManagementListen {
  const v = f.scalar();
  if (typeof v !== "string") f.expected(LISTEN_WHAT);
  if (v.startsWith("/") || v.startsWith("./") || v.startsWith("../")) {
    return { kind: "unix", path: f.src.resolvePath(v) };
  }
  const m = /^\[([^\]]+)\]:([0-9]+)$/.exec(v) ?? /^([^:\[\]]+):([0-9]+)$/.exec(v);
  if (!m) f.expected(LISTEN_WHAT);
  const [, host, portText] = m;
  const port = Number(portText);
  if (port < 1 || port > 65535) {
    f.fail(`expected a port from 1 to 65535 in ${LISTEN_WHAT}, got ${JSON.stringify(v)}`);
  }
  if (!isLoopbackHost(host)) {
    f.fail(`expected a loopback address (127.0.0.0/8, ::1 or localhost), got ${JSON.stringify(v)}`);
  }
  const ip = parseIp(host);
  return { kind: "tcp", host: ip ? ip.text : host, port };
}

export function emptyPush(): PushConfig {
  return { routes: [], routes6: [], redirectGateway: [], dns: [], domain: null };
}

export function readPush(parent: MapView): PushConfig {
  const f = parent.opt("push");
  if (!f) return emptyPush();
  const m = f.map(PUSH_KEYS);
  const redirect = m.opt("redirect_gateway");
  const dns = m.opt("dns");
  const domain = m.opt("domain");
  return {
    routes: readPrefixList(m, "routes", 4),
    routes6: readPrefixList(m, "routes6", 6),
    redirectGateway: redirect ? readEnumList(redirect, REDIRECT_FLAGS) : [],
    dns: dns ? dns.list().map((d) => readAddress(d)) : [],
    domain: domain ? readDomain(domain) : null,
  };
}

/** `compat: { compress: none | lzo-no | stub | stub-v2 }` (server.compat, or a client's compat). */
export function readCompat(m: MapView): CompatConfig {
  const f = m.opt("compat");
  if (!f) return { compress: "none" };
  const compress = f.map(COMPAT_KEYS).opt("compress");
  return { compress: compress ? compress.oneOf(COMPRESS_FRAMINGS) : "none" };
}
