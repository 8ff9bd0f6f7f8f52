/**
 * What happens when a client is let in and when it leaves, beyond the
 * tunnel itself (OpenVPN's client-config-dir, client-connect,
 * client-disconnect and learn-address; docs/operations.md):
 *
 *   plan()        at the push request: the YAML entry, then the ccd file
 *                 (server.client_config_dir/NAME, else DEFAULT, read now, so an edit
 *                 applies to the next connect), then client-connect's output
 *                 (client_directives.ts); a failing script or `disable` refuses
 *   learn()       after the plan applied, and whenever the client's addresses or
 *                 iroutes change: learn-address add / delete for the difference
 *   left()        at the end of the session: learn-address delete for each
 *                 address, then client-disconnect with bytes and duration
 *
 * The registry (client_registry.ts) owns the records and calls these; nothing
 * here blocks the packet path (files and scripts are awaited off it).
 */

import { join } from "node:path";
import { formatIpv4, formatIpv6 } from "../addr/ip.ts";
import type { ClientOverride, ServerConfig } from "../config/schema.ts";
import type { Logger } from "../log/log.ts";
import type { AddressPool } from "../pool/address_pool.ts";
import { applyDirectives, basePlan, type ClientPlan } from "./client_directives.ts";
import { clientEnv, disconnectEnv, type DisconnectFigures } from "./client_env.ts";
import { type ClientRecord, iroutesOf } from "./client_record.ts";
import type { ConnectScripts } from "./connect_scripts.ts";

export type PlanOutcome = { ok: true; plan: ClientPlan } | { ok: false; reason: string };

/** Largest ccd file read (OpenVPN's are a few lines). */
const MAX_CCD_BYTES = 64 * 1024;

export interface ClientConnectOptions {
  /** The live configuration (a reload replaces its client, push and scripts parts in place). */
  config: ServerConfig;
  pool: AddressPool | null;
  scripts: ConnectScripts;
  log: Logger;
  /** The device name, for the scripts' `dev`. */
  dev: () => string;
}

export class ClientConnect {
  readonly #o: ClientConnectOptions;

  constructor(o: ClientConnectOptions) {
    this.#o = o;
  }

  /** True when the push must wait: a client-config-dir or a client-connect script is configured. */
  get deferred(): boolean {
    return this.#o.config.server.clientConfigDir !== null || this.#o.scripts.hasClientConnect;
  }

  /** The script environment of `rec` as it is now. */
  env(rec: ClientRecord): Record<string, string> {
    const pushed = rec.lease && this.#o.pool ? this.#o.pool.pushIfconfig(rec.lease) : null;
    const peer = rec.session.peer;
    const { dev, server } = this.#o.config;
    return clientEnv({
      commonName: rec.name ?? "",
      remote: rec.ctx.remote,
      serial: rec.serial,
      username: peer?.username ?? "",
      peerInfo: peer?.peerInfo ?? new Map(),
      ifconfig: pushed?.ifconfig ?? null,
      ifconfigIpv6: pushed?.ifconfigIpv6 ?? null,
      topology: dev.type === "tap" ? "subnet" : server.topology,
      dev: this.#o.dev(),
      tunMtu: dev.mtu,
      connectedAt: rec.connectedSince || rec.authorizedAt,
    });
  }

  /** The client's plan from the YAML entry, its ccd file and client-connect; or why it is refused. */
  async plan(rec: ClientRecord): Promise<PlanOutcome> {
    const name = rec.name!;
    const server = this.#o.config.server;
    const plan = basePlan(name, server.clients.get(name) ?? null);
    if (server.clientConfigDir !== null) {
      const read = await readCcd(server.clientConfigDir, name);
      if (!read.ok) return read;
      if (read.file) applyDirectives(plan, read.text, read.file);
    }
    const connect = await this.#o.scripts.clientConnect(this.env(rec));
    if (connect && !connect.ok) return { ok: false, reason: `client-connect failed: ${connect.reason}` };
    if (connect) applyDirectives(plan, connect.text, "client-connect");
    for (const line of plan.skipped) this.#o.log.warn("client option not applied", { cn: name, line });
    if (plan.override.disabled) {
      return { ok: false, reason: "client is disabled (client-config-dir or client-connect)" };
    }
    return { ok: true, plan };
  }

  /**
   * Gives `rec` the plan's address (re-leasing when it differs from its
   * reservation), iroutes and pushes; returns a refusal or null. The caller
   * re-routes the datapath.
   */
  apply(rec: ClientRecord, plan: ClientPlan): string | null {
    const o = plan.override;
    const pool = this.#o.pool;
    if (pool && !sameStatic(pool.staticOf(rec.name!), o)) {
      const refusal = relet(pool, rec, o);
      if (refusal !== null) return refusal;
    }
    rec.override = o;
    rec.planned = true;
    rec.inheritPush = plan.inheritPush;
    rec.extraPush = plan.extraPush;
    return null;
  }

  /** learn-address for the difference between what `rec` routes now and what was learned before. */
  learn(rec: ClientRecord): void {
    // tap: the switch learns MACs as frames arrive; tsvpn does not report them (docs/operations.md).
    const now = this.#o.config.dev.type === "tap" ? [] : routedAddresses(rec);
    if (!this.#o.scripts.hasLifecycleScripts) {
      rec.learned = now;
      return;
    }
    const env = this.env(rec);
    for (const a of rec.learned) if (!now.includes(a)) this.#o.scripts.learnAddress("delete", a, env);
    for (const a of now) if (!rec.learned.includes(a)) this.#o.scripts.learnAddress("add", a, env);
    rec.learned = now;
  }

  /** The session ended: learn-address delete, then client-disconnect (when client-connect let it in). */
  left(rec: ClientRecord, figures: DisconnectFigures): void {
    if (!this.#o.scripts.hasLifecycleScripts) return;
    const env = this.env(rec);
    for (const a of rec.learned) this.#o.scripts.learnAddress("delete", a, env);
    rec.learned = [];
    if (rec.connectRan) {
      this.#o.scripts.clientDisconnect(disconnectEnv(env, figures, rec.connectedSince || rec.authorizedAt));
    }
  }
}

/** Releases `rec`'s lease and leases again after changing its static reservation to `o`'s addresses. */
function relet(pool: AddressPool, rec: ClientRecord, o: ClientOverride): string | null {
  if (rec.lease) pool.release(rec.lease);
  rec.lease = null;
  const spec = o.address || o.address6
    ? { ...(o.address ? { ipv4: o.address.text } : {}), ...(o.address6 ? { ipv6: o.address6.text } : {}) }
    : null;
  try {
    pool.setStatic(rec.name!, spec);
  } catch (e) {
    return (e as Error).message;
  }
  const allocated = pool.allocate(rec.name!);
  if (!allocated.ok) return allocated.message;
  rec.lease = allocated.lease;
  return null;
}

/** Does the pool's reservation already give `o`'s addresses (only the families `o` names are compared)? */
function sameStatic(have: { ipv4?: string; ipv6?: string } | null, o: ClientOverride): boolean {
  if (!o.address && !o.address6) return have === null;
  if (have === null) return false;
  return (!o.address || have.ipv4 === o.address.text) && (!o.address6 || have.ipv6 === o.address6.text);
}

/** The addresses and iroutes the datapath routes to `rec`, as learn-address names them. */
export function routedAddresses(rec: ClientRecord): string[] {
  const out: string[] = [];
  if (rec.lease?.ipv4 != null) out.push(formatIpv4(rec.lease.ipv4));
  if (rec.lease?.ipv6) out.push(formatIpv6(rec.lease.ipv6));
  for (const p of iroutesOf(rec)) out.push(p.text);
  return out;
}

export type CcdRead = { ok: true; file: string | null; text: string } | { ok: false; reason: string };

/** The ccd file of `name` (else DEFAULT); a file that exists but cannot be read refuses the client. */
export async function readCcd(dir: string, name: string): Promise<CcdRead> {
  // OpenVPN's rule: a common name that is not a plain file name never selects a file.
  const plain = name !== "" && !/[/\\\0]/.test(name) && !name.startsWith(".");
  for (const entry of plain ? [name, "DEFAULT"] : ["DEFAULT"]) {
    const file = join(dir, entry);
    try {
      const info = await Deno.stat(file);
      if (!info.isFile) continue;
      if (info.size > MAX_CCD_BYTES) {
        return { ok: false, reason: `${file} is larger than ${MAX_CCD_BYTES} bytes` };
      }
      return { ok: true, file, text: await Deno.readTextFile(file) };
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue;
      return { ok: false, reason: `cannot read ${file}: ${(e as Error).message.split("\n")[0]}` };
    }
  }
  return { ok: true, file: null, text: "" };
}
