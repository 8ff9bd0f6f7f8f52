/**
 * Translates an OpenVPN server config (and its client-config-dir files) into
 * a commented tsvpn server YAML. Every translated key carries a comment naming
 * the OpenVPN line it came from; every option that could not be translated is
 * returned with its file, line and the reason.
 */

import { basename, dirname } from "node:path";
import { ConfigError } from "./config_error.ts";
import { netmaskToLength, parseCidr } from "../addr/prefix.ts";
import { type CcdFile, type ImportedOption, translateCcd, translatePush } from "./ovpn_ccd.ts";
import { lexOvpn, optionText, type OvpnDirective } from "./ovpn_lexer.ts";
import {
  ALWAYS_ON,
  ovpnCipher,
  ovpnCiphers,
  OvpnContext,
  ovpnDev,
  ovpnDigest,
  ovpnManagement,
  ovpnProto,
  ovpnRoute,
  ovpnRoute6,
  verbToLevel,
} from "./ovpn_options.ts";
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
}

const ORDER = new Map<string, readonly string[]>([
  ["", ["mode", "listen", "dev", "pki", "data", "keepalive", "log", "management", "server"]],
  ["listen", ["host", "port", "proto"]],
  ["dev", ["type", "name", "mtu"]],
  ["pki", [
    "ca",
    "ca_pem",
    "cert",
    "cert_pem",
    "key",
    "key_pem",
    "crl",
    "crl_pem",
    "tls_crypt",
    "tls_crypt_pem",
    "tls_auth",
  ]],
  ["pki.tls_auth", ["key", "key_pem", "direction", "digest"]],
  ["data", ["ciphers", "reneg_seconds", "reneg_bytes", "transition_window", "replay_window"]],
  ["keepalive", ["interval", "timeout"]],
  [
    "server",
    [
      "network",
      "network6",
      "topology",
      "bridge",
      "client_to_client",
      "duplicate_cn",
      "max_clients",
      "max_macs_per_client",
      "pool_persist",
      "status_file",
      "status_interval",
      "mssfix",
      "routes",
      "routes6",
      "push",
      "clients",
    ],
  ],
  ["server.push", ["routes", "routes6", "redirect_gateway", "dns", "domain"]],
  ["server.clients.*", ["disabled", "address", "address6", "iroutes", "iroutes6", "push"]],
  ["server.clients.*.push", ["routes", "routes6", "redirect_gateway", "dns", "domain"]],
]);

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

const PEM_KEYS: Record<string, string> = {
  ca: "ca",
  cert: "cert",
  key: "key",
  "crl-verify": "crl",
  "tls-crypt": "tls_crypt",
};

const TOPOLOGIES = ["subnet", "net30", "p2p"];

/** Translates server.conf text. Throws ConfigError (file:line: option: …) on what is invalid. */
export function translateOvpnServer(
  text: string,
  fileName: string,
  options: OvpnServerImportOptions = {},
): OvpnServerImport {
  const ctx: OvpnContext = new OvpnContext(fileName, dirname(fileName));
  const w = new YamlWriter(
    [
      `tsvpn server config translated from ${basename(fileName)} by \`tsvpn import openvpn\`.`,
      "Comments name the OpenVPN line each value came from. Options that could not be",
      "translated were listed on stderr by the importer.",
    ],
    ORDER,
    SECTION_COMMENTS,
  );
  const ignored: ImportedOption[] = [];
  const from = (d: OvpnDirective, file = basename(fileName)) => `${file}:${d.line} ${optionText(d)}`;
  w.set("mode", { kind: "scalar", value: "server" });

  let devDirective: OvpnDirective | null = null;
  let devType: string | null = null;
  let topology: OvpnDirective | null = null;
  let ccd: OvpnDirective | null = null;
  let keyDirection: 0 | 1 | null = null;
  let tlsAuth: OvpnDirective | null = null;
  let legacyCipher: { name: string; d: OvpnDirective } | null = null;
  let digest: { name: string; d: OvpnDirective } | null = null;
  let proto6 = false;

  for (const d of lexOvpn(text, fileName)) {
    if (d.name in PEM_KEYS) {
      const key = `pki.${PEM_KEYS[d.name]}`;
      if (d.inline !== null) w.set(`${key}_pem`, { kind: "block", text: d.inline }, from(d));
      else if (d.name === "crl-verify" && d.args[1] === "dir") {
        ctx.ignore(d, "CRL directories are not supported");
      } else if (d.args[0] !== "[inline]") {
        w.set(key, { kind: "scalar", value: ctx.arg(d, 0, "a file name") }, from(d));
      }
      continue;
    }
    switch (d.name) {
      case "mode":
        if (d.args[0] !== "server") ctx.fail(d, `expected server, got ${JSON.stringify(d.args[0] ?? "")}`);
        break;
      case "client":
      case "remote":
      case "tls-client":
        ctx.fail(d, "expected a server config, got a client option");
        break;
      case "rport":
        ctx.ignore(d, "the server answers each client on the client's own port");
        break;
      case "port":
      case "lport":
        w.set(
          "listen.port",
          { kind: "scalar", value: ctx.int(d, 0, 1, 65535, "a port from 1 to 65535") },
          from(d),
        );
        break;
      case "local": {
        const a = ctx.arg(d, 0, "a local address");
        const ip = parseCidr(`${a}/0`);
        if (ip) w.set("listen.host", { kind: "scalar", value: ip.address.text }, from(d));
        else ctx.ignore(d, "tsvpn listens on an IP address, not a host name");
        break;
      }
      case "proto": {
        const v = ctx.arg(d, 0, "udp or tcp");
        w.set("listen.proto", { kind: "scalar", value: ovpnProto(ctx, d, v, true) }, from(d));
        proto6 = /6/.test(v);
        break;
      }
      case "dev":
        devDirective = d;
        break;
      case "dev-type":
        devType = ctx.arg(d, 0, "tun or tap");
        break;
      case "tun-mtu":
        w.set(
          "dev.mtu",
          { kind: "scalar", value: ctx.int(d, 0, 576, 65535, "an MTU from 576 to 65535") },
          from(d),
        );
        break;
      case "tls-auth":
        tlsAuth = d;
        break;
      case "key-direction":
        keyDirection = ctx.int(d, 0, 0, 1, "0 or 1") as 0 | 1;
        break;
      case "auth": {
        const name = ovpnDigest(ctx, d);
        if (name) digest = { name, d };
        break;
      }
      case "data-ciphers":
      case "ncp-ciphers":
        w.set("data.ciphers", { kind: "list", items: ovpnCiphers(ctx, d) }, from(d));
        break;
      case "cipher": {
        const c = ovpnCipher(ctx, d);
        if (c) legacyCipher = { name: c, d };
        break;
      }
      case "reneg-sec":
        w.set("data.reneg_seconds", {
          kind: "scalar",
          value: ctx.int(d, 0, 0, 2 ** 31 - 1, "a number of seconds"),
        }, from(d));
        break;
      case "reneg-bytes":
        w.set("data.reneg_bytes", {
          kind: "scalar",
          value: ctx.int(d, 0, 0, Number.MAX_SAFE_INTEGER, "a number of bytes"),
        }, from(d));
        break;
      case "tran-window":
        w.set("data.transition_window", {
          kind: "scalar",
          value: ctx.int(d, 0, 1, 2 ** 31 - 1, "a number of seconds (at least 1)"),
        }, from(d));
        break;
      case "replay-window":
        w.set("data.replay_window", {
          kind: "scalar",
          value: ctx.int(d, 0, 1, 65536, "a window from 1 to 65536"),
        }, from(d));
        break;
      case "keepalive": {
        const interval = ctx.int(d, 0, 1, 2 ** 31 - 1, "a ping interval in seconds");
        const timeout = ctx.int(d, 1, 1, 2 ** 31 - 1, "a restart timeout in seconds");
        if (timeout < 2 * interval) {
          ctx.fail(d, `expected a timeout at least twice the interval (${2 * interval} s)`);
        }
        w.set("keepalive.interval", { kind: "scalar", value: interval }, from(d));
        w.set("keepalive.timeout", { kind: "scalar", value: timeout });
        break;
      }
      case "verb":
        w.set("log.level", {
          kind: "scalar",
          value: verbToLevel(ctx.int(d, 0, 0, 11, "a verbosity from 0 to 11")),
        }, from(d));
        break;
      case "management": {
        if (d.args[2] === "stdin") {
          ctx.ignore(d, "tsvpn cannot ask for the management password on stdin: give a password file");
          break;
        }
        try {
          const m = ovpnManagement(ctx, d);
          const l = m.listen;
          const text = l.kind === "unix"
            ? (ctx.arg(d, 0, "a path").startsWith("/")
              ? ctx.arg(d, 0, "a path")
              : `./${ctx.arg(d, 0, "a path")}`)
            : l.host.includes(":")
            ? `[${l.host}]:${l.port}`
            : `${l.host}:${l.port}`;
          w.set("management.listen", { kind: "scalar", value: text }, from(d));
          if (m.passwordFile !== null) {
            w.set("management.password_file", { kind: "scalar", value: d.args[2] }, from(d));
          }
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          ctx.ignore(d, "tsvpn's management interface listens on loopback or a unix socket only");
        }
        break;
      }
      case "server": {
        const net = ctx.arg(d, 0, "a network and netmask");
        const mask = ctx.arg(d, 1, "a netmask");
        const len = netmaskToLength(mask);
        if (len === null) {
          ctx.fail(d, `expected a netmask such as 255.255.255.0, got ${JSON.stringify(mask)}`);
        }
        const p = ovpnRoute(ctx, d, [net, mask]);
        w.set("server.network", { kind: "scalar", value: p.text }, from(d));
        if (d.args.includes("nopool")) {
          ctx.ignore(d, "nopool is not supported: tsvpn always runs an address pool");
        }
        break;
      }
      case "server-ipv6": {
        const p = ovpnRoute6(ctx, d);
        w.set("server.network6", { kind: "scalar", value: p.text }, from(d));
        break;
      }
      case "server-bridge":
        w.set("server.bridge", { kind: "scalar", value: true }, from(d));
        if (d.args.length > 0 && d.args[0] !== "nogw") {
          ctx.ignore(
            d,
            "bridged address pools are not supported: bridged clients get addresses from the LAN (DHCP)",
          );
        }
        break;
      case "topology": {
        const t = ctx.arg(d, 0, "subnet, net30 or p2p");
        if (!TOPOLOGIES.includes(t)) {
          ctx.fail(d, `expected one of net30, p2p, subnet, got ${JSON.stringify(t)}`);
        }
        topology = d;
        break;
      }
      case "client-to-client":
        w.set("server.client_to_client", { kind: "scalar", value: true }, from(d));
        break;
      case "duplicate-cn":
        w.set("server.duplicate_cn", { kind: "scalar", value: true }, from(d));
        break;
      case "max-clients":
        w.set("server.max_clients", {
          kind: "scalar",
          value: ctx.int(d, 0, 1, 2 ** 31 - 1, "a number of clients"),
        }, from(d));
        break;
      case "max-routes-per-client":
        // OpenVPN counts learned MACs (tap) and iroutes against it; tsvpn's iroutes come from the config.
        w.set("server.max_macs_per_client", {
          kind: "scalar",
          value: ctx.int(d, 0, 1, 65536, "a number from 1 to 65536"),
        }, from(d));
        break;
      case "ifconfig-pool-persist": {
        // tsvpn keeps its pool in its own JSON format, so it must not share OpenVPN's file.
        const file = ctx.arg(d, 0, "a file name");
        const json = file.replace(/(\.[^./]*)?$/, ".json");
        w.set("server.pool_persist", { kind: "scalar", value: json }, `${from(d)} (tsvpn's own JSON format)`);
        break;
      }
      case "status":
        w.set("server.status_file", { kind: "scalar", value: ctx.arg(d, 0, "a file name") }, from(d));
        if (d.args[1] !== undefined) {
          w.set("server.status_interval", {
            kind: "scalar",
            value: ctx.int(d, 1, 1, 2 ** 31 - 1, "seconds"),
          });
        }
        break;
      case "mssfix":
        if (d.args[0] === "0") w.set("server.mssfix", { kind: "scalar", value: 0 }, from(d));
        else {ctx.ignore(
            d,
            "tsvpn clamps TCP MSS so datagrams fit 1500 bytes; set server.mssfix by hand if needed",
          );}
        break;
      case "route":
        w.append("server.routes", ovpnRoute(ctx, d).text, from(d));
        break;
      case "route-ipv6":
        w.append("server.routes6", ovpnRoute6(ctx, d).text, from(d));
        break;
      case "push":
        translatePush(ctx, d, w, "server.push", from(d));
        break;
      case "client-config-dir":
        ccd = d;
        break;
      case "client-cert-not-required":
      case "verify-client-cert":
        if (d.name === "verify-client-cert" && d.args[0] === "require") break;
        ctx.ignore(d, "tsvpn always requires client certificates");
        break;
      default:
        if (!ALWAYS_ON.has(d.name)) ctx.ignore(d);
    }
  }

  // Device: OpenVPN 2.6 defaults to net30 on tun when no topology is given.
  const dev = devDirective ? ovpnDev(ctx, devDirective, devType) : null;
  if (dev) {
    w.set("dev.type", { kind: "scalar", value: dev.type }, from(devDirective!));
    if (dev.name) w.set("dev.name", { kind: "scalar", value: dev.name });
  }
  const isTap = dev?.type === "tap";
  if (topology) {
    const t = topology.args[0];
    if (isTap) ctx.ignore(topology, "tap devices always use subnet topology");
    else w.set("server.topology", { kind: "scalar", value: t }, from(topology));
  } else if (!isTap && w.has("server.network")) {
    w.set(
      "server.topology",
      { kind: "scalar", value: "net30" },
      "OpenVPN 2.6's default when topology is not given",
    );
  }
  if (proto6 && !w.has("listen.host")) {
    w.set("listen.host", { kind: "scalar", value: "::" }, "udp6/tcp6: listen on IPv6 (and IPv4)");
  }
  if (tlsAuth) {
    if (tlsAuth.inline !== null) {
      w.set("pki.tls_auth.key_pem", { kind: "block", text: tlsAuth.inline }, from(tlsAuth));
    } else {w.set(
        "pki.tls_auth.key",
        { kind: "scalar", value: ctx.arg(tlsAuth, 0, "a key file") },
        from(tlsAuth),
      );}
    const dirArg = tlsAuth.inline === null ? tlsAuth.args[1] : undefined;
    if (dirArg !== undefined && dirArg !== "0" && dirArg !== "1") {
      ctx.fail(tlsAuth, `expected key direction 0 or 1, got ${JSON.stringify(dirArg)}`);
    }
    const direction = dirArg !== undefined ? Number(dirArg) : keyDirection;
    if (direction !== null) w.set("pki.tls_auth.direction", { kind: "scalar", value: direction });
    if (digest) w.set("pki.tls_auth.digest", { kind: "scalar", value: digest.name }, from(digest.d));
  } else if (digest) {
    ctx.ignore(digest.d, "with AEAD ciphers the digest only matters for tls-auth, which is not used");
  }
  if (legacyCipher) {
    const list = w.get("data.ciphers");
    const ciphers = list && list.value.kind === "list" ? list.value.items : [...DEFAULTS.ciphers];
    if (!ciphers.includes(legacyCipher.name)) {
      w.set("data.ciphers", { kind: "list", items: [...ciphers, legacyCipher.name] }, from(legacyCipher.d));
    }
  }

  for (const i of ctx.ignored) ignored.push({ ...i, file: fileName });

  if (ccd) {
    const dir = options.ccdDir ?? ctx.path(ctx.arg(ccd, 0, "a directory"));
    if (!options.readCcd) {
      ignored.push({
        file: fileName,
        line: ccd.line,
        option: optionText(ccd),
        reason: "client-config-dir was not read",
      });
    } else {
      w.touch("server.clients");
      for (const f of options.readCcd(dir).sort((a, b) => a.name.localeCompare(b.name))) {
        if (f.name === "DEFAULT") {
          ignored.push({
            file: f.path,
            line: 0,
            option: "DEFAULT",
            reason: "a DEFAULT client file is not supported",
          });
        } else ignored.push(...translateCcd(f, w));
      }
    }
  }
  ignored.sort((
    a,
    b,
  ) => (a.file === b.file ? a.line - b.line : a.file === fileName ? -1 : b.file === fileName ? 1 : 0));
  return { yaml: w.toString(), ignored };
}

export { type CcdFile, type ImportedOption, readCcdDir } from "./ovpn_ccd.ts";
