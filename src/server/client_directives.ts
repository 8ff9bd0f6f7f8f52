/**
 * Per-client options in OpenVPN's client-config-dir syntax, as a ccd file or
 * a client-connect script writes them, and how they combine with the YAML
 * `server.clients.NAME` entry. Applied in OpenVPN's order: the YAML entry,
 * then the ccd file (NAME, else DEFAULT), then the client-connect output;
 * within each, line by line:
 *
 *   disable                     refuse the client
 *   push-reset                  drop every push inherited so far (server.push, the YAML entry's, earlier lines')
 *   push "OPTION"               push OPTION to this client too
 *   ifconfig-push ADDR [MASK|REMOTE]   the client's IPv4 address (the second argument follows the topology)
 *   ifconfig-ipv6-push ADDR/BITS [REMOTE]
 *   iroute NET [MASK] / iroute-ipv6 PREFIX   subnets behind the client
 *
 * A line tsvpn does not apply (another option, a bad argument, a push of an
 * option the server itself decides such as peer-id or cipher) is reported in
 * `skipped` with its file and line and otherwise ignored, as OpenVPN warns and
 * goes on.
 */

import type { IpAddress } from "../addr/ip.ts";
import { type IpPrefix, parseCidr } from "../addr/prefix.ts";
import type { ClientOverride, PushConfig } from "../config/schema.ts";
import { emptyPush } from "../config/sections.ts";
import { lexOvpn, optionText, type OvpnDirective } from "../config/ovpn_lexer.ts";
import { ovpnAddress, OvpnContext, ovpnRoute, ovpnRoute6 } from "../config/ovpn_options.ts";
import { splitOptionWords } from "../control/push_options.ts";

/** What one client gets at connect time, all sources combined. */
export interface ClientPlan {
  /** The effective per-client settings (address, iroutes, the YAML entry's push unless reset, disabled). */
  override: ClientOverride;
  /** False after a push-reset: server.push is not sent to this client. */
  inheritPush: boolean;
  /** Options from `push "…"` lines, in order, sent after the others. */
  extraPush: string[];
  /** Lines not applied: "file:line option: why". */
  skipped: string[];
}

/** Options the server decides itself; a ccd line cannot push them. */
const SERVER_OWNED = new Set([
  "ifconfig",
  "ifconfig-ipv6",
  "peer-id",
  "cipher",
  "protocol-flags",
  "route-gateway",
  "topology",
  "push-continuation",
]);

/** The plan before any ccd file or script: the YAML entry of `name`, if any. */
export function basePlan(name: string, yaml: ClientOverride | null): ClientPlan {
  const override: ClientOverride = yaml
    ? { ...yaml, iroutes: [...yaml.iroutes], iroutes6: [...yaml.iroutes6], push: clonePush(yaml.push) }
    : {
      name,
      disabled: false,
      address: null,
      address6: null,
      iroutes: [],
      iroutes6: [],
      push: emptyPush(),
      mesh: true,
    };
  return { override, inheritPush: true, extraPush: [], skipped: [] };
}

function clonePush(p: PushConfig): PushConfig {
  return {
    ...p,
    routes: [...p.routes],
    routes6: [...p.routes6],
    redirectGateway: [...p.redirectGateway],
    dns: [...p.dns],
  };
}

/** Applies the options in `text` (from `file`, for messages) to `plan`, in order. */
export function applyDirectives(plan: ClientPlan, text: string, file: string): void {
  let directives: OvpnDirective[];
  try {
    directives = lexOvpn(text, file);
  } catch (e) {
    plan.skipped.push(`${file}: ${(e as Error).message.split("\n")[0]}`);
    return;
  }
  const ctx = new OvpnContext(file, ".");
  for (const d of directives) {
    try {
      const why = applyOne(plan, ctx, d);
      if (why) plan.skipped.push(`${file}:${d.line} ${optionText(d)}: ${why}`);
    } catch (e) {
      // ConfigError already names file:line: option.
      plan.skipped.push((e as Error).message.split("\n")[0]);
    }
  }
}

/** Applies one option; returns why it was not applied, or null. Throws (ctx.fail) on a bad argument. */
function applyOne(plan: ClientPlan, ctx: OvpnContext, d: OvpnDirective): string | null {
  const o = plan.override;
  switch (d.name) {
    case "disable":
      o.disabled = true;
      return null;
    case "push-reset":
      plan.inheritPush = false;
      o.push = emptyPush();
      plan.extraPush = [];
      return null;
    case "push":
      return addPush(plan, ctx.arg(d, 0, "a quoted option"));
    case "ifconfig-push":
      o.address = ovpnAddress(ctx, d, d.args[0], 4);
      return null;
    case "ifconfig-ipv6-push":
      o.address6 = ipv6PushAddress(ctx, d);
      return null;
    case "iroute":
      addPrefix(o.iroutes, ovpnRoute(ctx, d));
      return null;
    case "iroute-ipv6":
      addPrefix(o.iroutes6, ovpnRoute6(ctx, d));
      return null;
    default:
      return "not a per-client option tsvpn applies";
  }
}

function addPush(plan: ClientPlan, option: string): string | null {
  const text = option.trim();
  const word = splitOptionWords(text)[0] ?? "";
  if (text === "" || /[,\0\r\n]/.test(text)) return "expected one option without commas";
  if (SERVER_OWNED.has(word)) return `the server decides ${word} itself`;
  plan.extraPush.push(text);
  return null;
}

function ipv6PushAddress(ctx: OvpnContext, d: OvpnDirective): IpAddress {
  const v = ctx.arg(d, 0, "an IPv6 address/bits");
  const c = parseCidr(v);
  if (!c || c.address.family !== 6) ctx.fail(d, `expected an IPv6 address/bits, got ${JSON.stringify(v)}`);
  return c.address;
}

function addPrefix(list: IpPrefix[], p: IpPrefix): void {
  if (!list.some((x) => x.text === p.text)) list.push(p);
}
