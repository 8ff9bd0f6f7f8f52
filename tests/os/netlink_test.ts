// Real-kernel tests of ffi/netlink.ts: the child configures a tun device in a
// fresh namespace through rtnetlink and reports what `ip -j` sees there.
import assert from "node:assert/strict";
import { NetnsLab, parseLastJson, requireRoot } from "../harness/netns.ts";

const CHILD = new URL("./tun_child.ts", import.meta.url).pathname;
const { ignore } = requireRoot();

async function inNamespace<T>(args: string[]): Promise<T> {
  await using lab = new NetnsLab();
  const ns = await lab.addNamespace("nl");
  const out = await lab.runDeno(ns, CHILD, args, { check: false });
  const result = parseLastJson<T & { error?: string }>(out.stdout);
  if (result.error) throw new Error(`Child failed: ${result.error}\n${out.stderr}`);
  return result;
}

// deno-lint-ignore no-explicit-any
type Json = any;

Deno.test({
  name: "Netlink sets link, MTU, IPv4/IPv6 and point-to-point addresses and routes as ip(8) reports them",
  ignore,
  async fn() {
    const r = await inNamespace<Json>(["tun-config"]);
    const { seen } = r;
    assert.deepEqual(seen.link, { index: r.before.index, name: "tsvcfg0", mtu: 1400, up: true });
    assert.equal(seen.devMtu, 1400);

    const ipAddr = seen.ipAddr[0];
    assert.ok(ipAddr.flags.includes("UP"));
    assert.equal(ipAddr.mtu, 1400);
    const addrs = ipAddr.addr_info.map((a: Json) => [a.family, a.local, a.address ?? null, a.prefixlen]);
    assert.deepEqual(addrs.filter((a: Json) => !String(a[1]).startsWith("fe80")), [
      ["inet", "10.77.0.1", null, 24],
      ["inet", "10.76.0.1", "10.76.0.2", 32],
      ["inet6", "fd00:77::1", null, 64],
    ]);
    assert.deepEqual(seen.addresses.filter((a: Json) => !a.address.startsWith("fe80")), [
      { dev: "tsvcfg0", address: "10.77.0.1", prefixLen: 24 },
      { dev: "tsvcfg0", address: "10.76.0.1", prefixLen: 32, peer: "10.76.0.2" },
      { dev: "tsvcfg0", address: "fd00:77::1", prefixLen: 64 },
    ]);

    const route4 = (dst: string) => seen.ipRoute4.find((x: Json) => x.dst === dst);
    assert.deepEqual(
      [route4("10.78.0.0/24")?.dev, route4("10.78.0.0/24")?.metric, route4("10.78.0.0/24")?.scope],
      ["tsvcfg0", 10, "link"],
    );
    assert.deepEqual(
      [route4("10.79.0.0/24")?.gateway, route4("10.79.0.0/24")?.prefsrc],
      ["10.77.0.2", "10.77.0.1"],
    );
    const r6 = seen.ipRoute6.find((x: Json) => x.dst === "fd00:78::/64");
    assert.deepEqual([r6?.gateway, r6?.dev, r6?.metric], ["fd00:77::2", "tsvcfg0", 5]);

    const mine = seen.routes4.find((x: Json) => x.dst === "10.79.0.0/24");
    assert.deepEqual(mine, {
      family: 4,
      dst: "10.79.0.0/24",
      table: 254,
      protocol: 3,
      gateway: "10.77.0.2",
      dev: "tsvcfg0",
      src: "10.77.0.1",
    });
    assert.ok(
      seen.routes6.some((x: Json) =>
        x.dst === "fd00:78::/64" && x.metric === 5 && x.gateway === "fd00:77::2"
      ),
    );

    assert.deepEqual([seen.get4.dst, seen.get4.gateway, seen.get4.dev, seen.get4.src], [
      "10.79.0.9/32",
      "10.77.0.2",
      "tsvcfg0",
      "10.77.0.1",
    ]);
    assert.deepEqual([seen.get6.gateway, seen.get6.dev, seen.get6.src], [
      "fd00:77::2",
      "tsvcfg0",
      "fd00:77::1",
    ]);
  },
});

Deno.test({
  name: "Netlink.delRoute() and delAddress() remove exactly what they name",
  ignore,
  async fn() {
    const r = await inNamespace<Json>(["tun-config"]);
    const dsts = r.afterDelete.ipRoute4.map((x: Json) => x.dst);
    assert.ok(!dsts.includes("10.79.0.0/24"));
    assert.ok(!dsts.includes("10.76.0.2"));
    assert.ok(dsts.includes("10.78.0.0/24"));
    const locals = r.afterDelete.ipAddr[0].addr_info.map((a: Json) => a.local);
    assert.ok(!locals.includes("10.76.0.1"));
    assert.ok(locals.includes("10.77.0.1"));
  },
});

Deno.test({
  name: "TunDevice.close() removes the device and ends a pending readBatch with 0",
  ignore,
  async fn() {
    const r = await inNamespace<Json>(["tun-config"]);
    assert.equal(r.fdAfterClose, -1);
    assert.match(r.linkAfterClose.stderr, /Device "tsvcfg0" does not exist/);
    assert.equal(r.pendingResult, 0);
    assert.match(r.idleAfterClose.stderr, /Device "tsvidle0" does not exist/);
  },
});

Deno.test({
  name: "Netlink errors name the operation, the errno text and the kernel's reason",
  ignore,
  async fn() {
    const r = await inNamespace<Record<string, string>>(["netlink-errors"]);
    assert.equal(
      r.unreachableGateway,
      "add route 10.9.0.0/24 via 10.1.1.1: Network is unreachable (Nexthop has invalid gateway)",
    );
    assert.match(r.duplicateAddress, /^add address 10\.1\.1\.2\/32 dev tsverr0: File exists/);
    assert.match(
      r.missingAddress,
      /^del address 10\.1\.1\.3\/32 dev tsverr0: Cannot assign requested address \(.*no such address\)$/,
    );
    assert.equal(r.missingRoute, "del route 10.66.0.0/16: No such process (no such route)");
    assert.equal(r.missingLink, "set link tsvnone0 up: No such device");
    assert.match(r.badMtu, /^set MTU 20 on tsverr0: Invalid argument/);
    assert.equal(r.noRoute, "route get 192.0.2.1: Network is unreachable");
  },
});
