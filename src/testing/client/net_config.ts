/**
 * Test double: a NetConfig that behaves like a small kernel routing table.
 * Adding an address adds its connected route (or the peer's host route), and
 * deleting it drops the routes whose gateway only it made reachable, as the
 * kernel does; adding a route through a gateway needs the gateway to be
 * reachable on a link; duplicates fail with EEXIST, missing routes and
 * addresses with ESRCH / EADDRNOTAVAIL, missing links with ENODEV; routeGet
 * does longest-prefix match, lowest metric first. `snapshot()` is the fake's
 * `ip -j route` + `ip -j addr`, for comparing before and after. `log` records
 * every mutating call; `failNext` makes one of them fail.
 */

import type { AddressSpec, LinkInfo, NetConfig, RouteInfo, RouteSpec } from "../../device/net_config.ts";
import { parseIp } from "../../addr/ip.ts";
import { ipPrefix, parseCidr, prefixContains } from "../../addr/prefix.ts";

const EEXIST = 17;
const ESRCH = 3;
const ENODEV = 19;
const EADDRNOTAVAIL = 99;
const ENETUNREACH = 101;

export class FakeNetError extends Error {
  readonly errno: number;
  constructor(what: string, errno: number, why: string) {
    super(`${what}: ${why}`);
    this.errno = errno;
  }
}

interface FakeRoute extends RouteInfo {
  /** Added by the fake "kernel" for an address. */
  kernel: boolean;
}

export class FakeNetConfig implements NetConfig {
  readonly links = new Map<string, LinkInfo>();
  addresses: AddressSpec[] = [];
  routes: FakeRoute[] = [];
  readonly log: string[] = [];
  /** Set to make the next call whose log line starts with this prefix fail. */
  failNext: { prefix: string; errno: number } | null = null;
  #nextIndex = 1;

  addLink(name: string, mtu = 1500, up = true): void {
    this.links.set(name, { index: this.#nextIndex++, name, mtu, up });
  }

  removeLink(name: string): void {
    this.links.delete(name);
    this.addresses = this.addresses.filter((a) => a.dev !== name);
    this.routes = this.routes.filter((r) => r.dev !== name);
  }

  /** A route present before the test (as if configured by DHCP or an admin). */
  seedRoute(spec: RouteSpec): void {
    this.routes.push(this.#info(spec, false));
  }

  seedAddress(spec: AddressSpec): void {
    this.addresses.push({ ...spec });
    this.#connected(spec);
  }

  /** Everything observable, in a stable order. */
  snapshot(): string[] {
    const rs = this.routes.map((r) => `route ${describe(r)}${r.kernel ? " kernel" : ""}`);
    const as = this.addresses.map((a) => `addr ${a.dev} ${a.address}/${a.prefixLen} ${a.peer ?? ""}`);
    return [...rs, ...as].sort();
  }

  linkByName(name: string): Promise<LinkInfo> {
    const l = this.links.get(name);
    return l ? Promise.resolve({ ...l }) : this.#fail(`link ${name}`, ENODEV, "no such device");
  }

  setLinkUp(name: string, up: boolean): Promise<void> {
    return this.#do(`set link ${name} ${up ? "up" : "down"}`, () => {
      this.#link(name).up = up;
    });
  }

  setMtu(name: string, mtu: number): Promise<void> {
    return this.#do(`set MTU ${mtu} on ${name}`, () => {
      this.#link(name).mtu = mtu;
    });
  }

  addAddress(spec: AddressSpec): Promise<void> {
    const what = `add address ${spec.address}/${spec.prefixLen}${
      spec.peer ? ` peer ${spec.peer}` : ""
    } dev ${spec.dev}`;
    return this.#do(what, () => {
      this.#link(spec.dev);
      if (this.addresses.some((a) => a.dev === spec.dev && a.address === spec.address)) {
        throw new FakeNetError(what, EEXIST, "File exists");
      }
      this.addresses.push({ ...spec });
      this.#connected(spec);
    });
  }

  delAddress(spec: AddressSpec): Promise<void> {
    const what = `del address ${spec.address}/${spec.prefixLen} dev ${spec.dev}`;
    return this.#do(what, () => {
      const i = this.addresses.findIndex((a) => a.dev === spec.dev && a.address === spec.address);
      if (i < 0) throw new FakeNetError(what, EADDRNOTAVAIL, "no such address");
      const [a] = this.addresses.splice(i, 1);
      const k = connectedDst(a);
      this.routes = this.routes.filter((r) => !(r.kernel && r.dev === a.dev && r.dst === k));
      // The kernel also drops routes whose gateway is no longer reachable through this device.
      this.routes = this.routes.filter((r) =>
        r.kernel || r.dev !== a.dev || !r.gateway || this.#onLink(r.gateway, a.dev)
      );
    });
  }

  listAddresses(dev?: string): Promise<AddressSpec[]> {
    return Promise.resolve(
      this.addresses.filter((a) => dev === undefined || a.dev === dev).map((a) => ({ ...a })),
    );
  }

  addRoute(spec: RouteSpec): Promise<void> {
    const what = `add route ${describe(spec)}`;
    return this.#do(what, () => {
      const info = this.#info(spec, false);
      if (spec.dev !== undefined) this.#link(spec.dev);
      if (spec.gateway !== undefined) {
        const via = spec.dev ?? this.#devFor(spec.gateway);
        if (via === null || !this.#onLink(spec.gateway, via)) {
          throw new FakeNetError(what, ENETUNREACH, "Network is unreachable");
        }
        info.dev = via;
      } else if (spec.dev === undefined) {
        throw new FakeNetError(what, ENODEV, "no device");
      }
      if (this.routes.some((r) => r.dst === info.dst && (r.metric ?? 0) === (info.metric ?? 0))) {
        throw new FakeNetError(what, EEXIST, "File exists");
      }
      this.routes.push(info);
    });
  }

  delRoute(spec: RouteSpec): Promise<void> {
    const what = `del route ${describe(spec)}`;
    return this.#do(what, () => {
      const dst = canonicalDst(spec.dst);
      const i = this.routes.findIndex((r) =>
        r.dst === dst && (spec.gateway === undefined || r.gateway === spec.gateway) &&
        (spec.dev === undefined || r.dev === spec.dev) &&
        (spec.metric === undefined || (r.metric ?? 0) === spec.metric)
      );
      if (i < 0) throw new FakeNetError(what, ESRCH, "No such process (no such route)");
      this.routes.splice(i, 1);
    });
  }

  listRoutes(family: 4 | 6): Promise<RouteInfo[]> {
    return Promise.resolve(
      this.routes.filter((r) => r.family === family).map(({ kernel: _k, ...r }) => ({ ...r })),
    );
  }

  routeGet(address: string): Promise<RouteInfo> {
    const ip = parseIp(address);
    if (!ip) return this.#fail(`route get ${address}`, 22, "not an IP address");
    let best: FakeRoute | null = null;
    for (const r of this.routes) {
      if (r.family !== ip.family) continue;
      const p = parseCidr(r.dst)!.prefix;
      if (!prefixContains(p, ip.bytes)) continue;
      const bl = best ? parseCidr(best.dst)!.length : -1;
      if (p.length > bl || (p.length === bl && (r.metric ?? 0) < (best!.metric ?? 0))) best = r;
    }
    if (!best) return this.#fail(`route get ${address}`, ENETUNREACH, "Network is unreachable");
    const out: RouteInfo = {
      family: ip.family,
      dst: `${ip.text}/${ip.family === 4 ? 32 : 128}`,
      table: 254,
      protocol: best.protocol,
      dev: best.dev,
    };
    if (best.gateway) out.gateway = best.gateway;
    return Promise.resolve(out);
  }

  close(): void {}

  #link(name: string): LinkInfo {
    const l = this.links.get(name);
    if (!l) throw new FakeNetError(`link ${name}`, ENODEV, "no such device");
    return l;
  }

  #info(spec: RouteSpec, kernel: boolean): FakeRoute {
    const dst = canonicalDst(spec.dst);
    const info: FakeRoute = {
      family: dst.includes(":") ? 6 : 4,
      dst,
      table: 254,
      protocol: kernel ? 2 : 3,
      kernel,
    };
    if (spec.gateway !== undefined) info.gateway = spec.gateway;
    if (spec.dev !== undefined) info.dev = spec.dev;
    if (spec.metric !== undefined) info.metric = spec.metric;
    if (spec.src !== undefined) info.src = spec.src;
    return info;
  }

  #connected(spec: AddressSpec): void {
    const route = this.#info({ dst: connectedDst(spec), dev: spec.dev }, true);
    if (!this.routes.some((r) => r.kernel && r.dst === route.dst && r.dev === route.dev)) {
      this.routes.push(route);
    }
  }

  #onLink(gateway: string, dev: string): boolean {
    const ip = parseIp(gateway);
    if (!ip) return false;
    return this.routes.some((r) =>
      r.dev === dev && !r.gateway && r.family === ip.family &&
      prefixContains(parseCidr(r.dst)!.prefix, ip.bytes)
    );
  }

  #devFor(gateway: string): string | null {
    for (const r of this.routes) if (!r.gateway && r.dev && this.#onLink(gateway, r.dev)) return r.dev;
    return null;
  }

  #do(what: string, work: () => void): Promise<void> {
    this.log.push(what);
    if (this.failNext && what.startsWith(this.failNext.prefix)) {
      const e = this.failNext.errno;
      this.failNext = null;
      return this.#fail(what, e, "injected failure");
    }
    try {
      work();
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #fail<T>(what: string, errno: number, why: string): Promise<T> {
    return Promise.reject(new FakeNetError(what, errno, why));
  }
}

function canonicalDst(dst: string): string {
  const c = parseCidr(dst);
  if (!c) throw new FakeNetError(`route ${dst}`, 22, "not a prefix");
  return c.prefix.text;
}

function connectedDst(a: AddressSpec): string {
  const ip = parseIp(a.peer ?? a.address)!;
  const len = a.peer ? (ip.family === 4 ? 32 : 128) : a.prefixLen;
  return ipPrefix(ip.bytes, len).text;
}

function describe(r: RouteSpec): string {
  let s = r.dst;
  if (r.gateway !== undefined) s += ` via ${r.gateway}`;
  if (r.dev !== undefined) s += ` dev ${r.dev}`;
  if (r.metric !== undefined) s += ` metric ${r.metric}`;
  if (r.src !== undefined) s += ` src ${r.src}`;
  return s;
}
