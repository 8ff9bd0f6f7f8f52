/**
 * Every change tsvpn makes to the host, recorded so it can be undone: routes
 * and addresses added, routes taken away, MTU, link state, resolv.conf.
 *
 * `apply(plan)` brings the host from the previous plan to the new one and
 * touches only what differs (a reconnect that gets the same push changes
 * nothing). `undoAll()` reverts everything in reverse order and never throws,
 * so every exit path can call it. A change that was already in place before
 * (EEXIST) is not recorded, so undoing never removes something tsvpn did not
 * add; an undo that finds its target already gone (the device vanished and
 * took its routes with it) counts as done.
 *
 * The recorder also answers the planner's questions about the host as it was
 * before the tunnel (`lookups()`), seeing through its own changes: the route
 * to the server is looked up with routeGet, and when that now points into the
 * tunnel (a reconnect with redirect-gateway in place) it is found by
 * longest-prefix match over the main table without the tunnel's routes and
 * with the routes it took away.
 */

import type { Logger } from "../log/log.ts";
import type { NetConfig, RouteInfo } from "../device/net_config.ts";
import { parseIp } from "../addr/ip.ts";
import { parseCidr, prefixContains } from "../addr/prefix.ts";
import { itemKey } from "./host_plan.ts";
import type { ChangeJournal } from "./host_journal.ts";
import type { DnsSettings, HostLookups, HostPlan, PlanItem } from "./host_plan_types.ts";

const EEXIST = 17;
const ESRCH = 3;
const ENODEV = 19;
const EADDRNOTAVAIL = 99;
const MAIN_TABLE = 254;

/** Where pushed DNS settings go (resolv_conf.ts; a fake in tests). */
export interface DnsTarget {
  /** The file written, when there is one: the host journal records it for a replay. */
  readonly path?: string;
  apply(dns: DnsSettings, dev: string): Promise<void>;
  restore(): Promise<void>;
  /** Name servers the host used before tsvpn changed anything. */
  originalServers(): Promise<string[]>;
}

export interface HostChangesOptions {
  log: Logger;
  /** Needed only when pushed DNS settings are written (pull.dns resolv.conf). */
  dns?: DnsTarget | null;
  /** Told of every change before it is made and of every undo (host_journal.ts). */
  journal?: ChangeJournal | null;
}

export interface ApplyResult {
  added: number;
  removed: number;
  /** True when nothing differed from the previous plan. */
  unchanged: boolean;
}

function errnoOf(e: unknown): number {
  const errno = (e as { errno?: unknown })?.errno;
  return typeof errno === "number" ? errno : 0;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function sameDns(a: DnsSettings | null, b: DnsSettings | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Undoes one applied item; a target already gone (or, for a route taken
 * away, already back) counts as done, so undoing twice is harmless.
 */
export async function undoPlanItem(net: NetConfig, item: PlanItem): Promise<void> {
  try {
    if (item.kind === "address") await net.delAddress(item.spec);
    else if (item.kind === "route") await net.delRoute(item.spec);
    else await net.addRoute(item.spec);
  } catch (e) {
    if (!isAlreadyUndone(item, errnoOf(e))) throw e;
  }
}

function isAlreadyUndone(item: PlanItem, errno: number): boolean {
  return errno === ESRCH || errno === ENODEV || errno === EADDRNOTAVAIL ||
    (item.kind === "suppress" && errno === EEXIST);
}

/** Sets the device's MTU or link state back; a device that is gone took the setting with it. */
export async function undoLinkChange(change: () => Promise<void>): Promise<void> {
  await change().catch((e) => {
    if (errnoOf(e) !== ENODEV) throw e;
  });
}

export class HostChanges {
  readonly #net: NetConfig;
  readonly #log: Logger;
  readonly #dns: DnsTarget | null;
  readonly #journal: ChangeJournal | null;
  /** Applied items in the order they were applied. */
  #stack: { key: string; item: PlanItem }[] = [];
  #mtu: { dev: string; previous: number } | null = null;
  #linkUp: string | null = null;
  #appliedDns: DnsSettings | null = null;
  #tunDev: string | null = null;

  constructor(net: NetConfig, options: HostChangesOptions) {
    this.#net = net;
    this.#log = options.log;
    this.#dns = options.dns ?? null;
    this.#journal = options.journal ?? null;
  }

  /** One line per change currently in place, in the order made. */
  get changes(): string[] {
    const out: string[] = [];
    if (this.#mtu) out.push(`mtu ${this.#mtu.dev}`);
    if (this.#linkUp) out.push(`up ${this.#linkUp}`);
    for (const entry of this.#stack) out.push(entry.key);
    if (this.#appliedDns) out.push("dns");
    return out;
  }

  /** Lookups for planHost() that see the host as it was before the tunnel. */
  lookups(tunDev: string): HostLookups {
    this.#tunDev = tunDev;
    return {
      outsideRoute: (address) => this.#outsideRoute(address, tunDev),
      defaultRoutes: (family) => this.#defaultRoutes(family, tunDev),
      systemDnsServers: () => this.#dns ? this.#dns.originalServers() : Promise.resolve([]),
    };
  }

  /**
   * Brings the host from the applied plan to `plan`. `writeDns` says whether
   * plan.dns goes to the DNS target. On failure the changes made so far stay
   * recorded (undoAll reverts them) and the error names what failed.
   */
  async apply(plan: HostPlan, writeDns: boolean): Promise<ApplyResult> {
    this.#tunDev = plan.dev;
    const wanted = new Map(plan.items.map((item) => [itemKey(item), item]));
    const remove = new Set(this.#stack.filter((entry) => !wanted.has(entry.key)).map((entry) => entry.key));
    // Removing an address makes the kernel drop routes through gateways it made reachable: re-add those.
    const goneAddrDevs = new Set(
      this.#stack.filter((entry) => remove.has(entry.key) && entry.item.kind === "address").map((entry) =>
        (entry.item as { spec: { dev: string } }).spec.dev
      ),
    );
    for (const entry of this.#stack) {
      if (entry.item.kind === "route" && entry.item.spec.dev && goneAddrDevs.has(entry.item.spec.dev)) {
        remove.add(entry.key);
      }
    }
    let removed = 0;
    for (let i = this.#stack.length - 1; i >= 0; i--) {
      const entry = this.#stack[i];
      if (!remove.has(entry.key)) continue;
      await this.#undo(entry.item);
      this.#stack.splice(i, 1);
      removed++;
    }

    const link = await this.#net.linkByName(plan.dev);
    if (link.mtu !== plan.mtu) {
      if (!this.#mtu) await this.#journal?.record({ t: "mtu", dev: plan.dev, previous: link.mtu });
      await this.#net.setMtu(plan.dev, plan.mtu);
      if (!this.#mtu) this.#mtu = { dev: plan.dev, previous: link.mtu };
      this.#log.info("set MTU", { dev: plan.dev, mtu: plan.mtu });
    }
    if (!link.up) {
      await this.#journal?.record({ t: "up", dev: plan.dev });
      await this.#net.setLinkUp(plan.dev, true);
      this.#linkUp = plan.dev;
    }

    let added = 0;
    const have = new Set(this.#stack.map((entry) => entry.key));
    for (const [key, item] of wanted) {
      if (have.has(key)) continue;
      if (await this.#do(item)) {
        this.#stack.push({ key, item });
        added++;
      }
    }

    const dns = writeDns && plan.dns.servers.length > 0 ? plan.dns : null;
    let dnsChanged = false;
    if (!sameDns(dns, this.#appliedDns)) {
      dnsChanged = true;
      if (dns) {
        if (!this.#dns) throw new Error("Cannot write DNS settings: no resolv.conf target configured");
        if (!this.#appliedDns && this.#dns.path) {
          await this.#journal?.record({ t: "dns", path: this.#dns.path });
        }
        await this.#dns.apply(dns, plan.dev);
        this.#log.info("DNS settings written", { servers: dns.servers.join(" ") });
      } else if (this.#appliedDns && this.#dns) {
        await this.#dns.restore();
        await this.#journal?.record({ t: "undo-dns" });
      }
      this.#appliedDns = dns;
    }
    return { added, removed, unchanged: added === 0 && removed === 0 && !dnsChanged };
  }

  /** Reverts every recorded change, newest first. Returns the failures (already logged); never throws. */
  async undoAll(): Promise<string[]> {
    const failures: string[] = [];
    if (this.#appliedDns && this.#dns) {
      try {
        await this.#dns.restore();
        await this.#journal?.record({ t: "undo-dns" });
      } catch (e) {
        failures.push(message(e));
      }
      this.#appliedDns = null;
    }
    while (this.#stack.length > 0) {
      const entry = this.#stack.pop()!;
      try {
        await this.#undo(entry.item);
      } catch (e) {
        failures.push(message(e));
      }
    }
    if (this.#linkUp) {
      const dev = this.#linkUp;
      await undoLinkChange(() => this.#net.setLinkUp(dev, false))
        .then(() => this.#journal?.record({ t: "undo-up" }))
        .catch((e) => failures.push(message(e)));
      this.#linkUp = null;
    }
    if (this.#mtu) {
      const { dev, previous } = this.#mtu;
      await undoLinkChange(() => this.#net.setMtu(dev, previous))
        .then(() => this.#journal?.record({ t: "undo-mtu" }))
        .catch((e) => failures.push(message(e)));
      this.#mtu = null;
    }
    for (const failure of failures) this.#log.warn("could not undo a host change", { error: failure });
    return failures;
  }

  /** Applies one item; false when it was already in place (not ours to undo). */
  async #do(item: PlanItem): Promise<boolean> {
    await this.#journal?.record({ t: "do", item });
    try {
      if (item.kind === "address") await this.#net.addAddress(item.spec);
      else if (item.kind === "route") await this.#net.addRoute(item.spec);
      else await this.#net.delRoute(item.spec);
      this.#log.debug("host change", { change: itemKey(item) });
      return true;
    } catch (e) {
      const errno = errnoOf(e);
      if (item.kind !== "suppress" && errno === EEXIST) {
        this.#log.warn(`${message(e)}; leaving the existing one alone`);
      } else if (item.kind === "suppress" && (errno === ESRCH || errno === ENODEV)) {
        this.#log.warn(`${message(e)}; nothing to take away`);
      } else {
        await this.#journal?.record({ t: "skip", key: itemKey(item) });
        throw e;
      }
      await this.#journal?.record({ t: "skip", key: itemKey(item) });
      return false;
    }
  }

  async #undo(item: PlanItem): Promise<void> {
    await undoPlanItem(this.#net, item);
    await this.#journal?.record({ t: "undo", key: itemKey(item) });
  }

  async #outsideRoute(address: string, tunDev: string): Promise<RouteInfo | null> {
    const ip = parseIp(address);
    if (!ip) return null;
    try {
      const route = await this.#net.routeGet(ip.text);
      if (route.dev !== tunDev) return route;
    } catch {
      // No route at all now; try the table below.
    }
    let best: RouteInfo | null = null;
    let bestLen = -1;
    for (const route of await this.#tableWithoutTunnel(ip.family, tunDev)) {
      const prefix = parseCidr(route.dst)?.prefix;
      if (!prefix || !prefixContains(prefix, ip.bytes)) continue;
      if (
        prefix.length > bestLen || (prefix.length === bestLen && (route.metric ?? 0) < (best?.metric ?? 0))
      ) {
        best = route;
        bestLen = prefix.length;
      }
    }
    return best;
  }

  async #defaultRoutes(family: 4 | 6, tunDev: string): Promise<RouteInfo[]> {
    const dst = family === 4 ? "0.0.0.0/0" : "::/0";
    return (await this.#tableWithoutTunnel(family, tunDev)).filter((route) => route.dst === dst);
  }

  /** Main-table routes not through the tunnel, plus the ones tsvpn took away. */
  async #tableWithoutTunnel(family: 4 | 6, tunDev: string): Promise<RouteInfo[]> {
    const routes = (await this.#net.listRoutes(family)).filter((route) =>
      route.table === MAIN_TABLE && route.dev !== tunDev && !this.#isOwnOutsideRoute(route)
    );
    for (const entry of this.#stack) {
      if (entry.item.kind !== "suppress") continue;
      const spec = entry.item.spec;
      if ((spec.dst.includes(":") ? 6 : 4) !== family) continue;
      routes.push({ ...spec, family, table: MAIN_TABLE, protocol: 0 });
    }
    return routes;
  }

  #isOwnOutsideRoute(route: RouteInfo): boolean {
    return this.#stack.some((entry) =>
      entry.item.kind === "route" && entry.item.via === "outside" && entry.item.spec.dst === route.dst &&
      (entry.item.spec.gateway ?? "") === (route.gateway ?? "")
    );
  }
}
