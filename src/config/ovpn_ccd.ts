/**
 * client-config-dir files (per-client OpenVPN options) and pushed options,
 * translated into tsvpn YAML keys for the server importer.
 */

import { basename, dirname, join } from "node:path";
import { type IpPrefix, parseCidr } from "../addr/prefix.ts";
import { type IgnoredOption, lexOvpn, optionText, type OvpnDirective } from "./ovpn_lexer.ts";
import { ovpnAddress, OvpnContext, ovpnRedirectFlags, ovpnRoute, ovpnRoute6 } from "./ovpn_options.ts";
import type { YamlWriter } from "./yaml_emit.ts";

/** One per-client file from client-config-dir. */
export interface CcdFile {
  /** Certificate common name (the file name). */
  name: string;
  /** Path used in messages. */
  path: string;
  text: string;
}

export interface ImportedOption extends IgnoredOption {
  /** File the option is in (server.conf or a ccd file). */
  file: string;
}

/** Translates one `push "…"` into keys under `base` (server.push or a client's push). */
export function translatePush(
  ctx: OvpnContext,
  d: OvpnDirective,
  w: YamlWriter,
  base: string,
  note: string,
): void {
  const inner = lexOvpn(ctx.arg(d, 0, "a quoted option"), ctx.file)[0];
  if (!inner) ctx.fail(d, "expected a quoted option");
  const args = inner.args;
  switch (inner.name) {
    case "route": {
      const p: IpPrefix = ovpnRoute(ctx, d, args);
      if (args.length > 2) {
        ctx.ignore(d, "pushed route gateways and metrics are not supported; the route is kept");
      }
      w.append(`${base}.routes`, p.text, note);
      return;
    }
    case "route-ipv6":
      w.append(`${base}.routes6`, ovpnRoute6(ctx, d, args).text, note);
      return;
    case "redirect-gateway": {
      const flags = ovpnRedirectFlags(ctx, d, args);
      if (!flags.includes("def1")) {
        // OpenVPN's plain redirect-gateway replaces the default route; tsvpn always uses def1's two /1 routes.
        flags.unshift("def1");
      }
      w.set(`${base}.redirect_gateway`, { kind: "list", items: flags }, note);
      return;
    }
    case "dhcp-option": {
      const kind = (args[0] ?? "").toUpperCase();
      if (kind === "DNS" || kind === "DNS6") {
        w.append(`${base}.dns`, ovpnAddress(ctx, d, args[1], kind === "DNS" ? 4 : 6).text, note);
        return;
      }
      if (kind === "DOMAIN") {
        w.set(`${base}.domain`, { kind: "scalar", value: ctx.arg({ ...d, args }, 1, "a domain") }, note);
        return;
      }
      ctx.ignore(d, `dhcp-option ${kind || "(none)"} is not supported`);
      return;
    }
    case "comp-lzo":
    case "compress":
      ctx.ignore(d, "server.compat.compress pushes the matching compression framing itself");
      return;
    default:
      ctx.ignore(d, `pushing ${inner.name} is not supported`);
  }
}

/** Translates one client-config-dir file into server.clients.NAME.*. */
export function translateCcd(f: CcdFile, w: YamlWriter): ImportedOption[] {
  const ctx: OvpnContext = new OvpnContext(f.path, dirname(f.path));
  const base = `server.clients.${f.name}`;
  const from = (d: OvpnDirective) => `${basename(f.path)}:${d.line} ${optionText(d)}`;
  w.touch(base);
  for (const d of lexOvpn(f.text, f.path)) {
    switch (d.name) {
      case "disable":
        w.set(`${base}.disabled`, { kind: "scalar", value: true }, from(d));
        break;
      case "ifconfig-push": {
        // The first argument is the client's own address in every topology.
        const a = ovpnAddress(ctx, d, d.args[0], 4);
        ctx.arg(d, 1, "a netmask or remote endpoint");
        w.set(`${base}.address`, { kind: "scalar", value: a.text }, from(d));
        break;
      }
      case "ifconfig-ipv6-push": {
        const v = ctx.arg(d, 0, "an IPv6 address/bits");
        const c = parseCidr(v);
        if (!c || c.address.family !== 6) {
          ctx.fail(d, `expected an IPv6 address/bits, got ${JSON.stringify(v)}`);
        }
        w.set(`${base}.address6`, { kind: "scalar", value: c.address.text }, from(d));
        break;
      }
      case "iroute":
        w.append(`${base}.iroutes`, ovpnRoute(ctx, d).text, from(d));
        break;
      case "iroute-ipv6":
        w.append(`${base}.iroutes6`, ovpnRoute6(ctx, d).text, from(d));
        break;
      case "push":
        translatePush(ctx, d, w, `${base}.push`, from(d));
        break;
      case "push-reset":
        ctx.ignore(d, "tsvpn sends per-client pushes in addition to the global ones");
        break;
      default:
        ctx.ignore(d);
    }
  }
  return ctx.ignored.map((i) => ({ ...i, file: f.path }));
}

/** Lists a client-config-dir: every regular file whose name is a certificate name. */
export function readCcdDir(dir: string): CcdFile[] {
  const out: CcdFile[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    if (!entry.isFile || entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    out.push({ name: entry.name, path, text: Deno.readTextFileSync(path) });
  }
  return out;
}
