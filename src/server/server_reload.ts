/**
 * Reloading the server configuration without a restart (SIGHUP, management
 * `reload`; docs/operations.md): what may change live, and who it affects.
 *
 * Live keys: server.clients (static addresses, iroutes, push, disabled),
 * server.push, server.routes / routes6, server.scripts,
 * server.client_config_dir, and the CRL file's contents. Any other difference
 * needs a restart: the reload is refused naming the first such key, and
 * nothing changes.
 *
 * Per connected client (`planReload`): disabled now → disconnected; a new
 * static address, a different push (its own, or server.push it inherits), or
 * any change to a client whose options came from client-config-dir /
 * client-connect → reconnected (told to restart; it comes back with the new
 * settings); iroutes alone → updated in place (routes and learn-address, no
 * reconnect); a client whose address a new static reservation takes →
 * reconnected (it gets another). Everyone else is left alone.
 */

import type { IpPrefix } from "../addr/prefix.ts";
import type { ClientOverride, ServerConfig } from "../config/schema.ts";
import type { StaticAddress } from "../pool/address_pool.ts";
import { loadConfig } from "../config/load.ts";
import { poolFromConfig } from "./pool_setup.ts";
import { routedAddresses } from "./client_connect.ts";
import { basePlan } from "./client_directives.ts";
import type { ClientRecord } from "./client_record.ts";

/** Keys a reload applies; compared as schema paths. */
const LIVE_KEYS = new Set([
  "server.clients",
  "server.push",
  "server.routes",
  "server.routes6",
  "server.scripts",
  "server.clientConfigDir",
]);

/** YAML spellings of schema field names that do not follow the snake_case rule. */
const YAML_NAMES: Record<string, string> = { clientConfigDir: "client_config_dir", tlsCrypt: "tls_crypt" };

/**
 * Reads the configuration file for a reload and checks it: a server config, no key that needs a
 * restart changed, static addresses that fit the layout. Throws one-line errors; changes nothing.
 */
export async function readReloadedConfig(
  path: string,
  current: ServerConfig,
  hasPool: boolean,
): Promise<ServerConfig> {
  const next = await loadConfig(path);
  if (next.mode !== "server") throw new Error(`${path}: mode: expected server, got "${next.mode}"`);
  const key = restartKey(current, next);
  if (key) {
    throw new Error(`reload refused: ${key} changed, which needs a restart; the running configuration stays`);
  }
  // Static addresses are checked against the layout before anything changes (a RangeError names the client).
  if (hasPool) poolFromConfig(next);
  return next;
}

/** The first key (as written in YAML) whose change needs a restart, or null. */
export function restartKey(current: ServerConfig, next: ServerConfig): string | null {
  return firstDifference(current, next, "");
}

function firstDifference(a: unknown, b: unknown, path: string): string | null {
  if (LIVE_KEYS.has(path)) return null;
  if (Object.is(a, b)) return null;
  const where = path === "" ? "(the whole file)" : yamlPath(path);
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return where;
  // Addresses and prefixes (IpAddress, IpPrefix) are values: their canonical text says it all.
  if (
    typeof (a as { text?: unknown }).text === "string" && typeof (b as { text?: unknown }).text === "string"
  ) {
    return (a as { text: string }).text === (b as { text: string }).text ? null : where;
  }
  // A PEM source (file or inline) is one key in YAML: pki.crl, not pki.crl.path.
  if (isPemSource(a) || isPemSource(b)) return JSON.stringify(a) === JSON.stringify(b) ? null : where;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && a.length === b.length &&
        a.every((x, i) => x === b[i])
      ? null
      : where;
  }
  if (a instanceof Map || b instanceof Map) {
    return a instanceof Map && b instanceof Map
      ? firstDifference(Object.fromEntries(a), Object.fromEntries(b), path)
      : where;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return where;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const d = firstDifference(
      (a as Record<string, unknown>)[k],
      (b as Record<string, unknown>)[k],
      Array.isArray(a) ? `${path}[${k}]` : path === "" ? k : `${path}.${k}`,
    );
    if (d !== null) return Array.isArray(a) ? yamlPath(path) : d;
  }
  return null;
}

function isPemSource(v: object): boolean {
  const kind = (v as { kind?: unknown }).kind;
  return (kind === "file" && "path" in v) || (kind === "inline" && "pem" in v);
}

function yamlPath(path: string): string {
  return path.split(".").map((part) =>
    YAML_NAMES[part] ?? part.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
  )
    .join(".");
}

/** What a reload does to connected clients, and the static reservations that change. */
export interface ReloadPlan {
  disconnect: ClientRecord[];
  reconnect: ClientRecord[];
  /** Only their iroutes changed: routes and learn-address follow in place. */
  update: { rec: ClientRecord; override: ClientOverride }[];
  /** Names whose static reservation changes, with the new one (null: none). */
  statics: Map<string, StaticAddress | null>;
}

/** Sorts `connected` clients by how `next` affects them (see the file comment). */
export function planReload(current: ServerConfig, next: ServerConfig, connected: ClientRecord[]): ReloadPlan {
  const plan: ReloadPlan = {
    disconnect: [],
    reconnect: [],
    update: [],
    statics: staticChanges(current, next),
  };
  const newStatics = new Map<string, string>();
  for (const [name, c] of next.server.clients) {
    for (const a of [c.address, c.address6]) if (a) newStatics.set(a.text, name);
  }
  const pushChanged = !same(current.server.push, next.server.push);
  for (const rec of connected) {
    const name = rec.name!;
    const before = basePlan(name, current.server.clients.get(name) ?? null).override;
    const after = basePlan(name, next.server.clients.get(name) ?? null).override;
    if (after.disabled) {
      plan.disconnect.push(rec);
      continue;
    }
    const taken = routedAddresses(rec).some((a) => (newStatics.get(a) ?? name) !== name);
    const changed = !same(before, after);
    const reconnect = taken || plan.statics.has(name) || (pushChanged && rec.inheritPush) ||
      (changed && (rec.planned || !same(withoutIroutes(before), withoutIroutes(after))));
    if (reconnect) plan.reconnect.push(rec);
    else if (changed) plan.update.push({ rec, override: after });
  }
  return plan;
}

function withoutIroutes(c: ClientOverride): ClientOverride {
  return { ...c, iroutes: [], iroutes6: [] };
}

function staticChanges(current: ServerConfig, next: ServerConfig): Map<string, StaticAddress | null> {
  const out = new Map<string, StaticAddress | null>();
  const spec = (c: ClientOverride | undefined): StaticAddress | null =>
    c && (c.address || c.address6)
      ? { ...(c.address ? { ipv4: c.address.text } : {}), ...(c.address6 ? { ipv6: c.address6.text } : {}) }
      : null;
  const names = new Set([...current.server.clients.keys(), ...next.server.clients.keys()]);
  for (const name of names) {
    const a = spec(current.server.clients.get(name)), b = spec(next.server.clients.get(name));
    if (!same(a, b)) out.set(name, b);
  }
  return out;
}

function same(a: unknown, b: unknown): boolean {
  return firstDifference(a, b, "(value)") === null;
}

/** The running parts a reload changes. */
export interface ReloadTargets {
  registry: {
    connected(): ClientRecord[];
    reconnect(rec: ClientRecord, reason: string): void;
    update(rec: ClientRecord, override: ClientOverride): void;
  };
  pool: { setStatic(name: string, spec: StaticAddress | null): void } | null;
  replaceRoutes(before: IpPrefix[], after: IpPrefix[]): Promise<string[]>;
  /** Re-reads the CRL (rejects when it is bad, keeping the last good one); null without pki.crl. */
  reloadCrl: (() => Promise<number>) | null;
}

/**
 * Applies `next` (checked by restartKey already) to the running server whose
 * configuration object is `current`, changed in place so every part sees the
 * new values. Returns a one-line summary.
 */
export async function applyReload(
  current: ServerConfig,
  next: ServerConfig,
  t: ReloadTargets,
): Promise<string> {
  const plan = planReload(current, next, t.registry.connected());
  const before = { routes: current.server.routes, routes6: current.server.routes6 };
  const s = current.server, n = next.server;
  s.clients = n.clients;
  s.push = n.push;
  s.routes = n.routes;
  s.routes6 = n.routes6;
  s.scripts = n.scripts;
  s.clientConfigDir = n.clientConfigDir;
  for (const rec of plan.disconnect) t.registry.reconnect(rec, "disabled by a configuration reload");
  for (const rec of plan.reconnect) t.registry.reconnect(rec, "settings changed by a configuration reload");
  const problems: string[] = [];
  // Remove every changed reservation first, so two clients may swap addresses.
  for (const name of plan.statics.keys()) tryStatic(t, name, null, problems);
  for (const [name, spec] of plan.statics) if (spec) tryStatic(t, name, spec, problems);
  for (const { rec, override } of plan.update) t.registry.update(rec, override);
  problems.push(...await t.replaceRoutes([...before.routes, ...before.routes6], [...n.routes, ...n.routes6]));
  let revoked = 0;
  if (t.reloadCrl) {
    try {
      revoked = await t.reloadCrl();
    } catch (e) {
      problems.push(`CRL: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  const summary = `${plan.reconnect.length} client(s) reconnected, ${plan.update.length} updated, ` +
    `${plan.disconnect.length + revoked} disconnected`;
  return problems.length === 0 ? summary : `${summary}; not applied: ${problems.join("; ")}`;
}

function tryStatic(t: ReloadTargets, name: string, spec: StaticAddress | null, problems: string[]): void {
  try {
    t.pool?.setStatic(name, spec);
  } catch (e) {
    problems.push((e as Error).message.split("\n")[0]);
  }
}
