import assert from "node:assert/strict";
import { formatIpv4, formatIpv6 } from "../addr/ip.ts";
import { formatPrefix } from "../addr/prefix.ts";
import { AddressPool, type AddressPoolOptions, type AllocateResult, type Lease } from "./address_pool.ts";
import { type LayoutConfig, planLayout } from "./topology.ts";

function pool(cfg: LayoutConfig, opts: AddressPoolOptions = {}): AddressPool {
  let t = 1000;
  return new AddressPool(planLayout(cfg), { clock: () => (t += 1000), ...opts });
}

function ok(r: AllocateResult): Lease {
  if (!r.ok) throw new Error(`allocation refused: ${r.message}`);
  return r.lease;
}

const v4 = (l: Lease) => (l.ipv4 === null ? null : formatIpv4(l.ipv4));

Deno.test("AddressPool.allocate() with topology subnet hands out .2, .3, … and pushes ADDR NETMASK", () => {
  const p = pool({ network4: "10.8.0.0/24", network6: "fd00:8::/64" });
  const a = ok(p.allocate("alice"));
  const b = ok(p.allocate("bob"));
  assert.equal(v4(a), "10.8.0.2");
  assert.equal(v4(b), "10.8.0.3");
  assert.equal(formatIpv6(a.ipv6!), "fd00:8::1000");
  assert.equal(formatIpv6(b.ipv6!), "fd00:8::1001");
  assert.deepEqual(p.pushIfconfig(a), {
    ifconfig: "10.8.0.2 255.255.255.0",
    ifconfigIpv6: "fd00:8::1000/64 fd00:8::1",
  });
  assert.deepEqual(p.pushLines(b), [
    "ifconfig 10.8.0.3 255.255.255.0",
    "ifconfig-ipv6 fd00:8::1001/64 fd00:8::1",
  ]);
  assert.deepEqual(p.routesFor(a).map(formatPrefix), ["10.8.0.2/32", "fd00:8::1000/128"]);
  assert.equal(p.inUse, 2);
});

Deno.test("AddressPool.allocate() with topology net30 gives each client its own /30 (.6 peer .5, .10 peer .9)", () => {
  const p = pool({ network4: "10.8.0.0/24", topology: "net30" });
  const a = ok(p.allocate("a"));
  const b = ok(p.allocate("b"));
  assert.equal(v4(a), "10.8.0.6");
  assert.equal(formatIpv4(a.ipv4Remote!), "10.8.0.5");
  assert.equal(v4(b), "10.8.0.10");
  assert.equal(p.pushIfconfig(a).ifconfig, "10.8.0.6 10.8.0.5");
  assert.equal(p.pushIfconfig(b).ifconfig, "10.8.0.10 10.8.0.9");
  assert.equal(p.pushIfconfig(a).ifconfigIpv6, null);
  for (let i = 2; i < 62; i++) ok(p.allocate(`c${i}`));
  const last = p.list().at(-1)!;
  assert.equal(last.ipv4, "10.8.0.250"); // the /30 10.8.0.248, the last one OpenVPN's pool holds
  assert.equal(p.allocate("one-too-many").ok, false);
});

Deno.test("AddressPool.allocate() with topology p2p points every client at the server address", () => {
  const p = pool({ network4: "10.8.0.0/24", topology: "p2p" });
  const a = ok(p.allocate("a"));
  const b = ok(p.allocate("b"));
  assert.equal(v4(a), "10.8.0.4");
  assert.equal(v4(b), "10.8.0.5");
  assert.equal(p.pushIfconfig(a).ifconfig, "10.8.0.4 10.8.0.1");
  assert.equal(p.pushIfconfig(b).ifconfig, "10.8.0.5 10.8.0.1");
});

Deno.test("AddressPool supports an IPv6-only pool", () => {
  const p = pool({ network6: "fd00:8::/64" });
  const a = ok(p.allocate("a"));
  assert.equal(a.ipv4, null);
  assert.deepEqual(p.pushIfconfig(a), { ifconfig: null, ifconfigIpv6: "fd00:8::1000/64 fd00:8::1" });
  assert.equal(p.capacity, 65536);
});

Deno.test("AddressPool.allocate() refuses with a result when exhausted, and release() frees a slot", () => {
  const p = pool({ network4: "10.8.0.0/29", topology: "p2p" }); // 4 slots
  const leases = ["a", "b", "c", "d"].map((n) => ok(p.allocate(n)));
  assert.deepEqual(leases.map(v4), ["10.8.0.4", "10.8.0.5", "10.8.0.6", "10.8.0.7"]);
  const refused = p.allocate("e");
  assert.deepEqual(refused, {
    ok: false,
    reason: "exhausted",
    message: "Address pool exhausted: all 4 addresses are in use or reserved",
  });
  assert.equal(p.release(leases[1]), true);
  assert.equal(p.release(leases[1]), false, "double release is refused");
  assert.equal(v4(ok(p.allocate("e"))), "10.8.0.5");
  assert.equal(p.inUse, 4);
});

Deno.test("AddressPool gives a reconnecting name its previous address and prefers never-used slots for others", () => {
  const p = pool({ network4: "10.8.0.0/24" });
  const a = ok(p.allocate("alice"));
  const b = ok(p.allocate("bob"));
  p.release(a);
  p.release(b);
  const c = ok(p.allocate("carol")); // never-used .4 beats released .2/.3
  assert.equal(v4(c), "10.8.0.4");
  const b2 = p.allocate("bob");
  assert.equal(b2.ok && b2.reused, true);
  assert.equal(v4(ok(b2)), "10.8.0.3");
  const a2 = ok(p.allocate("alice"));
  assert.equal(v4(a2), "10.8.0.2");
});

Deno.test("AddressPool takes over the slot released longest ago when no fresh slot is left", () => {
  const p = pool({ network4: "10.8.0.0/29", topology: "p2p" });
  const leases = ["a", "b", "c", "d"].map((n) => ok(p.allocate(n)));
  p.release(leases[2]); // released first
  p.release(leases[0]);
  const e = p.allocate("e");
  assert.equal(e.ok && e.reused, false);
  assert.equal(v4(ok(e)), "10.8.0.6");
  // "c" lost its memory to "e"; "a" still gets its own back.
  assert.equal(v4(ok(p.allocate("a"))), "10.8.0.4");
});

Deno.test("AddressPool refuses a second session of a connected name unless duplicateNames is set", () => {
  const p = pool({ network4: "10.8.0.0/24" });
  const a = ok(p.allocate("alice"));
  assert.deepEqual(p.allocate("alice"), {
    ok: false,
    reason: "name-in-use",
    message: 'Client "alice" is already connected',
  });
  p.release(a);
  assert.equal(v4(ok(p.allocate("alice"))), "10.8.0.2");
  const d = pool({ network4: "10.8.0.0/24" }, { duplicateNames: true });
  assert.deepEqual([ok(d.allocate("x")), ok(d.allocate("x"))].map(v4), ["10.8.0.2", "10.8.0.3"]);
});

Deno.test("AddressPool static addresses are reserved, validated and never handed out dynamically", () => {
  const p = pool({ network4: "10.8.0.0/24", network6: "fd00:8::/64" }, {
    statics: { printer: { ipv4: "10.8.0.2" }, nas: { ipv4: "10.8.0.200", ipv6: "fd00:8::beef" } },
  });
  const first = ok(p.allocate("alice"));
  assert.equal(v4(first), "10.8.0.3", ".2 is reserved for printer");
  const printer = ok(p.allocate("printer"));
  assert.equal(printer.fixed, true);
  assert.equal(v4(printer), "10.8.0.2");
  assert.equal(formatIpv6(printer.ipv6!), "fd00:8::1000", "IPv6 follows the reserved slot");
  assert.deepEqual(p.allocate("printer"), {
    ok: false,
    reason: "name-in-use",
    message: 'Client "printer" is already connected',
  });
  const nas = ok(p.allocate("nas"));
  assert.deepEqual(p.pushIfconfig(nas), {
    ifconfig: "10.8.0.200 255.255.255.0",
    ifconfigIpv6: "fd00:8::beef/64 fd00:8::1",
  });
  assert.equal(p.release(printer), true);
  assert.equal(p.release(printer), false);
  assert.equal(p.list().filter((e) => e.fixed).length, 2);

  const dup = pool({ network4: "10.8.0.0/24" }, {
    duplicateNames: true,
    statics: { s: { ipv4: "10.8.0.9" } },
  });
  ok(dup.allocate("s"));
  assert.deepEqual(dup.allocate("s"), {
    ok: false,
    reason: "static-in-use",
    message: 'Static address of "s" is in use by another session',
  });
});

Deno.test("AddressPool rejects static addresses that do not fit the topology", () => {
  const cases: [LayoutConfig, Record<string, { ipv4?: string; ipv6?: string }>, string][] = [
    [
      { network4: "10.8.0.0/24" },
      { x: { ipv4: "10.9.0.5" } },
      'Static address for "x": 10.9.0.5 is outside 10.8.0.0/24',
    ],
    [
      { network4: "10.8.0.0/24" },
      { x: { ipv4: "10.8.0.1" } },
      `Static address for "x": 10.8.0.1 is the server's own address`,
    ],
    [
      { network4: "10.8.0.0/24" },
      { x: { ipv4: "10.8.0.255" } },
      'Static address for "x": 10.8.0.255 is the network or broadcast address',
    ],
    [
      { network4: "10.8.0.0/24", topology: "p2p" },
      { x: { ipv4: "10.8.0.2" } },
      `Static address for "x": 10.8.0.2 is the server's own address`,
    ],
    [
      { network4: "10.8.0.0/24", topology: "net30" },
      { x: { ipv4: "10.8.0.5" } },
      'Static address for "x": 10.8.0.5 is not the client end of a /30 (net30 clients use .2 of their /30, like 10.8.0.6)',
    ],
    [
      { network4: "10.8.0.0/24" },
      { x: { ipv4: "10.8.0.7" }, y: { ipv4: "10.8.0.7" } },
      'Static address for "y": 10.8.0.7 is already reserved for "x"',
    ],
    [
      { network4: "10.8.0.0/24" },
      { x: { ipv6: "fd00::5" } },
      'Static address for "x": no IPv6 network is configured',
    ],
    [
      { network6: "fd00:8::/64" },
      { x: { ipv6: "fd00:8::1" } },
      `Static address for "x": fd00:8::1 is the server's own address`,
    ],
    [
      { network6: "fd00:8::/64" },
      { x: { ipv6: "fd00:9::1" } },
      'Static address for "x": fd00:9::1 is outside fd00:8::/64',
    ],
    [
      { network4: "10.8.0.0/24" },
      { x: { ipv4: "10.8.0.300" } },
      'Static address for "x": Invalid IPv4 address "10.8.0.300"',
    ],
    [{ network4: "10.8.0.0/24" }, { x: {} }, 'Static address for "x" names no address'],
  ];
  for (const [cfg, statics, message] of cases) {
    assert.throws(() => pool(cfg, { statics }), { name: "RangeError", message });
  }
  const net30 = pool({ network4: "10.8.0.0/24", topology: "net30" }, {
    statics: { x: { ipv4: "10.8.0.10" } },
  });
  const x = ok(net30.allocate("x"));
  assert.equal(net30.pushIfconfig(x).ifconfig, "10.8.0.10 10.8.0.9");
  assert.equal(v4(ok(net30.allocate("y"))), "10.8.0.6");
  assert.equal(v4(ok(net30.allocate("z"))), "10.8.0.14", "the reserved /30 is skipped");
});

Deno.test("AddressPool.snapshot() and restore() bring names back to their addresses after a restart", () => {
  const p1 = pool({ network4: "10.8.0.0/24", network6: "fd00:8::/64" }, {
    statics: { s: { ipv4: "10.8.0.50" } },
  });
  const a = ok(p1.allocate("alice"));
  ok(p1.allocate("bob"));
  ok(p1.allocate("carol"));
  ok(p1.allocate("s"));
  p1.release(a);
  const snap = p1.snapshot();
  assert.deepEqual(snap, {
    version: 1,
    leases: [
      { name: "alice", ipv4: "10.8.0.2", ipv6: "fd00:8::1000" },
      { name: "bob", ipv4: "10.8.0.3", ipv6: "fd00:8::1001" },
      { name: "carol", ipv4: "10.8.0.4", ipv6: "fd00:8::1002" },
    ],
  });
  const p2 = pool({ network4: "10.8.0.0/24", network6: "fd00:8::/64" });
  const before = p2.changes;
  assert.deepEqual(p2.restore(snap), { applied: 3, skipped: 0 });
  assert.ok(p2.changes > before);
  assert.equal(v4(ok(p2.allocate("dave"))), "10.8.0.5", "remembered slots are used last");
  const c = p2.allocate("carol");
  assert.equal(c.ok && c.reused, true);
  assert.equal(v4(ok(c)), "10.8.0.4");
  assert.equal(v4(ok(p2.allocate("alice"))), "10.8.0.2");

  // Entries that no longer fit are skipped, not fatal.
  const other = pool({ network4: "10.9.0.0/24" }, { statics: { s: { ipv4: "10.9.0.3" } } });
  const r = other.restore({
    version: 1,
    leases: [
      { name: "a", ipv4: "10.8.0.2" },
      { name: "b", ipv4: "10.9.0.3" },
      { name: "c", ipv4: "garbage" },
      { name: "d", ipv4: "10.9.0.7" },
      { name: "d", ipv4: "10.9.0.8" },
      { name: "e", ipv4: "10.9.0.7" },
    ],
  });
  assert.deepEqual(r, { applied: 1, skipped: 5 });
  assert.equal(v4(ok(other.allocate("d"))), "10.9.0.7");
});

Deno.test("AddressPool.list() reports remembered bindings and their state", () => {
  const p = pool({ network4: "10.8.0.0/24" });
  const a = ok(p.allocate("alice"));
  ok(p.allocate("bob"));
  p.release(a);
  assert.deepEqual(p.list(), [
    { name: "alice", ipv4: "10.8.0.2", ipv6: null, inUse: false, fixed: false },
    { name: "bob", ipv4: "10.8.0.3", ipv6: null, inUse: true, fixed: false },
  ]);
});

Deno.test("AddressPool.setStatic() adds, moves and removes a reservation at run time, refusing one that is in use or taken", () => {
  const p = pool({ network4: "10.8.0.0/24" }, { statics: { carol: { ipv4: "10.8.0.9" } } });
  const dave = ok(p.allocate("dave"));
  assert.equal(v4(dave), "10.8.0.2");
  p.setStatic("alice", { ipv4: "10.8.0.50" });
  assert.deepEqual(p.staticOf("alice"), { ipv4: "10.8.0.50" });
  const alice = ok(p.allocate("alice"));
  assert.deepEqual([v4(alice), alice.fixed], ["10.8.0.50", true]);
  assert.throws(() => p.setStatic("alice", { ipv4: "10.8.0.51" }), /Static address of "alice" is in use/);
  p.release(alice);
  assert.throws(() => p.setStatic("alice", { ipv4: "10.8.0.9" }), /reserved for "carol"/);
  assert.throws(() => p.setStatic("alice", { ipv4: "10.8.0.2" }), /in use by "dave"/);
  assert.throws(() => p.setStatic("alice", { ipv4: "10.9.0.2" }), /outside 10\.8\.0\.0\/24/);
  assert.deepEqual(p.staticOf("alice"), { ipv4: "10.8.0.50" }, "a refused change changes nothing");
  p.setStatic("alice", null);
  assert.equal(p.staticOf("alice"), null);
  const again = ok(p.allocate("alice"));
  assert.equal(again.fixed, false);
  assert.notEqual(v4(again), "10.8.0.9");
  // dave's address can be reserved once dave is gone.
  p.release(dave);
  p.setStatic("erin", { ipv4: "10.8.0.2" });
  assert.deepEqual([v4(ok(p.allocate("dave"))) !== "10.8.0.2", v4(ok(p.allocate("erin")))], [
    true,
    "10.8.0.2",
  ]);
});
