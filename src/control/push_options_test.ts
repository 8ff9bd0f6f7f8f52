import assert from "node:assert/strict";
import {
  buildPushReplies,
  formatPushOptions,
  parsePushOptions,
  type PushOptions,
  PushReplyAssembler,
  pushReplyOptions,
  splitOptionWords,
} from "./push_options.ts";

const full: PushOptions = {
  redirectGateway: ["def1", "bypass-dhcp"],
  routes: [{ network: "192.168.10.0", netmask: "255.255.255.0" }, {
    network: "10.9.0.0",
    netmask: "255.255.0.0",
    gateway: "10.8.0.1",
    metric: 5,
  }],
  routesIpv6: [{ network: "fd00:1::/64" }],
  dhcpOptions: [{ type: "DNS", value: "10.8.0.1" }, { type: "DOMAIN", value: "example.org" }],
  routeGateway: "10.8.0.1",
  topology: "subnet",
  ping: 10,
  pingRestart: 60,
  ifconfigIpv6: { local: "fd00::1000/64", remote: "fd00::1" },
  ifconfig: { local: "10.8.0.2", remoteOrNetmask: "255.255.255.0" },
  peerId: 3,
  cipher: "AES-256-GCM",
  protocolFlags: ["cc-exit"],
  tunMtu: 1500,
  extra: ["explicit-exit-notify 1"],
};

Deno.test("buildPushReplies() writes a single OpenVPN PUSH_REPLY line", () => {
  const [msg, ...rest] = buildPushReplies({
    routeGateway: "10.8.0.1",
    topology: "subnet",
    ping: 10,
    pingRestart: 60,
    ifconfig: { local: "10.8.0.2", remoteOrNetmask: "255.255.255.0" },
    peerId: 0,
    cipher: "AES-256-GCM",
  });
  assert.equal(rest.length, 0);
  assert.equal(
    msg,
    "PUSH_REPLY,route-gateway 10.8.0.1,topology subnet,ping 10,ping-restart 60," +
      "ifconfig 10.8.0.2 255.255.255.0,peer-id 0,cipher AES-256-GCM",
  );
});

Deno.test("parsePushOptions() inverts formatPushOptions() for every modelled option", () => {
  const parsed = parsePushOptions(formatPushOptions(full));
  assert.deepEqual(parsed.routes, [{
    network: "192.168.10.0",
    netmask: "255.255.255.0",
    gateway: undefined,
    metric: undefined,
  }, full.routes![1]]);
  assert.deepEqual({ ...parsed, routes: undefined, routesIpv6: undefined }, {
    ...full,
    routes: undefined,
    routesIpv6: undefined,
  });
  assert.equal(parsed.routesIpv6![0].network, "fd00:1::/64");
});

Deno.test("buildPushReplies() splits long replies with push-continuation and PushReplyAssembler joins them", () => {
  const routes = Array.from({ length: 120 }, (_, i) => ({ network: `10.${i}.0.0`, netmask: "255.255.0.0" }));
  const parts = buildPushReplies({ ...full, routes }, 300);
  assert.ok(parts.length > 3);
  for (const p of parts.slice(0, -1)) assert.ok(p.endsWith(",push-continuation 2") && p.length <= 300);
  assert.ok(parts[parts.length - 1].endsWith(",push-continuation 1"));
  const asm = new PushReplyAssembler();
  let done: string[] | null = null;
  for (const p of parts) {
    assert.equal(done, null);
    done = asm.add(p);
  }
  assert.deepEqual(parsePushOptions(done!).routes!.length, 120);
});

Deno.test("parsePushOptions() keeps unknown options and handles quoted words", () => {
  const o = parsePushOptions(
    pushReplyOptions('PUSH_REPLY,dhcp-option DOMAIN-SEARCH "a b",block-outside-dns,ping x'),
  );
  assert.deepEqual(o.dhcpOptions, [{ type: "DOMAIN-SEARCH", value: "a b" }]);
  assert.deepEqual(o.extra, ["block-outside-dns"]);
  assert.equal(o.ping, undefined);
  assert.deepEqual(splitOptionWords('a "b \\" c" d'), ["a", 'b " c', "d"]);
  assert.throws(() => formatPushOptions({ extra: ["bad,comma"] }));
});

Deno.test("PushReplyAssembler.add() stops growing at its byte limit when continuations never end", () => {
  const asm = new PushReplyAssembler(10_000);
  const part = "PUSH_REPLY," +
    Array.from({ length: 20 }, (_, i) => `route 10.0.${i}.0 255.255.255.0`).join(",") +
    ",push-continuation 2";
  let overflowedAt = -1;
  for (let i = 0; i < 10_000 && overflowedAt < 0; i++) {
    assert.equal(asm.add(part), null);
    if (asm.overflowed) overflowedAt = i;
  }
  assert.ok(overflowedAt > 0 && overflowedAt < 30, `overflowed after ${overflowedAt} parts`);
});

Deno.test("parsePushOptions() ignores out-of-range numbers", () => {
  const o = parsePushOptions([
    "ping 99999999999999999999",
    "peer-id 16777216",
    "ping-restart -1",
    "tun-mtu 70000",
  ]);
  assert.equal(o.ping, undefined);
  assert.equal(o.peerId, undefined);
  assert.equal(o.pingRestart, undefined);
  assert.equal(o.tunMtu, undefined);
  assert.equal(parsePushOptions(["peer-id 16777215"]).peerId, 0xffffff);
});
