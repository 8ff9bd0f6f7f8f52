/**
 * One client-profile directive at a time into a `ClientProfile`, by concern:
 * remotes and device, certificates and crypto, routes and pull policy, scripts,
 * keepalive, log and management. `ovpn_client.ts` builds the ClientConfig from
 * the profile once every line is read.
 */

import type { IpPrefix } from "../addr/prefix.ts";
import type { LogLevel } from "../log/log.ts";
import { defaultPull } from "./client_config.ts";
import { optionText, type OvpnDirective } from "./ovpn_lexer.ts";
import { type CompressFraming, framingOfOption } from "../data/framing.ts";
import {
  ALWAYS_ON,
  type DevDirectives,
  ovpnCipher,
  ovpnCiphers,
  type OvpnContext,
  ovpnDigest,
  ovpnManagement,
  ovpnMtu,
  ovpnProto,
  ovpnRedirectFlags,
  ovpnRoute,
  ovpnRoute6,
  PemCollector,
  takeDevDirective,
  verbToLevel,
} from "./ovpn_options.ts";
import {
  type CipherName,
  DEFAULTS,
  type ManagementConfig,
  type PemSource,
  type Proto,
  PULL_FILTER_ACTIONS,
  type PullConfig,
  type PullFilterAction,
  type PullFilterRule,
  type ReconnectConfig,
  type RedirectFlag,
  type TlsAuthDigest,
} from "./schema.ts";

/** What a profile says so far; directives that depend on others are kept to be settled at the end. */
export interface ClientProfile extends DevDirectives {
  readonly remotes: OvpnDirective[];
  defaultPort: number;
  proto: Proto;
  remoteRandom: boolean;
  mtu: number;
  mssfix: number | "auto";
  readonly pems: PemCollector;
  crl: PemSource | null;
  keyDirection: 0 | 1 | null;
  serverName: string | null;
  ciphers: CipherName[] | null;
  legacyCipher: CipherName | null;
  digest: TlsAuthDigest;
  level: LogLevel;
  ping: number | null;
  pingRestart: number | null;
  /** The keepalive or ping-restart line, blamed when the timeout is too short. */
  pingRestartDirective: OvpnDirective | null;
  renegSeconds: number;
  renegBytes: number;
  transitionWindow: number;
  replayWindow: number;
  reconnect: ReconnectConfig;
  readonly routes: IpPrefix[];
  readonly routes6: IpPrefix[];
  redirectGateway: RedirectFlag[];
  readonly pull: PullConfig;
  scriptSecurity: number;
  readonly scripts: { up: OvpnDirective | null; down: OvpnDirective | null };
  management: ManagementConfig | null;
  /** comp-lzo no / compress [stub|stub-v2]: the framing the server expects. */
  compress: CompressFraming;
  /** `auth-user-pass FILE`: the username/password file; null without the option. */
  userPassFile: string | null;
}

/** A profile before its first line: OpenVPN's and tsvpn's defaults. */
export function emptyProfile(): ClientProfile {
  return {
    remotes: [],
    defaultPort: DEFAULTS.port,
    proto: DEFAULTS.proto,
    remoteRandom: false,
    dev: null,
    devType: null,
    mtu: DEFAULTS.mtu,
    mssfix: "auto",
    pems: new PemCollector(),
    crl: null,
    keyDirection: null,
    serverName: null,
    ciphers: null,
    legacyCipher: null,
    digest: DEFAULTS.tlsAuthDigest,
    level: DEFAULTS.logLevel,
    ping: null,
    pingRestart: null,
    pingRestartDirective: null,
    renegSeconds: DEFAULTS.renegSeconds,
    renegBytes: DEFAULTS.renegBytes,
    transitionWindow: DEFAULTS.transitionWindow,
    replayWindow: DEFAULTS.replayWindow,
    reconnect: { initialDelay: DEFAULTS.reconnectInitialDelay, maxDelay: DEFAULTS.reconnectMaxDelay },
    routes: [],
    routes6: [],
    redirectGateway: [],
    pull: defaultPull(),
    scriptSecurity: 1,
    scripts: { up: null, down: null },
    management: null,
    compress: "none",
    userPassFile: null,
  };
}

const PEM_OPTIONS = ["ca", "cert", "key", "tls-crypt", "tls-auth"] as const;

const MAX_INT = 2 ** 31 - 1;

/** Reads one directive into `p`; an option tsvpn does not know is reported as ignored. */
export function readClientOption(p: ClientProfile, ctx: OvpnContext, d: OvpnDirective): void {
  if (p.pems.take(ctx, d, PEM_OPTIONS)) return;
  const handled = readTransport(p, ctx, d) || readCrypto(p, ctx, d) || readRouting(p, ctx, d) ||
    readSession(p, ctx, d);
  if (!handled && !ALWAYS_ON.has(d.name)) ctx.ignore(d);
}

/** The mode, remotes, ports, protocol and device. */
function readTransport(p: ClientProfile, ctx: OvpnContext, d: OvpnDirective): boolean {
  switch (d.name) {
    case "tls-server":
    case "server":
    case "server-bridge":
      ctx.fail(d, "expected a client profile, got a server option");
      break;
    case "mode":
      if (d.args[0] !== "p2p") ctx.fail(d, "expected a client profile, got a server option");
      return true;
    case "remote":
      p.remotes.push(d);
      return true;
    case "port":
    case "rport":
      p.defaultPort = ctx.int(d, 0, 1, 65535, "a port from 1 to 65535");
      return true;
    case "lport":
    case "bind":
      ctx.ignore(d, "tsvpn clients use an ephemeral local port");
      return true;
    case "proto":
      p.proto = ovpnProto(ctx, d, ctx.arg(d, 0, "udp or tcp"), false);
      return true;
    case "topology":
      ctx.ignore(d, "the client uses the topology the server pushes");
      return true;
    case "remote-random":
      p.remoteRandom = true;
      return true;
    case "tun-mtu":
      p.mtu = ovpnMtu(ctx, d);
      return true;
    case "mssfix":
      // OpenVPN sizes the outer datagram; tsvpn's "auto" does the same from the uplink's MTU.
      if (d.args[0] === "0") p.mssfix = 0;
      else ctx.ignore(d, "tsvpn clamps TCP MSS to fit the uplink's MTU (mssfix: auto)");
      return true;
  }
  return takeDevDirective(p, ctx, d);
}

/** The server certificate's checks, the CRL, tls-auth and the data channel. */
function readCrypto(p: ClientProfile, ctx: OvpnContext, d: OvpnDirective): boolean {
  switch (d.name) {
    case "remote-cert-tls":
    case "ns-cert-type":
      // tsvpn always requires the server certificate to be a server (serverAuth) certificate.
      if (d.args[0] !== "server") ctx.fail(d, `expected server, got ${JSON.stringify(d.args[0] ?? "")}`);
      return true;
    case "verify-x509-name":
      p.serverName = verifyName(ctx, d) ?? p.serverName;
      return true;
    case "crl-verify":
      if (d.args[1] === "dir") ctx.ignore(d, "CRL directories are not supported; give a CRL file");
      else if (d.inline !== null) p.crl = { kind: "inline", pem: d.inline };
      else p.crl = { kind: "file", path: ctx.path(ctx.arg(d, 0, "a CRL file")) };
      return true;
    case "key-direction":
      p.keyDirection = ctx.int(d, 0, 0, 1, "0 or 1") as 0 | 1;
      return true;
    case "auth":
      p.digest = ovpnDigest(ctx, d) ?? p.digest;
      return true;
  }
  return readDataChannel(p, ctx, d);
}

function readDataChannel(p: ClientProfile, ctx: OvpnContext, d: OvpnDirective): boolean {
  switch (d.name) {
    case "data-ciphers":
    case "ncp-ciphers":
      p.ciphers = ovpnCiphers(ctx, d);
      return true;
    case "cipher":
      p.legacyCipher = ovpnCipher(ctx, d) ?? p.legacyCipher;
      return true;
    case "reneg-sec":
      p.renegSeconds = ctx.int(d, 0, 0, MAX_INT, "a number of seconds");
      return true;
    case "reneg-bytes":
      p.renegBytes = ctx.int(d, 0, 0, Number.MAX_SAFE_INTEGER, "a number of bytes");
      return true;
    case "tran-window":
      p.transitionWindow = ctx.int(d, 0, 1, MAX_INT, "a number of seconds (at least 1)");
      return true;
    case "replay-window":
      p.replayWindow = ctx.int(d, 0, 1, 65536, "a window from 1 to 65536");
      return true;
  }
  return false;
}

/** Local routes, redirect-gateway and what is pulled from the server. */
function readRouting(p: ClientProfile, ctx: OvpnContext, d: OvpnDirective): boolean {
  switch (d.name) {
    case "redirect-gateway":
      p.redirectGateway = ovpnRedirectFlags(ctx, d, d.args);
      return true;
    case "route-nopull":
      // OpenVPN's route-nopull drops pushed routes, redirect-gateway and DHCP/DNS options.
      p.pull.routes = false;
      p.pull.redirectGateway = false;
      p.pull.dns = "none";
      return true;
    case "pull-filter":
      p.pull.filter.push(pullFilter(ctx, d));
      return true;
    case "route":
      p.routes.push(ovpnRoute(ctx, d));
      if (d.args.length > 2) {
        ctx.ignore({ ...d, args: d.args.slice(2) }, "route gateway and metric are chosen by tsvpn");
      }
      return true;
    case "route-ipv6":
      p.routes6.push(ovpnRoute6(ctx, d));
      return true;
  }
  return false;
}

/** Scripts, log level, keepalive, reconnect delays and management. */
function readSession(p: ClientProfile, ctx: OvpnContext, d: OvpnDirective): boolean {
  switch (d.name) {
    case "script-security":
      p.scriptSecurity = ctx.int(d, 0, 0, 3, "0 to 3");
      return true;
    case "up":
    case "down":
      p.scripts[d.name] = d;
      return true;
    case "verb":
      p.level = verbToLevel(ctx.int(d, 0, 0, 11, "a verbosity from 0 to 11"));
      return true;
    case "keepalive":
      p.ping = ctx.int(d, 0, 1, MAX_INT, "a ping interval in seconds");
      p.pingRestart = ctx.int(d, 1, 1, MAX_INT, "a restart timeout in seconds");
      p.pingRestartDirective = d;
      return true;
    case "ping":
      p.ping = ctx.int(d, 0, 1, MAX_INT, "a ping interval in seconds");
      return true;
    case "ping-restart":
      p.pingRestart = ctx.int(d, 0, 1, MAX_INT, "a restart timeout in seconds");
      p.pingRestartDirective = d;
      return true;
    case "connect-retry": {
      const initial = ctx.int(d, 0, 1, MAX_INT, "a retry delay in seconds");
      const max = d.args[1] === undefined
        ? 300
        : ctx.int(d, 1, initial, MAX_INT, "a maximum delay ≥ the first");
      p.reconnect = { initialDelay: initial, maxDelay: max };
      return true;
    }
    case "management":
      p.management = ovpnManagement(ctx, d);
      return true;
    case "comp-lzo":
    case "compress": {
      // The framing only: a profile asking for real compression is reported (IGNORE_REASONS).
      const framing = framingOfOption(optionText(d));
      if (framing) p.compress = framing;
      else ctx.ignore(d);
      return true;
    }
    case "auth-user-pass":
      p.userPassFile = userPassFile(ctx, d);
      return true;
  }
  return false;
}

/** `auth-user-pass FILE` (username on the first line, password on the second); without FILE OpenVPN prompts. */
function userPassFile(ctx: OvpnContext, d: OvpnDirective): string {
  const file = d.args[0];
  if (file === undefined || file === "stdin") {
    ctx.fail(d, "expected a file with the username and password (tsvpn cannot prompt for them)");
  }
  return ctx.path(file);
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
