/**
 * The up and down scripts: what they are told and how they are run.
 *
 * The environment uses OpenVPN's variable names, so scripts written for
 * OpenVPN (update-resolv-conf and friends) work unchanged, plus a few
 * `dns_*` conveniences. docs/client.md lists every variable. Arguments are
 * OpenVPN's too: `dev tun_mtu 0 ifconfig_local ifconfig_remote|netmask init`.
 *
 * A script gets SCRIPT_TIMEOUT_MS; its output goes to the log line by line.
 */

import { formatIpv4 } from "../addr/ip.ts";
import { ipv4Netmask } from "../addr/prefix.ts";
import type { PushOptions } from "../control/push_options.ts";
import type { Logger } from "../log/log.ts";
import type { HostPlan } from "./host_plan_types.ts";
import { outputWithin } from "./output_within.ts";
import { hasControlChar } from "./push_screen.ts";

export const SCRIPT_TIMEOUT_MS = 30_000;

export type ScriptType = "up" | "down";

/**
 * The environment variables for a script run (added to tsvpn's own environment).
 * Pushed values were screened already (push_screen.ts, push_vet.ts); as a last
 * guard any variable whose value still carries a control character is left out.
 */
export function scriptEnv(plan: HostPlan, type: ScriptType, push: PushOptions): Record<string, string> {
  return withoutControlChars(buildEnv(plan, type, push));
}

/**
 * Drops, rather than repairs, variables whose value holds a control character:
 * a script such as update-resolv-conf copies values into files line by line,
 * and a value the server shaped with a newline must not arrive there in any
 * form (OpenVPN replaces such characters, which still hands the script text
 * chosen by the server).
 */
export function withoutControlChars(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (!hasControlChar(v)) out[k] = v;
  return out;
}

function buildEnv(plan: HostPlan, type: ScriptType, push: PushOptions): Record<string, string> {
  const env: Record<string, string> = {
    script_type: type,
    dev: plan.dev,
    dev_type: "tun",
    tun_mtu: String(plan.mtu),
    topology: plan.topology,
    trusted_ip: plan.server.address,
    trusted_port: String(plan.server.port),
    remote_1: plan.server.address,
    remote_port_1: String(plan.server.port),
    proto_1: plan.server.proto,
  };
  if (plan.local4) {
    env.ifconfig_local = plan.local4.address;
    if (plan.local4.netmask) env.ifconfig_netmask = plan.local4.netmask;
    if (plan.local4.peer) env.ifconfig_remote = plan.local4.peer;
  }
  if (plan.local6) {
    env.ifconfig_ipv6_local = plan.local6.address;
    env.ifconfig_ipv6_netbits = String(plan.local6.prefixLen);
    if (plan.gateway6) env.ifconfig_ipv6_remote = plan.gateway6;
  }
  if (plan.gateway4) env.route_vpn_gateway = plan.gateway4;
  if (plan.netGateway) env.route_net_gateway = plan.netGateway;
  if (plan.redirect) env.redirect_gateway = plan.redirect.flags.join(" ") || "on";
  let routes4 = 0, routes6 = 0;
  for (const item of plan.items) {
    if (item.kind !== "route" || item.via !== "tunnel") continue;
    const spec = item.spec;
    const [network, bits] = spec.dst.split("/");
    if (!spec.dst.includes(":")) {
      routes4++;
      env[`route_network_${routes4}`] = network;
      env[`route_netmask_${routes4}`] = formatIpv4(ipv4Netmask(Number(bits)));
      env[`route_gateway_${routes4}`] = spec.gateway ?? "";
      if (spec.metric !== undefined) env[`route_metric_${routes4}`] = String(spec.metric);
    } else {
      routes6++;
      env[`route_ipv6_network_${routes6}`] = spec.dst;
      env[`route_ipv6_gateway_${routes6}`] = spec.gateway ?? "";
    }
  }
  let foreignOptions = 0;
  for (const option of push.dhcpOptions ?? []) {
    env[`foreign_option_${++foreignOptions}`] = `dhcp-option ${option.type} ${option.value}`;
  }
  plan.dns.servers.forEach((server, i) => env[`dns_server_${i + 1}`] = server);
  env.dns_servers = plan.dns.servers.join(" ");
  if (plan.dns.domain) env.dns_domain = plan.dns.domain;
  if (plan.dns.search.length > 0) env.dns_search = plan.dns.search.join(" ");
  return env;
}

/** OpenVPN's script arguments. */
export function scriptArgs(plan: HostPlan): string[] {
  return [
    plan.dev,
    String(plan.mtu),
    "0",
    plan.local4?.address ?? "",
    plan.local4?.netmask ?? plan.local4?.peer ?? "",
    "init",
  ];
}

export type ScriptResult = { ok: true } | { ok: false; reason: string };

/** Runs `path` with the arguments and environment; never throws. */
export async function runScript(
  path: string,
  args: string[],
  env: Record<string, string>,
  log: Logger,
  timeoutMs = SCRIPT_TIMEOUT_MS,
): Promise<ScriptResult> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(path, { args, env, stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
  } catch (e) {
    return { ok: false, reason: `could not start ${path}: ${(e as Error).message.split("\n")[0]}` };
  }
  const { output: out, timedOut } = await outputWithin(child, timeoutMs);
  const dec = new TextDecoder();
  for (const line of (dec.decode(out.stdout) + dec.decode(out.stderr)).split("\n")) {
    if (line.trim()) log.info(line, { script: path });
  }
  if (timedOut) return { ok: false, reason: `${path} did not finish within ${timeoutMs / 1000} s` };
  if (out.code !== 0) return { ok: false, reason: `${path} exited with code ${out.code}` };
  return { ok: true };
}
