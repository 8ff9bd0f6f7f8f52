// Changes through rtnetlink are tested in tests/os/ (inside namespaces); here
// only read-only queries run, which need no privileges and change nothing.
import assert from "node:assert/strict";
import { describeRoute, openNetlink } from "./netlink.ts";
import { ENODEV, OsError } from "./libc.ts";

Deno.test("describeRoute() names every part of a route like ip(8) does", () => {
  assert.equal(
    describeRoute("add", { dst: "10.9.0.0/24", gateway: "10.1.1.1" }),
    "add route 10.9.0.0/24 via 10.1.1.1",
  );
  assert.equal(
    describeRoute("del", { dst: "fd00::/64", dev: "tun0", metric: 5, src: "fd00::1" }),
    "del route fd00::/64 dev tun0 metric 5 src fd00::1",
  );
});

Deno.test("Netlink.linkByName() finds lo and reports a missing link by name", async () => {
  using nl = openNetlink();
  const lo = await nl.linkByName("lo");
  assert.equal(lo.name, "lo");
  assert.equal(lo.index, 1);
  await assert.rejects(nl.linkByName("tsvnolink0"), (e: unknown) => {
    assert.ok(e instanceof OsError);
    assert.equal(e.errno, ENODEV);
    assert.equal(e.message, "link tsvnolink0: No such device");
    return true;
  });
});

Deno.test("Netlink methods reject bad input before sending anything", async () => {
  using nl = openNetlink();
  await assert.rejects(nl.addRoute({ dst: "10.0.0.0/40" }), {
    message: 'add route 10.0.0.0/40: "10.0.0.0/40" is not a prefix',
  });
  await assert.rejects(
    nl.addRoute({ dst: "10.0.0.0/8", gateway: "fd00::1" }),
    /gateway "fd00::1" is not an address of the destination's family/,
  );
  await assert.rejects(
    nl.addAddress({ dev: "lo", address: "10.0.0.1", prefixLen: 33 }),
    /prefix length must be 0\.\.32/,
  );
  await assert.rejects(nl.routeGet("nowhere"), { message: "route get nowhere: not an IP address" });
  await assert.rejects(nl.setLinkUp("x".repeat(16), true), /too long/);
});

Deno.test("Netlink.close() is idempotent and later calls reject", async () => {
  const nl = openNetlink();
  nl.close();
  nl.close();
  await assert.rejects(nl.linkByName("lo"), { message: "link lo: netlink socket is closed" });
});
