import assert from "node:assert/strict";
import type { NetConfig, RouteInfo } from "../device/net_config.ts";
import { clientMssfix, innerPacketLimit, lookUpUplink, UplinkClamp } from "./uplink_mss.ts";
import { Logger } from "../log/log.ts";

Deno.test("innerPacketLimit: a 1500-byte IPv4 UDP uplink carries 1448-byte inner packets (the server's default)", () => {
  assert.equal(innerPacketLimit({ mtu: 1500, family: 4, proto: "udp" }), 1448);
  assert.equal(innerPacketLimit({ mtu: 1500, family: 6, proto: "udp" }), 1428);
  assert.equal(innerPacketLimit({ mtu: 1500, family: 4, proto: "tcp" }), 1434);
  assert.equal(innerPacketLimit({ mtu: 1380, family: 4, proto: "udp" }), 1328);
});

Deno.test("clientMssfix: auto follows the smaller of the tunnel and the uplink; numbers and 0 are taken as given", () => {
  const small = { mtu: 1380, family: 4 as const, proto: "udp" as const };
  assert.equal(clientMssfix("auto", 1500, small), 1328);
  assert.equal(clientMssfix("auto", 1300, small), 1300);
  assert.equal(clientMssfix("auto", 1500, { mtu: 9000, family: 4, proto: "udp" }), 1500);
  assert.equal(clientMssfix("auto", 1500, null), 1500, "uplink unknown: the tunnel's MTU");
  assert.equal(clientMssfix("auto", 1500, { mtu: 1000, family: 4, proto: "udp" }), 948);
  assert.equal(clientMssfix("auto", 1500, { mtu: 500, family: 4, proto: "udp" }), 576, "never below 576");
  assert.equal(clientMssfix(1200, 1500, small), 1200);
  assert.equal(clientMssfix(0, 1500, small), 0);
});

function fakeNet(route: Partial<RouteInfo> | Error, mtus: Record<string, number>): NetConfig {
  return {
    routeGet: (address: string) =>
      route instanceof Error
        ? Promise.reject(route)
        : Promise.resolve({ dst: `${address}/32`, family: 4, table: 254, protocol: 0, ...route }),
    linkByName: (name: string) =>
      name in mtus
        ? Promise.resolve({ index: 2, name, mtu: mtus[name], up: true })
        : Promise.reject(new Error(`no link ${name}`)),
  } as unknown as NetConfig;
}

Deno.test("lookUpUplink: the MTU of the link the route to the server leaves by; null when unknown", async () => {
  const net = fakeNet({ dev: "eth0", gateway: "192.0.2.1" }, { eth0: 1380 });
  assert.deepEqual(await lookUpUplink(net, "198.51.100.7", "udp"), { mtu: 1380, family: 4, proto: "udp" });
  assert.equal(await lookUpUplink(fakeNet({}, {}), "198.51.100.7", "udp"), null, "a route without a device");
  assert.equal(
    await lookUpUplink(fakeNet({ dev: "gone0" }, {}), "198.51.100.7", "udp"),
    null,
    "link vanished",
  );
  assert.equal(await lookUpUplink(fakeNet(new Error("unreachable"), {}), "198.51.100.7", "udp"), null);
});

Deno.test("UplinkClamp sets the datapath's clamp after a connect and logs only when the value changes", async () => {
  const lines: string[] = [];
  const clamp = new UplinkClamp("auto", new Logger({ sink: (l) => lines.push(l) }));
  const set: number[] = [];
  const datapath = { setMssfix: (m: number) => void set.push(m) };
  const to = { net: fakeNet({ dev: "eth0" }, { eth0: 1280 }), server: "198.51.100.7", proto: "udp" as const };
  await clamp.apply(datapath, to, 1500);
  await clamp.apply(datapath, to, 1500);
  assert.deepEqual(set, [1228], "a reconnect with the same uplink changes nothing");
  await clamp.apply(datapath, { ...to, net: null }, 1400);
  assert.deepEqual(set, [1228, 1400], "without a host to ask: the tunnel's MTU");
  assert.equal(lines.filter((l) => /TCP MSS clamp/.test(l)).length, 2);
});
