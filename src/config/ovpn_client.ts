/**
 * Reads an OpenVPN client profile (.ovpn/.conf) into a ClientConfig, so that
 * `tsvpn --client --config alice.ovpn` works with profiles made for stock
 * OpenVPN. Options without a tsvpn equivalent are listed in `ignored` with
 * their line numbers; options tsvpn cannot honour safely are errors.
 */

import { dirname } from "node:path";
import { parseIp } from "../addr/ip.ts";
import { ConfigError } from "./config_error.ts";
import { type ClientProfile, emptyProfile, readClientOption } from "./ovpn_client_options.ts";
import { type IgnoredOption, lexOvpn, type OvpnDirective } from "./ovpn_lexer.ts";
import { OvpnContext, ovpnDev, ovpnProto, type PemCollector } from "./ovpn_options.ts";
import {
  type ClientConfig,
  DEFAULTS,
  type DevType,
  type KeepaliveConfig,
  type PkiConfig,
  type Proto,
  type Remote,
} from "./schema.ts";
import { isHostName } from "./values.ts";

export interface OvpnClientResult {
  config: ClientConfig;
  /** Options that were not translated, in file order. */
  ignored: IgnoredOption[];
}

export interface OvpnParseOptions {
  /** Directory relative file names resolve against; default: the directory part of fileName. */
  baseDir?: string;
}

/** Translates an OpenVPN client profile. Throws ConfigError (file:line: option: …) on what it cannot accept. */
export function parseOvpnClient(
  text: string,
  fileName: string,
  options: OvpnParseOptions = {},
): OvpnClientResult {
  const ctx: OvpnContext = new OvpnContext(fileName, options.baseDir ?? dirname(fileName));
  const directives = lexOvpn(text, fileName);
  const p = emptyProfile();
  for (const d of directives) readClientOption(p, ctx, d);

  const remotes = p.remotes.map((d) => readRemote(ctx, d, p.defaultPort, p.proto));
  if (remotes.length === 0) throw missing(fileName, "remote", "remote HOST [PORT]");
  const dev = p.dev
    ? ovpnDev(ctx, p.dev, p.devType)
    : { type: (p.devType === "tap" ? "tap" : "tun") as DevType, name: null };
  const pki = profilePki(p, ctx, fileName);
  const ciphers = p.ciphers ?? [...DEFAULTS.ciphers];
  if (p.legacyCipher && !ciphers.includes(p.legacyCipher)) ciphers.push(p.legacyCipher);
  const keepalive = profileKeepalive(p, ctx, directives);

  const config: ClientConfig = {
    mode: "client",
    remotes,
    remoteRandom: p.remoteRandom,
    proto: p.proto,
    dev: { type: dev.type, name: dev.name ?? DEFAULTS.devName, mtu: p.mtu },
    pki,
    serverName: p.serverName,
    data: {
      ciphers,
      renegSeconds: p.renegSeconds,
      renegBytes: p.renegBytes,
      transitionWindow: p.transitionWindow,
      replayWindow: p.replayWindow,
    },
    keepalive,
    log: { level: p.level },
    pull: p.pull,
    routes: p.routes,
    routes6: p.routes6,
    redirectGateway: p.redirectGateway,
    scripts: {
      up: scriptPath(ctx, p.scripts.up, p.scriptSecurity),
      down: scriptPath(ctx, p.scripts.down, p.scriptSecurity),
    },
    reconnect: p.reconnect,
    management: p.management,
    mssfix: p.mssfix,
    deadPeerTimeout: DEFAULTS.deadPeerTimeout,
    stateDir: DEFAULTS.clientStateDir,
    compat: { compress: p.compress },
    auth: p.userPassFile ? { userPassFile: p.userPassFile } : null,
  };
  ctx.ignored.sort((a, b) => a.line - b.line);
  return { config, ignored: ctx.ignored };
}

/** ca, cert and key (required), the CRL, and tls-crypt or tls-auth (not both). */
function profilePki(p: ClientProfile, ctx: OvpnContext, fileName: string): PkiConfig {
  const ca = requirePem(p.pems, fileName, "ca");
  const cert = requirePem(p.pems, fileName, "cert");
  const key = requirePem(p.pems, fileName, "key");
  const tlsCrypt = p.pems.get("tls-crypt");
  const tlsAuth = p.pems.get("tls-auth");
  if (tlsCrypt && tlsAuth) {
    const later = tlsCrypt.d.line > tlsAuth.d.line ? tlsCrypt.d : tlsAuth.d;
    ctx.fail(later, "expected either tls-crypt or tls-auth, not both");
  }
  return {
    ca: ca.src,
    cert: cert.src,
    key: key.src,
    crl: p.crl,
    tlsCrypt: tlsCrypt ? tlsCrypt.src : null,
    tlsAuth: tlsAuth
      ? { key: tlsAuth.src, direction: tlsAuth.direction ?? p.keyDirection, digest: p.digest }
      : null,
  };
}

/** keepalive / ping / ping-restart, or null when none is given (the server's push decides). */
function profileKeepalive(
  p: ClientProfile,
  ctx: OvpnContext,
  directives: OvpnDirective[],
): KeepaliveConfig | null {
  if (p.ping === null && p.pingRestart === null) return null;
  const keepalive = {
    interval: p.ping ?? DEFAULTS.keepaliveInterval,
    timeout: p.pingRestart ?? DEFAULTS.keepaliveTimeout,
  };
  if (keepalive.timeout < 2 * keepalive.interval) {
    const d = p.pingRestartDirective ?? directives.find((x) => x.name === "ping")!;
    ctx.fail(
      d,
      `expected a restart timeout at least twice the ping interval (${2 * keepalive.interval} s)`,
    );
  }
  return keepalive;
}

function missing(file: string, option: string, form: string): ConfigError {
  return new ConfigError(file, 0, option, `required option is missing (${form})`);
}

function requirePem(pems: PemCollector, file: string, name: string) {
  const found = pems.get(name);
  if (!found) throw missing(file, name, `${name} FILE or an inline <${name}> block`);
  return found;
}

function readRemote(ctx: OvpnContext, d: OvpnDirective, defaultPort: number, proto: Proto): Remote {
  const host = ctx.arg(d, 0, "a host name or IP address");
  const ip = parseIp(host);
  if (!ip && !isHostName(host)) {
    ctx.fail(d, `expected a host name or IP address, got ${JSON.stringify(host)}`);
  }
  const port = d.args[1] === undefined ? defaultPort : ctx.int(d, 1, 1, 65535, "a port from 1 to 65535");
  const p = d.args[2] === undefined ? proto : ovpnProto(ctx, d, d.args[2], false);
  return { host: ip ? ip.text : host, port, proto: p };
}

function scriptPath(ctx: OvpnContext, d: OvpnDirective | null, scriptSecurity: number): string | null {
  if (!d) return null;
  const cmd = ctx.arg(d, 0, "a script");
  if (scriptSecurity < 2) {
    ctx.ignore(d, "scripts run only with script-security 2 or higher");
    return null;
  }
  if (/\s/.test(cmd.trim()) || d.args.length > 1) {
    ctx.ignore(d, "script arguments are not supported; give a single executable");
    return null;
  }
  return ctx.path(cmd);
}
