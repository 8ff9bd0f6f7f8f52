/**
 * One server.conf directive at a time into tsvpn YAML keys, by concern:
 * PEM material, transport and device, data-channel crypto, keepalive, log and
 * management, the address pool, routes and pushes. Options whose meaning
 * depends on others (dev, dev-type, topology, tls-auth, key-direction, auth,
 * cipher, client-config-dir) are kept in the translation and settled by
 * `ovpn_server.ts` once every line is read.
 */

import { netmaskToLength, parseCidr } from "../addr/prefix.ts";
import { ConfigError } from "./config_error.ts";
import { translatePush } from "./ovpn_ccd.ts";
import { optionText, type OvpnDirective } from "./ovpn_lexer.ts";
import { framingOfOption } from "../data/framing.ts";
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
  ovpnRoute,
  ovpnRoute6,
  takeDevDirective,
  verbToLevel,
} from "./ovpn_options.ts";
import type { YamlWriter } from "./yaml_emit.ts";
import { type PendingToken, translateAuthOption } from "./ovpn_server_auth.ts";

/** A translation in progress: the YAML written so far and the directives settled at the end. */
export interface ServerTranslation extends DevDirectives {
  readonly ctx: OvpnContext;
  readonly yaml: YamlWriter;
  /** The note naming the line a value came from ("server.conf:12 port 1194"). */
  readonly from: (d: OvpnDirective) => string;
  topology: OvpnDirective | null;
  ccd: OvpnDirective | null;
  /** Names of the client-config-dir files translated. */
  ccdNames: string[];
  /** ifconfig-pool-persist: its file is read once the pool and client-config-dir are known. */
  ipp: OvpnDirective | null;
  /** ifconfig-pool START END [NETMASK] and the server's own ifconfig (manual server mode), settled at the end. */
  ifconfigPool: OvpnDirective | null;
  ifconfig: OvpnDirective | null;
  keyDirection: 0 | 1 | null;
  tlsAuth: OvpnDirective | null;
  legacyCipher: { name: string; d: OvpnDirective } | null;
  digest: { name: string; d: OvpnDirective } | null;
  /** proto udp6/tcp6 was given. */
  proto6: boolean;
  /** auth-gen-token lines, settled once auth-user-pass-verify is known (ovpn_server_auth.ts). */
  authToken: PendingToken;
}

/** OpenVPN PEM options → their pki key (a file) or key_pem (an inline block). */
const PEM_KEYS: Record<string, string> = {
  ca: "ca",
  cert: "cert",
  key: "key",
  "crl-verify": "crl",
  "tls-crypt": "tls_crypt",
};

export const TOPOLOGIES = ["subnet", "net30", "p2p"];

const MAX_INT = 2 ** 31 - 1;

/** Translates one directive (or records it for later); an option tsvpn does not know is reported as ignored. */
export function translateServerOption(t: ServerTranslation, d: OvpnDirective): void {
  const handled = translatePem(t, d) || translateTransport(t, d) || translateCrypto(t, d) ||
    translateSession(t, d) || translatePool(t, d) || translateRouting(t, d) || translateScripts(t, d) ||
    translateCompression(t, d) || translateAuthOption(t, d, t.authToken);
  if (!handled && !ALWAYS_ON.has(d.name)) t.ctx.ignore(d);
}

function translatePem(t: ServerTranslation, d: OvpnDirective): boolean {
  if (!Object.hasOwn(PEM_KEYS, d.name)) return false;
  const key = `pki.${PEM_KEYS[d.name]}`;
  if (d.inline !== null) t.yaml.set(`${key}_pem`, { kind: "block", text: d.inline }, t.from(d));
  else if (d.name === "crl-verify" && d.args[1] === "dir") {
    t.ctx.ignore(d, "CRL directories are not supported");
  } else if (d.args[0] !== "[inline]") {
    t.yaml.set(key, { kind: "scalar", value: t.ctx.arg(d, 0, "a file name") }, t.from(d));
  }
  return true;
}

/** The mode, where the server listens, and its device. */
function translateTransport(t: ServerTranslation, d: OvpnDirective): boolean {
  const { ctx, yaml } = t;
  switch (d.name) {
    case "mode":
      if (d.args[0] !== "server") ctx.fail(d, `expected server, got ${JSON.stringify(d.args[0] ?? "")}`);
      return true;
    case "client":
    case "remote":
    case "tls-client":
      ctx.fail(d, "expected a server config, got a client option");
      break;
    case "rport":
      ctx.ignore(d, "the server answers each client on the client's own port");
      return true;
    case "port":
    case "lport":
      yaml.set(
        "listen.port",
        { kind: "scalar", value: ctx.int(d, 0, 1, 65535, "a port from 1 to 65535") },
        t.from(d),
      );
      return true;
    case "local": {
      const ip = parseCidr(`${ctx.arg(d, 0, "a local address")}/0`);
      if (ip) yaml.set("listen.host", { kind: "scalar", value: ip.address.text }, t.from(d));
      else ctx.ignore(d, "tsvpn listens on an IP address, not a host name");
      return true;
    }
    case "proto": {
      const v = ctx.arg(d, 0, "udp or tcp");
      yaml.set("listen.proto", { kind: "scalar", value: ovpnProto(ctx, d, v, true) }, t.from(d));
      t.proto6 = /6/.test(v);
      return true;
    }
    case "tun-mtu":
      yaml.set("dev.mtu", { kind: "scalar", value: ovpnMtu(ctx, d) }, t.from(d));
      return true;
  }
  return takeDevDirective(t, ctx, d);
}

/** tls-auth and the data channel: ciphers, renegotiation, replay window. */
function translateCrypto(t: ServerTranslation, d: OvpnDirective): boolean {
  const { ctx } = t;
  const setInt = (key: string, min: number, max: number, what: string) =>
    t.yaml.set(key, { kind: "scalar", value: ctx.int(d, 0, min, max, what) }, t.from(d));
  switch (d.name) {
    case "tls-auth":
      t.tlsAuth = d;
      return true;
    case "key-direction":
      t.keyDirection = ctx.int(d, 0, 0, 1, "0 or 1") as 0 | 1;
      return true;
    case "auth": {
      const name = ovpnDigest(ctx, d);
      if (name) t.digest = { name, d };
      return true;
    }
    case "data-ciphers":
    case "ncp-ciphers":
      t.yaml.set("data.ciphers", { kind: "list", items: ovpnCiphers(ctx, d) }, t.from(d));
      return true;
    case "cipher": {
      const c = ovpnCipher(ctx, d);
      if (c) t.legacyCipher = { name: c, d };
      return true;
    }
    case "reneg-sec":
      setInt("data.reneg_seconds", 0, MAX_INT, "a number of seconds");
      return true;
    case "reneg-bytes":
      setInt("data.reneg_bytes", 0, Number.MAX_SAFE_INTEGER, "a number of bytes");
      return true;
    case "tran-window":
      setInt("data.transition_window", 1, MAX_INT, "a number of seconds (at least 1)");
      return true;
    case "replay-window":
      setInt("data.replay_window", 1, 65536, "a window from 1 to 65536");
      return true;
  }
  return false;
}

/**
 * comp-lzo no / compress [stub|stub-v2] → server.compat.compress (the framing
 * older profiles expect; tsvpn pushes the option too). Real compression
 * (comp-lzo yes/adaptive, compress lz4/lz4-v2/lzo) has no translation.
 */
function translateCompression(t: ServerTranslation, d: OvpnDirective): boolean {
  if (d.name !== "comp-lzo" && d.name !== "compress") return false;
  const framing = framingOfOption(optionText(d));
  if (!framing) {
    t.ctx.ignore(
      d,
      "tsvpn never compresses; server.compat.compress (lzo-no, stub, stub-v2) gives clients the framing without compression",
    );
    return true;
  }
  t.yaml.set("server.compat.compress", { kind: "scalar", value: framing }, t.from(d));
  return true;
}

/** keepalive, verb, management and management-hold. */
function translateSession(t: ServerTranslation, d: OvpnDirective): boolean {
  const { ctx, yaml } = t;
  switch (d.name) {
    case "keepalive": {
      const interval = ctx.int(d, 0, 1, MAX_INT, "a ping interval in seconds");
      const timeout = ctx.int(d, 1, 1, MAX_INT, "a restart timeout in seconds");
      if (timeout < 2 * interval) {
        ctx.fail(d, `expected a timeout at least twice the interval (${2 * interval} s)`);
      }
      yaml.set("keepalive.interval", { kind: "scalar", value: interval }, t.from(d));
      yaml.set("keepalive.timeout", { kind: "scalar", value: timeout });
      return true;
    }
    case "verb":
      yaml.set("log.level", {
        kind: "scalar",
        value: verbToLevel(ctx.int(d, 0, 0, 11, "a verbosity from 0 to 11")),
      }, t.from(d));
      return true;
    case "management":
      translateManagement(t, d);
      return true;
    case "management-hold":
      // OpenVPN refuses it without --management; so does tsvpn (management.listen is required).
      yaml.set("management.hold", { kind: "scalar", value: true }, t.from(d));
      return true;
  }
  return false;
}

function translateManagement(t: ServerTranslation, d: OvpnDirective): void {
  const { ctx, yaml } = t;
  if (d.args[2] === "stdin") {
    ctx.ignore(d, "tsvpn cannot ask for the management password on stdin: give a password file");
    return;
  }
  try {
    const management = ovpnManagement(ctx, d);
    const listen = management.listen;
    let text: string;
    if (listen.kind === "unix") {
      const path = ctx.arg(d, 0, "a path");
      text = path.startsWith("/") ? path : `./${path}`;
    } else {text = listen.host.includes(":")
        ? `[${listen.host}]:${listen.port}`
        : `${listen.host}:${listen.port}`;}
    yaml.set("management.listen", { kind: "scalar", value: text }, t.from(d));
    if (management.passwordFile !== null) {
      yaml.set("management.password_file", { kind: "scalar", value: d.args[2] }, t.from(d));
    }
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    ctx.ignore(d, "tsvpn's management interface listens on loopback or a unix socket only");
  }
}

/** The address pool and the server's per-client limits and files. */
function translatePool(t: ServerTranslation, d: OvpnDirective): boolean {
  const { ctx, yaml } = t;
  const setTrue = (key: string) => yaml.set(key, { kind: "scalar", value: true }, t.from(d));
  switch (d.name) {
    case "server":
      translateServerNetwork(t, d);
      return true;
    case "server-ipv6":
      yaml.set("server.network6", { kind: "scalar", value: ovpnRoute6(ctx, d).text }, t.from(d));
      return true;
    case "server-bridge":
      setTrue("server.bridge");
      if (d.args.length > 0 && d.args[0] !== "nogw") {
        ctx.ignore(
          d,
          "bridged address pools are not supported: bridged clients get addresses from the LAN (DHCP)",
        );
      }
      return true;
    case "topology": {
      const topology = ctx.arg(d, 0, "subnet, net30 or p2p");
      if (!TOPOLOGIES.includes(topology)) {
        ctx.fail(d, `expected one of net30, p2p, subnet, got ${JSON.stringify(topology)}`);
      }
      t.topology = d;
      return true;
    }
    case "client-to-client":
      setTrue("server.client_to_client");
      return true;
    case "duplicate-cn":
      setTrue("server.duplicate_cn");
      return true;
    case "max-clients":
      yaml.set("server.max_clients", {
        kind: "scalar",
        value: ctx.int(d, 0, 1, MAX_INT, "a number of clients"),
      }, t.from(d));
      return true;
    case "max-routes-per-client":
      // OpenVPN counts learned MACs (tap) and iroutes against it; tsvpn's iroutes come from the config.
      yaml.set("server.max_macs_per_client", {
        kind: "scalar",
        value: ctx.int(d, 0, 1, 65536, "a number from 1 to 65536"),
      }, t.from(d));
      return true;
  }
  return translatePoolFiles(t, d);
}

function translateServerNetwork(t: ServerTranslation, d: OvpnDirective): void {
  const { ctx } = t;
  const net = ctx.arg(d, 0, "a network and netmask");
  const mask = ctx.arg(d, 1, "a netmask");
  // The netmask is checked first, so a line with both wrong names the netmask.
  if (netmaskToLength(mask) === null) {
    ctx.fail(d, `expected a netmask such as 255.255.255.0, got ${JSON.stringify(mask)}`);
  }
  const prefix = ovpnRoute(ctx, d, [net, mask]);
  t.yaml.set("server.network", { kind: "scalar", value: prefix.text }, t.from(d));
  if (d.args.includes("nopool")) {
    ctx.ignore(d, "nopool is not supported: tsvpn always runs an address pool");
  }
}

/** ifconfig-pool, ifconfig-pool-persist, status and mssfix. */
function translatePoolFiles(t: ServerTranslation, d: OvpnDirective): boolean {
  const { ctx, yaml } = t;
  switch (d.name) {
    case "ifconfig-pool":
      t.ifconfigPool = d;
      return true;
    case "ifconfig":
      t.ifconfig = d;
      return true;
    case "ifconfig-pool-persist": {
      t.ipp = d;
      // tsvpn keeps its pool in its own JSON format, so it must not share OpenVPN's file.
      const json = ctx.arg(d, 0, "a file name").replace(/(\.[^./]*)?$/, ".json");
      yaml.set(
        "server.pool_persist",
        { kind: "scalar", value: json },
        `${t.from(d)} (tsvpn's own JSON format)`,
      );
      return true;
    }
    case "status":
      yaml.set("server.status_file", { kind: "scalar", value: ctx.arg(d, 0, "a file name") }, t.from(d));
      if (d.args[1] !== undefined) {
        yaml.set("server.status_interval", { kind: "scalar", value: ctx.int(d, 1, 1, MAX_INT, "seconds") });
      }
      return true;
    case "mssfix":
      if (d.args[0] === "0") yaml.set("server.mssfix", { kind: "scalar", value: 0 }, t.from(d));
      else {ctx.ignore(
          d,
          "tsvpn clamps TCP MSS so datagrams fit 1500 bytes; set server.mssfix by hand if needed",
        );}
      return true;
  }
  return false;
}

/** OpenVPN's option → the server.scripts key it becomes. */
const SCRIPT_KEYS: Record<string, string> = {
  "client-connect": "client_connect",
  "client-disconnect": "client_disconnect",
  "learn-address": "learn_address",
};

/** client-connect, client-disconnect, learn-address → server.scripts (a single executable, no arguments). */
function translateScripts(t: ServerTranslation, d: OvpnDirective): boolean {
  if (!Object.hasOwn(SCRIPT_KEYS, d.name)) return false;
  const key = SCRIPT_KEYS[d.name];
  const cmd = t.ctx.arg(d, 0, "a script");
  if (/\s/.test(cmd.trim()) || d.args.length > 1) {
    t.ctx.ignore(d, "script arguments are not supported; give a single executable");
  } else {
    t.yaml.set(`server.scripts.${key}`, { kind: "scalar", value: t.ctx.path(cmd) }, t.from(d));
  }
  return true;
}

/** Routes, pushes, client-config-dir and client certificates. */
function translateRouting(t: ServerTranslation, d: OvpnDirective): boolean {
  const { ctx, yaml } = t;
  switch (d.name) {
    case "route":
      yaml.append("server.routes", ovpnRoute(ctx, d).text, t.from(d));
      return true;
    case "route-ipv6":
      yaml.append("server.routes6", ovpnRoute6(ctx, d).text, t.from(d));
      return true;
    case "push":
      translatePush(ctx, d, yaml, "server.push", t.from(d));
      return true;
    case "client-config-dir":
      t.ccd = d;
      return true;
    case "client-cert-not-required":
    case "verify-client-cert":
      if (d.name === "verify-client-cert" && d.args[0] === "require") return true;
      ctx.ignore(d, "tsvpn always requires client certificates");
      return true;
  }
  return false;
}
