import assert from "node:assert/strict";
import type { AddressSpec, LinkInfo, NetConfig, RouteInfo, RouteSpec } from "../device/net_config.ts";
import { Logger } from "../log/log.ts";
import { planLayout } from "../pool/topology.ts";
import { parseConfig } from "../config/load.ts";
import type { ServerConfig } from "../config/schema.ts";
import { HostSetup } from "./host_setup.ts";

class FakeNet implements NetConfig {
  calls: string[] = [];
  failOn = "";
  #op(s: string): Promise<void> {
    this.calls.push(s);
    return s.startsWith(this.failOn) && this.failOn
      ? Promise.reject(new Error(`${s}: refused`))
      : Promise.resolve();
  }
  linkByName(name: string): Promise<LinkInfo> {
    return Promise.resolve({ index: 1, name, mtu: 1500, up: true });
  }
  setLinkUp(name: string, up: boolean) {
    return this.#op(`link ${name} ${up ? "up" : "down"}`);
  }
  setMtu(name: string, mtu: number) {
    return this.#op(`mtu ${name} ${mtu}`);
  }
  addAddress(a: AddressSpec) {
    return this.#op(`addr add ${a.address}/${a.prefixLen}${a.peer ? " peer " + a.peer : ""}`);
  }
  delAddress(a: AddressSpec) {
    return this.#op(`addr del ${a.address}/${a.prefixLen}`);
  }
  listAddresses(): Promise<AddressSpec[]> {
    return Promise.resolve([]);
  }
  addRoute(r: RouteSpec) {
    return this.#op(`route add ${r.dst}${r.gateway ? " via " + r.gateway : ""} dev ${r.dev}`);
  }
  delRoute(r: RouteSpec) {
    return this.#op(`route del ${r.dst}`);
  }
  listRoutes(): Promise<RouteInfo[]> {
    return Promise.resolve([]);
  }
  routeGet(): Promise<RouteInfo> {
    return Promise.reject(new Error("unused"));
  }
  close() {}
}

const quiet = new Logger({ sink: () => {} });

function routes(text: string) {
  return (parseConfig(
    `mode: server\npki: { ca: a, cert: b, key: c }\nserver:\n${text}`,
    "/x.yaml",
  ) as ServerConfig)
    .server.routes;
}

Deno.test("HostSetup.apply() configures net30 as OpenVPN does and undo() removes it in reverse", async () => {
  const net = new FakeNet();
  const host = new HostSetup(net, quiet);
  await host.apply({
    dev: "tsvpn0",
    mtu: 1400,
    layout: planLayout({ network4: "10.8.0.0/24", topology: "net30" }),
    routes: routes("  network: 10.8.0.0/24\n  routes: [192.168.50.0/24]\n"),
  });
  assert.deepEqual(net.calls, [
    "mtu tsvpn0 1400",
    "addr add 10.8.0.1/32 peer 10.8.0.2",
    "link tsvpn0 up",
    "route add 10.8.0.0/24 via 10.8.0.2 dev tsvpn0",
    "route add 192.168.50.0/24 dev tsvpn0",
  ]);
  net.calls = [];
  await host.undo();
  assert.deepEqual(net.calls, ["route del 192.168.50.0/24", "route del 10.8.0.0/24", "addr del 10.8.0.1/32"]);
});

Deno.test("HostSetup.apply() undoes what it did when a step fails", async () => {
  const net = new FakeNet();
  net.failOn = "route add 192.168";
  const host = new HostSetup(net, quiet);
  await assert.rejects(
    host.apply({
      dev: "tsvpn0",
      mtu: 1500,
      layout: planLayout({ network4: "10.8.0.0/24", network6: "fd00:8::/64" }),
      routes: routes("  network: 10.8.0.0/24\n  routes: [192.168.50.0/24]\n"),
    }),
    /refused/,
  );
  assert.deepEqual(net.calls.slice(-2), ["addr del fd00:8::1/64", "addr del 10.8.0.1/24"]);
  assert.deepEqual(host.added, { addresses: [], routes: [] });
});

Deno.test("HostSetup.replaceRoutes() adds new routes and removes gone ones, reporting a failure without stopping", async () => {
  const net = new FakeNet();
  const host = new HostSetup(net, quiet);
  const before = routes("  network: 10.8.0.0/24\n  routes: [192.168.50.0/24, 192.168.51.0/24]\n");
  await host.apply({ dev: "tsvpn0", mtu: 1500, layout: null, routes: before });
  net.calls = [];
  net.failOn = "route add 192.168.53";
  const after = routes(
    "  network: 10.8.0.0/24\n  routes: [192.168.51.0/24, 192.168.52.0/24, 192.168.53.0/24]\n",
  );
  const failures = await host.replaceRoutes("tsvpn0", before, after);
  assert.deepEqual(net.calls, [
    "route del 192.168.50.0/24",
    "route add 192.168.52.0/24 dev tsvpn0",
    "route add 192.168.53.0/24 dev tsvpn0",
  ]);
  assert.deepEqual(failures, ["adding route 192.168.53.0/24: route add 192.168.53.0/24 dev tsvpn0: refused"]);
  assert.deepEqual(host.added.routes.map((r) => r.dst), ["192.168.51.0/24", "192.168.52.0/24"]);
});
