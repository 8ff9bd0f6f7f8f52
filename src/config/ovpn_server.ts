/**
 * Translates an OpenVPN server config (and its client-config-dir files) into
 * a commented tsvpn server YAML. Every translated key carries a comment naming
 * the OpenVPN line it came from; every option that could not be translated is
 * returned with its file, line and the reason.
 */

import { basename, dirname } from "node:path";
import { SERVER_MAP_KEYS } from "./keys.ts";
import { type CcdFile, type ImportedOption, translateCcd } from "./ovpn_ccd.ts";
import { translateIpp } from "./ovpn_ipp.ts";
import { lexOvpn, optionText, type OvpnDirective } from "./ovpn_lexer.ts";
import { ovpnAddress, OvpnContext, ovpnDev, ovpnRoute } from "./ovpn_options.ts";
import { addressAt, type IpPrefix, ipv4Netmask, netmaskToLength } from "../addr/prefix.ts";
import { formatIpv4, parseIpv4 } from "../addr/ip.ts";
import { type ServerTranslation, translateServerOption } from "./ovpn_server_options.ts";
import { settleAuthToken } from "./ovpn_server_auth.ts";
import { DEFAULTS } from "./schema.ts";
import { YamlWriter } from "./yaml_emit.ts";

export interface OvpnServerImport {
  yaml: string;
  ignored: ImportedOption[];
}

export interface OvpnServerImportOptions {
  /** Reads client-config-dir (resolved path) → its files; absent: ccd is reported as ignored. */
  readCcd?: (dir: string) => CcdFile[];
  /** Overrides the directory named by client-config-dir (the CLI's --ccd). */
  ccdDir?: string;
  /** Reads ifconfig-pool-persist's file (resolved path); absent: it is reported as not read. */
  readFile?: (path: string) => string;
}

const SECTION_COMMENTS: Record<string, string> = {
  mode: "This file configures a tsvpn server.",
  listen: "Where clients connect: address, port and transport (udp or tcp).",
  dev: "The virtual network device: tun (routed, layer 3) or tap (switched, layer 2).",
  pki: "Certificates and keys; relative paths resolve against this file's directory.",
  data: "Data channel: ciphers offered to clients (in order) and key renegotiation.",
  keepalive: "Ping after `interval` idle seconds; drop a client silent for `timeout` seconds.",
  log: "Log level: error, warn, info or debug.",
  management: "Management interface (a unix socket, or loopback TCP with a password_file).",
  server: "Address pool, topology, routes and options pushed to clients.",
  "server.clients": "Per-client settings by certificate name (from client-config-dir).",
};

/** Translates server.conf text. Throws ConfigError (file:line: option: …) on what is invalid. */
export function translateOvpnServer(
  text: string,
  fileName: string,
  options: OvpnServerImportOptions = {},
): OvpnServerImport {
  const t = startTranslation(fileName);
  for (const d of lexOvpn(text, fileName)) translateServerOption(t, d);
  settlePoolRange(t);
  settleDevice(t);
  settleTlsAuth(t);
  settleCiphers(t);
  settleAuthToken(t, t.authToken);
  const ignored: ImportedOption[] = t.ctx.ignored.map((i) => ({ ...i, file: fileName }));
  if (t.ccd) ignored.push(...translateCcdDir(t, t.ccd, fileName, options));
  if (t.ipp) {
    const path = t.ctx.path(t.ctx.arg(t.ipp, 0, "a file name"));
    const src = { directive: t.ipp, confFile: fileName, path, read: options.readFile };
    ignored.push(...translateIpp(src, t.yaml, t.ccdNames));
  }
  ignored.sort((a, b) =>
    a.file === b.file ? a.line - b.line : a.file === fileName ? -1 : b.file === fileName ? 1 : 0
  );
  return { yaml: t.yaml.toString(), ignored };
}

function startTranslation(fileName: string): ServerTranslation {
  const yaml = new YamlWriter(
    [
      `tsvpn server config translated from ${basename(fileName)} by \`tsvpn import openvpn\`.`,
      "Comments name the OpenVPN line each value came from. Options that could not be",
      "translated were listed on stderr by the importer.",
    ],
    SERVER_MAP_KEYS,
    SECTION_COMMENTS,
  );
  yaml.set("mode", { kind: "scalar", value: "server" });
  const file = basename(fileName);
  return {
    ctx: new OvpnContext(fileName, dirname(fileName)),
    yaml,
    from: (d: OvpnDirective) => `${file}:${d.line} ${optionText(d)}`,
    dev: null,
    devType: null,
    topology: null,
    ccd: null,
    ccdNames: [],
    ipp: null,
    ifconfigPool: null,
    ifconfig: null,
    keyDirection: null,
    tlsAuth: null,
    legacyCipher: null,
    digest: null,
    proto6: false,
    authToken: [],
  };
}

/** The device, the topology (OpenVPN 2.6 defaults to net30 on tun) and, for udp6/tcp6, the listen host. */
function settleDevice(t: ServerTranslation): void {
  const { ctx, yaml } = t;
  const dev = t.dev ? ovpnDev(ctx, t.dev, t.devType) : null;
  if (dev) {
    yaml.set("dev.type", { kind: "scalar", value: dev.type }, t.from(t.dev!));
    if (dev.name) yaml.set("dev.name", { kind: "scalar", value: dev.name });
  }
  const isTap = dev?.type === "tap";
  if (t.topology) {
    if (isTap) ctx.ignore(t.topology, "tap devices always use subnet topology");
    else yaml.set("server.topology", { kind: "scalar", value: t.topology.args[0] }, t.from(t.topology));
  } else if (!isTap && yaml.has("server.network")) {
    yaml.set(
      "server.topology",
      { kind: "scalar", value: "net30" },
      "OpenVPN 2.6's default when topology is not given",
    );
  }
  if (t.proto6 && !yaml.has("listen.host")) {
    yaml.set("listen.host", { kind: "scalar", value: "::" }, "udp6/tcp6: listen on IPv6 (and IPv4)");
  }
}

/**
 * OpenVPN's manual server mode (`ifconfig LOCAL NETMASK` + `ifconfig-pool
 * START END [NETMASK]`, which OpenVPN refuses next to `server`) →
 * server.network and server.pool_range, when the server's address is the
 * network's first one, as tsvpn's always is.
 */
function settlePoolRange(t: ServerTranslation): void {
  const d = t.ifconfigPool;
  const { ctx, yaml } = t;
  if (d === null) {
    if (t.ifconfig) ctx.ignore(t.ifconfig, "tsvpn's server address comes from server.network (`server`)");
    return;
  }
  const start = ovpnAddress(ctx, d, ctx.arg(d, 0, "a start address"), 4);
  const end = ovpnAddress(ctx, d, ctx.arg(d, 1, "an end address"), 4);
  if (yaml.has("server.network")) {
    ctx.ignore(d, "OpenVPN refuses ifconfig-pool next to `server`, which already defines the pool");
    return;
  }
  const network = manualNetwork(t, d);
  if (typeof network === "string") {
    ctx.ignore(d, network);
    return;
  }
  yaml.set("server.network", { kind: "scalar", value: network.text }, t.from(t.ifconfig!));
  yaml.set("server.pool_range.start", { kind: "scalar", value: start.text }, t.from(d));
  yaml.set("server.pool_range.end", { kind: "scalar", value: end.text });
}

/** The network `ifconfig LOCAL NETMASK` (or ifconfig-pool's NETMASK) describes, or why there is none. */
function manualNetwork(t: ServerTranslation, pool: OvpnDirective): IpPrefix | string {
  const { ctx } = t;
  const ifconfig = t.ifconfig;
  if (ifconfig === null) {
    return "tsvpn needs the server's own address (`ifconfig LOCAL NETMASK`) for an address range";
  }
  const local = ovpnAddress(ctx, ifconfig, ctx.arg(ifconfig, 0, "an address"), 4);
  const maskText = pool.args[2] ?? ifconfig.args[1];
  const bits = maskText === undefined ? null : netmaskToLength(maskText);
  if (bits === null) {
    return "tsvpn needs the pool's netmask (ifconfig-pool START END NETMASK, or topology subnet)";
  }
  const network = ovpnRoute(ctx, ifconfig, [maskNetwork(local.text, bits), formatIpv4(ipv4Netmask(bits))]);
  if (addressAt(network, 1).text !== local.text) {
    return `tsvpn's server address is the network's first (${addressAt(network, 1).text}), not ${local.text}`;
  }
  return network;
}

/** "10.8.0.1", 24 → "10.8.0.0". */
function maskNetwork(address: string, bits: number): string {
  return formatIpv4((parseIpv4(address) & ipv4Netmask(bits)) >>> 0);
}

/** tls-auth with its key direction (inline, or key-direction) and digest (auth). */
function settleTlsAuth(t: ServerTranslation): void {
  const { ctx, yaml, tlsAuth, digest } = t;
  if (!tlsAuth) {
    if (digest) {
      ctx.ignore(digest.d, "with AEAD ciphers the digest only matters for tls-auth, which is not used");
    }
    return;
  }
  if (tlsAuth.inline !== null) {
    yaml.set("pki.tls_auth.key_pem", { kind: "block", text: tlsAuth.inline }, t.from(tlsAuth));
  } else {
    yaml.set(
      "pki.tls_auth.key",
      { kind: "scalar", value: ctx.arg(tlsAuth, 0, "a key file") },
      t.from(tlsAuth),
    );
  }
  const dirArg = tlsAuth.inline === null ? tlsAuth.args[1] : undefined;
  if (dirArg !== undefined && dirArg !== "0" && dirArg !== "1") {
    ctx.fail(tlsAuth, `expected key direction 0 or 1, got ${JSON.stringify(dirArg)}`);
  }
  const direction = dirArg !== undefined ? Number(dirArg) : t.keyDirection;
  if (direction !== null) yaml.set("pki.tls_auth.direction", { kind: "scalar", value: direction });
  if (digest) yaml.set("pki.tls_auth.digest", { kind: "scalar", value: digest.name }, t.from(digest.d));
}

/** A legacy `cipher` joins the negotiated list (data-ciphers, else the defaults) when it is not in it. */
function settleCiphers(t: ServerTranslation): void {
  const legacy = t.legacyCipher;
  if (!legacy) return;
  const list = t.yaml.get("data.ciphers");
  const ciphers = list && list.value.kind === "list" ? list.value.items : [...DEFAULTS.ciphers];
  if (!ciphers.includes(legacy.name)) {
    t.yaml.set("data.ciphers", { kind: "list", items: [...ciphers, legacy.name] }, t.from(legacy.d));
  }
}

/**
 * The client-config-dir, when the caller reads it: folded into server.clients (static YAML), or, when a
 * DEFAULT file or a push-reset needs OpenVPN's semantics, kept as the live server.client_config_dir (read
 * at each connect, docs/operations.md). Returns what was not translated.
 */
function translateCcdDir(
  t: ServerTranslation,
  ccd: OvpnDirective,
  fileName: string,
  options: OvpnServerImportOptions,
): ImportedOption[] {
  const dir = options.ccdDir ?? t.ctx.path(t.ctx.arg(ccd, 0, "a directory"));
  if (!options.readCcd) {
    return [{
      file: fileName,
      line: ccd.line,
      option: optionText(ccd),
      reason: "client-config-dir was not read",
    }];
  }
  const files = options.readCcd(dir).sort((a, b) => a.name.localeCompare(b.name));
  if (files.some((f) => f.name === "DEFAULT" || /^\s*push-reset\b/m.test(f.text))) {
    const why = files.some((f) => f.name === "DEFAULT") ? "a DEFAULT file" : "push-reset";
    const note = `${t.from(ccd)} (read at each connect: ${why} needs it live)`;
    t.yaml.set("server.client_config_dir", { kind: "scalar", value: dir }, note);
    return [];
  }
  const ignored: ImportedOption[] = [];
  t.yaml.touch("server.clients");
  for (const f of files) {
    t.ccdNames.push(f.name);
    ignored.push(...translateCcd(f, t.yaml));
  }
  return ignored;
}

export { type CcdFile, type ImportedOption, readCcdDir } from "./ovpn_ccd.ts";
