/**
 * Reads an OpenVPN client profile (.ovpn/.conf) into a ClientConfig, so that
 * `tsvpn --client --config alice.ovpn` works with profiles made for stock
 * OpenVPN. Options without a tsvpn equivalent are listed in `ignored` with
 * their line numbers; options tsvpn cannot honour safely are errors.
 */

import { dirname } from "node:path";
import { defaultPull } from "./client_config.ts";
import { ConfigError } from "./config_error.ts";
import { parseIp } from "../addr/ip.ts";
import type { IpPrefix } from "../addr/prefix.ts";
import { type IgnoredOption, lexOvpn, type OvpnDirective } from "./ovpn_lexer.ts";
import {
  ALWAYS_ON,
  ovpnCipher,
  ovpnCiphers,
  OvpnContext,
  ovpnDev,
  ovpnDigest,
  ovpnManagement,
  ovpnProto,
  ovpnRedirectFlags,
  ovpnRoute,
  ovpnRoute6,
  PemCollector,
  verbToLevel,
} from "./ovpn_options.ts";
import {
  type CipherName,
  type ClientConfig,
  DEFAULTS,
  type DevType,
  type KeepaliveConfig,
  type ManagementConfig,
  type PemSource,
  type Proto,
  PULL_FILTER_ACTIONS,
  type PullConfig,
  type PullFilterAction,
  type PullFilterRule,
  type ReconnectConfig,
  type RedirectFlag,
  type Remote,
  type TlsAuthDigest,
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

const PEM_OPTIONS = ["ca", "cert", "key", "tls-crypt", "tls-auth"] as const;

/** Translates an OpenVPN client profile. Throws ConfigError (file:line: option: …) on what it cannot accept. */
export function parseOvpnClient(
  text: string,
  fileName: string,
  options: OvpnParseOptions = {},
): OvpnClientResult {
  const ctx: OvpnContext = new OvpnContext(fileName, options.baseDir ?? dirname(fileName));
  const directives = lexOvpn(text, fileName);

  const remoteDirectives: OvpnDirective[] = [];
  let defaultPort: number = DEFAULTS.port;
  let proto: Proto = DEFAULTS.proto;
  let remoteRandom = false;
  let devDirective: OvpnDirective | null = null;
  let devType: string | null = null;
  let mtu: number = DEFAULTS.mtu;
  const pems = new PemCollector();
  let crl: PemSource | null = null;
  let keyDirection: 0 | 1 | null = null;
  let serverName: string | null = null;
  let ciphers: CipherName[] | null = null;
  let legacyCipher: CipherName | null = null;
  let digest: TlsAuthDigest = DEFAULTS.tlsAuthDigest;
  let level = DEFAULTS.logLevel;
  let ping: number | null = null;
  let pingRestart: number | null = null;
  let pingRestartDirective: OvpnDirective | null = null;
  let renegSeconds: number = DEFAULTS.renegSeconds;
  let renegBytes: number = DEFAULTS.renegBytes;
  let transitionWindow: number = DEFAULTS.transitionWindow;
  let replayWindow: number = DEFAULTS.replayWindow;
  let reconnect: ReconnectConfig = {
    initialDelay: DEFAULTS.reconnectInitialDelay,
    maxDelay: DEFAULTS.reconnectMaxDelay,
  };
  const routes: IpPrefix[] = [];
  const routes6: IpPrefix[] = [];
  let redirectGateway: RedirectFlag[] = [];
  const pull: PullConfig = defaultPull();
  let scriptSecurity = 1;
  const scripts: { up: OvpnDirective | null; down: OvpnDirective | null } = { up: null, down: null };
  let management: ManagementConfig | null = null;

  for (const d of directives) {
    if (pems.take(ctx, d, PEM_OPTIONS)) continue;
    switch (d.name) {
      case "tls-server":
      case "server":
      case "server-bridge":
        ctx.fail(d, "expected a client profile, got a server option");
        break;
      case "mode":
        if (d.args[0] !== "p2p") ctx.fail(d, "expected a client profile, got a server option");
        break;
      case "remote":
        remoteDirectives.push(d);
        break;
      case "port":
      case "rport":
        defaultPort = ctx.int(d, 0, 1, 65535, "a port from 1 to 65535");
        break;
      case "lport":
      case "bind":
        ctx.ignore(d, "tsvpn clients use an ephemeral local port");
        break;
      case "proto":
        proto = ovpnProto(ctx, d, ctx.arg(d, 0, "udp or tcp"), false);
        break;
      case "topology":
        ctx.ignore(d, "the client uses the topology the server pushes");
        break;
      case "remote-random":
        remoteRandom = true;
        break;
      case "dev":
        devDirective = d;
        break;
      case "dev-type":
        devType = ctx.arg(d, 0, "tun or tap");
        break;
      case "tun-mtu":
        mtu = ctx.int(d, 0, 576, 65535, "an MTU from 576 to 65535");
        break;
      case "remote-cert-tls":
      case "ns-cert-type":
        // tsvpn always requires the server certificate to be a server (serverAuth) certificate.
        if (d.args[0] !== "server") ctx.fail(d, `expected server, got ${JSON.stringify(d.args[0] ?? "")}`);
        break;
      case "verify-x509-name":
        serverName = verifyName(ctx, d) ?? serverName;
        break;
      case "data-ciphers":
      case "ncp-ciphers":
        ciphers = ovpnCiphers(ctx, d);
        break;
      case "cipher":
        legacyCipher = ovpnCipher(ctx, d) ?? legacyCipher;
        break;
      case "auth":
        digest = ovpnDigest(ctx, d) ?? digest;
        break;
      case "crl-verify":
        if (d.args[1] === "dir") ctx.ignore(d, "CRL directories are not supported; give a CRL file");
        else if (d.inline !== null) crl = { kind: "inline", pem: d.inline };
        else crl = { kind: "file", path: ctx.path(ctx.arg(d, 0, "a CRL file")) };
        break;
      case "key-direction":
        keyDirection = ctx.int(d, 0, 0, 1, "0 or 1") as 0 | 1;
        break;
      case "redirect-gateway":
        redirectGateway = ovpnRedirectFlags(ctx, d, d.args);
        break;
      case "route-nopull":
        // OpenVPN's route-nopull drops pushed routes, redirect-gateway and DHCP/DNS options.
        pull.routes = false;
        pull.redirectGateway = false;
        pull.dns = "none";
        break;
      case "pull-filter":
        pull.filter.push(pullFilter(ctx, d));
        break;
      case "route":
        routes.push(ovpnRoute(ctx, d));
        if (d.args.length > 2) {
          ctx.ignore({ ...d, args: d.args.slice(2) }, "route gateway and metric are chosen by tsvpn");
        }
        break;
      case "route-ipv6":
        routes6.push(ovpnRoute6(ctx, d));
        break;
      case "script-security":
        scriptSecurity = ctx.int(d, 0, 0, 3, "0 to 3");
        break;
      case "up":
      case "down":
        scripts[d.name] = d;
        break;
      case "verb":
        level = verbToLevel(ctx.int(d, 0, 0, 11, "a verbosity from 0 to 11"));
        break;
      case "keepalive":
        ping = ctx.int(d, 0, 1, 2 ** 31 - 1, "a ping interval in seconds");
        pingRestart = ctx.int(d, 1, 1, 2 ** 31 - 1, "a restart timeout in seconds");
        pingRestartDirective = d;
        break;
      case "ping":
        ping = ctx.int(d, 0, 1, 2 ** 31 - 1, "a ping interval in seconds");
        break;
      case "ping-restart":
        pingRestart = ctx.int(d, 0, 1, 2 ** 31 - 1, "a restart timeout in seconds");
        pingRestartDirective = d;
        break;
      case "reneg-sec":
        renegSeconds = ctx.int(d, 0, 0, 2 ** 31 - 1, "a number of seconds");
        break;
      case "reneg-bytes":
        renegBytes = ctx.int(d, 0, 0, Number.MAX_SAFE_INTEGER, "a number of bytes");
        break;
      case "tran-window":
        transitionWindow = ctx.int(d, 0, 1, 2 ** 31 - 1, "a number of seconds (at least 1)");
        break;
      case "replay-window":
        replayWindow = ctx.int(d, 0, 1, 65536, "a window from 1 to 65536");
        break;
      case "connect-retry": {
        const initial = ctx.int(d, 0, 1, 2 ** 31 - 1, "a retry delay in seconds");
        const max = d.args[1] === undefined
          ? 300
          : ctx.int(d, 1, initial, 2 ** 31 - 1, "a maximum delay ≥ the first");
        reconnect = { initialDelay: initial, maxDelay: max };
        break;
      }
      case "management":
        management = ovpnManagement(ctx, d);
        break;
      default:
        if (!ALWAYS_ON.has(d.name)) ctx.ignore(d);
    }
  }

  const remotes = remoteDirectives.map((d) => readRemote(ctx, d, defaultPort, proto));
  if (remotes.length === 0) throw missing(fileName, "remote", "remote HOST [PORT]");

  const dev = devDirective
    ? ovpnDev(ctx, devDirective, devType)
    : { type: (devType === "tap" ? "tap" : "tun") as DevType, name: null };

  const ca = requirePem(pems, fileName, "ca");
  const cert = requirePem(pems, fileName, "cert");
  const key = requirePem(pems, fileName, "key");
  const tlsCrypt = pems.get("tls-crypt");
  const tlsAuth = pems.get("tls-auth");
  if (tlsCrypt && tlsAuth) {
    const later = tlsCrypt.d.line > tlsAuth.d.line ? tlsCrypt.d : tlsAuth.d;
    ctx.fail(later, "expected either tls-crypt or tls-auth, not both");
  }

  const dataCiphers = ciphers ?? [...DEFAULTS.ciphers];
  if (legacyCipher && !dataCiphers.includes(legacyCipher)) dataCiphers.push(legacyCipher);

  let keepalive: KeepaliveConfig | null = null;
  if (ping !== null || pingRestart !== null) {
    keepalive = {
      interval: ping ?? DEFAULTS.keepaliveInterval,
      timeout: pingRestart ?? DEFAULTS.keepaliveTimeout,
    };
    if (keepalive.timeout < 2 * keepalive.interval) {
      const d = pingRestartDirective ?? directives.find((x) => x.name === "ping")!;
      ctx.fail(
        d,
        `expected a restart timeout at least twice the ping interval (${2 * keepalive.interval} s)`,
      );
    }
  }

  const config: ClientConfig = {
    mode: "client",
    remotes,
    remoteRandom,
    proto,
    dev: { type: dev.type, name: dev.name ?? DEFAULTS.devName, mtu },
    pki: {
      ca: ca.src,
      cert: cert.src,
      key: key.src,
      crl,
      tlsCrypt: tlsCrypt ? tlsCrypt.src : null,
      tlsAuth: tlsAuth ? { key: tlsAuth.src, direction: tlsAuth.direction ?? keyDirection, digest } : null,
    },
    serverName,
    data: { ciphers: dataCiphers, renegSeconds, renegBytes, transitionWindow, replayWindow },
    keepalive,
    log: { level },
    pull,
    routes,
    routes6,
    redirectGateway,
    scripts: {
      up: scriptPath(ctx, scripts.up, scriptSecurity),
      down: scriptPath(ctx, scripts.down, scriptSecurity),
    },
    reconnect,
    management,
  };
  ctx.ignored.sort((a, b) => a.line - b.line);
  return { config, ignored: ctx.ignored };
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

/** verify-x509-name NAME [name|subject|name-prefix] → the name the server certificate must carry. */
function verifyName(ctx: OvpnContext, d: OvpnDirective): string | null {
  const value = ctx.arg(d, 0, "a name");
  const type = d.args[1] ?? "subject";
  if (type === "name") return value;
  if (type === "subject") {
    const cn = /(?:^|[,/]\s*)CN\s*=\s*([^,/]+)/.exec(value);
    if (cn) return cn[1].trim();
    ctx.ignore(d, "only the CN of a subject can be checked");
    return null;
  }
  if (type === "name-prefix") {
    ctx.ignore(d, "name prefixes are not supported; give the full name");
    return null;
  }
  ctx.fail(d, `expected name, subject or name-prefix, got ${JSON.stringify(type)}`);
}

/** `pull-filter accept|ignore|reject TEXT` → one pull.filter rule, kept in file order. */
function pullFilter(ctx: OvpnContext, d: OvpnDirective): PullFilterRule {
  const action = ctx.arg(d, 0, "accept, ignore or reject");
  if (!(PULL_FILTER_ACTIONS as readonly string[]).includes(action)) {
    ctx.fail(d, `expected accept, ignore or reject, got ${JSON.stringify(action)}`);
  }
  const text = ctx.arg(d, 1, "the text of the options to filter");
  if (text.trim() === "") ctx.fail(d, "expected the text of the options to filter, got an empty text");
  if (d.args.length > 2) ctx.fail(d, "expected one text after the action (quote text that contains spaces)");
  return { action: action as PullFilterAction, text };
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
