import assert from "node:assert/strict";
import type { PushOptions } from "../control/push_options.ts";
import { Logger } from "../log/log.ts";
import { type DnsTarget, HostChanges } from "./host_changes.ts";
import { planHost } from "./host_plan.ts";
import type { DnsSettings, PlanPolicy } from "./host_plan_types.ts";
import { FakeNetConfig } from "../testing/client/net_config.ts";

const logLines: string[] = [];
const log = new Logger({ level: "debug", sink: (l) => logLines.push(l) });

const policy: PlanPolicy = {
  pull: { routes: true, redirectGateway: true, netGatewayRoutes: false, dns: "resolv.conf", filter: [] },
  routes: [],
  routes6: [],
  redirectGateway: [],
};

/** A laptop: eth0 192.168.1.10/24 (+ fd00:1::10/64), default routes via 192.168.1.1 / fd00:1::1, and tun0. */
function host(): FakeNetConfig {
  const net = new FakeNetConfig();
  net.addLink("eth0");
  net.addLink("tun0", 1500, false);
  net.seedAddress({ dev: "eth0", address: "192.168.1.10", prefixLen: 24 });
  net.seedAddress({ dev: "eth0", address: "fd00:1::10", prefixLen: 64 });
  net.seedRoute({ dst: "0.0.0.0/0", gateway: "192.168.1.1", dev: "eth0", metric: 100 });
  net.seedRoute({ dst: "::/0", gateway: "fd00:1::1", dev: "eth0" });
  return net;
}

class FakeDns implements DnsTarget {
  written: DnsSettings[] = [];
  restored = 0;
  apply(dns: DnsSettings): Promise<void> {
    this.written.push(dns);
    return Promise.resolve();
  }
  restore(): Promise<void> {
    this.restored++;
    return Promise.resolve();
  }
  originalServers(): Promise<string[]> {
    return Promise.resolve(["192.168.1.1"]);
  }
}

const base: PushOptions = {
  topology: "subnet",
  ifconfig: { local: "10.8.0.2", remoteOrNetmask: "255.255.255.0" },
  routeGateway: "10.8.0.1",
  routes: [{ network: "10.20.0.0", netmask: "255.255.0.0" }],
  dhcpOptions: [{ type: "DNS", value: "10.8.0.1" }],
};

async function applyPush(
  changes: HostChanges,
  push: PushOptions,
  serverAddress = "203.0.113.5",
  writeDns = true,
) {
  const plan = await planHost({
    dev: "tun0",
    mtu: 1500,
    push,
    policy,
    server: { address: serverAddress, port: 1194, proto: "udp" },
    lookups: changes.lookups("tun0"),
  });
  return { plan, result: await changes.apply(plan, writeDns) };
}

Deno.test("HostChanges.undoAll() after redirect-gateway def1 leaves the routing table as it was", async () => {
  const net = host();
  const before = net.snapshot();
  const dns = new FakeDns();
  const changes = new HostChanges(net, { log, dns });
  await applyPush(changes, {
    ...base,
    redirectGateway: ["def1"],
    ifconfigIpv6: { local: "fd00:8::1000/64", remote: "fd00:8::1" },
  });
  const during = net.snapshot();
  for (
    const want of [
      "route 0.0.0.0/1 via 10.8.0.1 dev tun0",
      "route 128.0.0.0/1 via 10.8.0.1 dev tun0",
      "route 203.0.113.5/32 via 192.168.1.1 dev eth0",
      "route ::/1 via fd00:8::1 dev tun0",
      "route 8000::/1 via fd00:8::1 dev tun0",
      "route 10.20.0.0/16 via 10.8.0.1 dev tun0",
      "addr tun0 10.8.0.2/24 ",
    ]
  ) assert.ok(during.includes(want), `${want} missing from\n${during.join("\n")}`);
  assert.equal(net.links.get("tun0")!.up, true);
  assert.deepEqual(dns.written.map((d) => d.servers), [["10.8.0.1"]]);
  assert.deepEqual(await changes.undoAll(), []);
  assert.deepEqual(net.snapshot(), before);
  assert.equal(net.links.get("tun0")!.up, false);
  assert.equal(dns.restored, 1);
  assert.deepEqual(changes.changes, []);
});

Deno.test("HostChanges.apply() without def1 replaces the default route and undoAll() restores it", async () => {
  const net = host();
  const before = net.snapshot();
  const changes = new HostChanges(net, { log });
  await applyPush(changes, { ...base, redirectGateway: [] }, "203.0.113.5", false);
  const during = net.snapshot();
  assert.ok(!during.includes("route 0.0.0.0/0 via 192.168.1.1 dev eth0 metric 100"));
  assert.ok(during.includes("route 0.0.0.0/0 via 10.8.0.1 dev tun0"));
  assert.equal((await net.routeGet("203.0.113.5")).gateway, "192.168.1.1");
  assert.equal((await net.routeGet("8.8.8.8")).dev, "tun0");
  await changes.undoAll();
  assert.deepEqual(net.snapshot(), before);
});

Deno.test("HostChanges.apply() on a reconnect with the same push changes nothing", async () => {
  for (const redirect of [["def1"], []]) {
    const net = host();
    const changes = new HostChanges(net, { log, dns: new FakeDns() });
    await applyPush(changes, { ...base, redirectGateway: redirect });
    const calls = net.log.length;
    const { result } = await applyPush(changes, { ...base, redirectGateway: redirect });
    assert.deepEqual(result, { added: 0, removed: 0, unchanged: true }, `redirect ${redirect}`);
    assert.equal(net.log.length, calls, net.log.slice(calls).join("\n"));
  }
});

Deno.test("HostChanges.apply() on a reconnect touches only the routes that changed", async () => {
  const net = host();
  const changes = new HostChanges(net, { log });
  await applyPush(changes, { ...base, redirectGateway: ["def1"] }, "203.0.113.5", false);
  const calls = net.log.length;
  const { result } = await applyPush(
    changes,
    { ...base, redirectGateway: ["def1"], routes: [{ network: "10.30.0.0", netmask: "255.255.0.0" }] },
    "203.0.113.5",
    false,
  );
  assert.deepEqual(net.log.slice(calls), [
    "del route 10.20.0.0/16 via 10.8.0.1 dev tun0",
    "add route 10.30.0.0/16 via 10.8.0.1 dev tun0",
  ]);
  assert.deepEqual(result, { added: 1, removed: 1, unchanged: false });
});

Deno.test("HostChanges.apply() after failover to another server routes the new server around the tunnel", async () => {
  const net = host();
  const before = net.snapshot();
  const changes = new HostChanges(net, { log });
  await applyPush(changes, { ...base, redirectGateway: ["def1"] }, "203.0.113.5", false);
  // With 0/1 and 128/1 in place the kernel would send the second server into the tunnel.
  assert.equal((await net.routeGet("198.51.100.7")).dev, "tun0");
  await applyPush(changes, { ...base, redirectGateway: ["def1"] }, "198.51.100.7", false);
  const during = net.snapshot();
  assert.ok(during.includes("route 198.51.100.7/32 via 192.168.1.1 dev eth0"), during.join("\n"));
  assert.ok(!during.some((l) => l.includes("203.0.113.5")));
  await changes.undoAll();
  assert.deepEqual(net.snapshot(), before);
});

Deno.test("HostChanges.apply() re-adds tunnel routes when the pushed address changes", async () => {
  const net = host();
  const before = net.snapshot();
  const changes = new HostChanges(net, { log });
  await applyPush(changes, base, "203.0.113.5", false);
  await applyPush(
    changes,
    {
      ...base,
      ifconfig: { local: "10.8.0.9", remoteOrNetmask: "255.255.255.0" },
    },
    "203.0.113.5",
    false,
  );
  const during = net.snapshot();
  assert.ok(during.includes("addr tun0 10.8.0.9/24 "));
  assert.ok(!during.includes("addr tun0 10.8.0.2/24 "));
  assert.ok(during.includes("route 10.20.0.0/16 via 10.8.0.1 dev tun0"), during.join("\n"));
  await changes.undoAll();
  assert.deepEqual(net.snapshot(), before);
});

Deno.test("HostChanges.apply() leaves a route that already existed alone, also when undoing", async () => {
  const net = host();
  net.seedAddress({ dev: "tun0", address: "10.8.0.2", prefixLen: 24 });
  net.seedRoute({ dst: "10.20.0.0/16", gateway: "10.8.0.1", dev: "tun0" });
  const before = net.snapshot();
  const changes = new HostChanges(net, { log });
  const { result } = await applyPush(changes, base, "203.0.113.5", false);
  assert.equal(result.added, 0);
  await changes.undoAll();
  assert.deepEqual(net.snapshot(), before);
});

Deno.test("HostChanges.undoAll() reverts what was done before a failing change", async () => {
  const net = host();
  const before = net.snapshot();
  const changes = new HostChanges(net, { log });
  net.failNext = { prefix: "add route 128.0.0.0/1", errno: 1 };
  await assert.rejects(
    applyPush(changes, { ...base, redirectGateway: ["def1"] }, "203.0.113.5", false),
    /add route 128\.0\.0\.0\/1 via 10\.8\.0\.1 dev tun0: injected failure/,
  );
  assert.ok(changes.changes.length > 0);
  assert.deepEqual(await changes.undoAll(), []);
  assert.deepEqual(net.snapshot(), before);
});

Deno.test("HostChanges.undoAll() succeeds after the tunnel device vanished with its routes", async () => {
  const net = host();
  const changes = new HostChanges(net, { log });
  await applyPush(changes, { ...base, redirectGateway: ["def1"] }, "203.0.113.5", false);
  net.removeLink("tun0");
  assert.deepEqual(await changes.undoAll(), []);
  assert.ok(!net.snapshot().some((l) => l.includes("203.0.113.5")));
});

Deno.test("HostChanges.apply() writes DNS only when asked and restores it when it is no longer pushed", async () => {
  const net = host();
  const dns = new FakeDns();
  const changes = new HostChanges(net, { log, dns });
  await applyPush(changes, base, "203.0.113.5", false);
  assert.equal(dns.written.length, 0);
  await applyPush(changes, base);
  assert.equal(dns.written.length, 1);
  await applyPush(changes, { ...base, dhcpOptions: [] });
  assert.equal(dns.restored, 1);
  await changes.undoAll();
  assert.equal(dns.restored, 1);
});

Deno.test("HostChanges.apply() sets the pushed MTU and undoAll() puts the old one back", async () => {
  const net = host();
  const changes = new HostChanges(net, { log });
  await applyPush(changes, { ...base, tunMtu: 1400 }, "203.0.113.5", false);
  assert.equal(net.links.get("tun0")!.mtu, 1400);
  await changes.undoAll();
  assert.equal(net.links.get("tun0")!.mtu, 1500);
});
