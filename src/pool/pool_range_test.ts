import assert from "node:assert/strict";
import { formatIpv4, parseIpv4 } from "../addr/ip.ts";
import { AddressPool } from "./address_pool.ts";
import { planLayout } from "./topology.ts";

const range = (start: string, end: string) => ({ start: parseIpv4(start), end: parseIpv4(end) });

function addressOf(p: AddressPool, name: string): string {
  const r = p.allocate(name);
  if (!r.ok) throw new Error(r.message);
  return formatIpv4(r.lease.ipv4!);
}

Deno.test("AddressPool with range4 hands out only addresses inside it (OpenVPN's ifconfig-pool), statics outside still work", () => {
  const layout = planLayout({ network4: "10.8.0.0/24", topology: "subnet", device: "tun" });
  const p = new AddressPool(layout, {
    range4: range("10.8.0.100", "10.8.0.101"),
    statics: { carol: { ipv4: "10.8.0.7" } },
  });
  assert.equal(addressOf(p, "alice"), "10.8.0.100");
  assert.equal(addressOf(p, "bob"), "10.8.0.101");
  const third = p.allocate("dave");
  assert.equal(third.ok, false);
  assert.equal(addressOf(p, "carol"), "10.8.0.7", "a static outside the range");
});

Deno.test("AddressPool with range4 in net30 takes the /30s whose client address lies inside", () => {
  const layout = planLayout({ network4: "10.8.0.0/24", topology: "net30", device: "tun" });
  const p = new AddressPool(layout, { range4: range("10.8.0.40", "10.8.0.51") });
  assert.deepEqual([addressOf(p, "a"), addressOf(p, "b"), addressOf(p, "c")], [
    "10.8.0.42",
    "10.8.0.46",
    "10.8.0.50",
  ]);
  assert.equal(p.allocate("d").ok, false);
});

Deno.test("AddressPool.restore() skips remembered bindings outside range4", () => {
  const layout = planLayout({ network4: "10.8.0.0/24", topology: "subnet", device: "tun" });
  const p = new AddressPool(layout, { range4: range("10.8.0.100", "10.8.0.200") });
  const result = p.restore({
    version: 1,
    leases: [{ name: "old", ipv4: "10.8.0.5" }, { name: "kept", ipv4: "10.8.0.150" }],
  });
  assert.deepEqual(result, { applied: 1, skipped: 1 });
  assert.equal(addressOf(p, "kept"), "10.8.0.150");
  assert.equal(addressOf(p, "old"), "10.8.0.100");
});
