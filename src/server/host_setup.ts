/**
 * The server's changes to its host, made through NetConfig and undone in
 * reverse order: the device's MTU and link state, its own VPN addresses per
 * topology (subnet: 10.8.0.1/24; net30/p2p: 10.8.0.1 peer 10.8.0.2; IPv6
 * fd00:8::1/64), the net30/p2p network route via the tun peer, and the
 * configured routes (server.routes / routes6) into the device.
 */

import type { IpPrefix } from "../addr/prefix.ts";
import type { AddressSpec, NetConfig, RouteSpec } from "../device/net_config.ts";
import type { Logger } from "../log/log.ts";
import type { ServerLayout } from "../pool/topology.ts";
import { serverTunAddresses, serverTunRoutes } from "../pool/topology.ts";

export interface HostPlan {
  dev: string;
  mtu: number;
  layout: ServerLayout | null;
  routes: IpPrefix[];
}

export class HostSetup {
  readonly #net: NetConfig;
  readonly #log: Logger;
  readonly #addresses: AddressSpec[] = [];
  readonly #routes: RouteSpec[] = [];

  constructor(net: NetConfig, log: Logger) {
    this.#net = net;
    this.#log = log;
  }

  /** What was added (for logs and tests). */
  get added(): { addresses: AddressSpec[]; routes: RouteSpec[] } {
    return { addresses: [...this.#addresses], routes: [...this.#routes] };
  }

  /** Configures the device; on failure undoes what it did and rethrows. */
  async apply(plan: HostPlan): Promise<void> {
    try {
      await this.#net.setMtu(plan.dev, plan.mtu);
      if (plan.layout) {
        for (const a of serverTunAddresses(plan.layout)) {
          const spec: AddressSpec = { dev: plan.dev, ...a };
          await this.#net.addAddress(spec);
          this.#addresses.push(spec);
          this.#log.info("address added", {
            dev: plan.dev,
            address: `${a.address}/${a.prefixLen}`,
            ...(a.peer ? { peer: a.peer } : {}),
          });
        }
      }
      await this.#net.setLinkUp(plan.dev, true);
      const routes: RouteSpec[] = plan.layout
        ? serverTunRoutes(plan.layout).map((r) => ({ ...r, dev: plan.dev }))
        : [];
      for (const p of plan.routes) routes.push({ dst: p.text, dev: plan.dev });
      for (const r of routes) {
        await this.#net.addRoute(r);
        this.#routes.push(r);
        this.#log.info("route added", {
          dst: r.dst,
          dev: plan.dev,
          ...(r.gateway ? { via: r.gateway } : {}),
        });
      }
    } catch (e) {
      await this.undo();
      throw e;
    }
  }

  /**
   * A reload changed server.routes / routes6 from `before` to `after`: adds the
   * new routes and removes those gone. Returns the failures as one-line texts
   * (a failed route stays as it was; the others still change).
   */
  async replaceRoutes(dev: string, before: IpPrefix[], after: IpPrefix[]): Promise<string[]> {
    const failures: string[] = [];
    const gone = before.filter((p) => !after.some((q) => q.text === p.text));
    const added = after.filter((p) => !before.some((q) => q.text === p.text));
    for (const p of gone) {
      const i = this.#routes.findIndex((r) => r.dst === p.text && r.dev === dev && !r.gateway);
      if (i < 0) continue;
      try {
        await this.#net.delRoute(this.#routes[i]);
        this.#routes.splice(i, 1);
        this.#log.info("route removed", { dst: p.text });
      } catch (e) {
        failures.push(`removing route ${p.text}: ${(e as Error).message.split("\n")[0]}`);
      }
    }
    for (const p of added) {
      const r: RouteSpec = { dst: p.text, dev };
      try {
        await this.#net.addRoute(r);
        this.#routes.push(r);
        this.#log.info("route added", { dst: r.dst, dev });
      } catch (e) {
        failures.push(`adding route ${p.text}: ${(e as Error).message.split("\n")[0]}`);
      }
    }
    return failures;
  }

  /** Removes every route and address it added, newest first. Never throws; failures are logged. */
  async undo(): Promise<void> {
    while (this.#routes.length > 0) {
      const r = this.#routes.pop()!;
      try {
        await this.#net.delRoute(r);
        this.#log.info("route removed", { dst: r.dst });
      } catch (e) {
        this.#log.warn("could not remove route", { dst: r.dst, reason: (e as Error).message });
      }
    }
    while (this.#addresses.length > 0) {
      const a = this.#addresses.pop()!;
      try {
        await this.#net.delAddress(a);
        this.#log.info("address removed", { dev: a.dev, address: `${a.address}/${a.prefixLen}` });
      } catch (e) {
        this.#log.warn("could not remove address", { address: a.address, reason: (e as Error).message });
      }
    }
  }
}
