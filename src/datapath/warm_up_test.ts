import assert from "node:assert/strict";
import { DatapathCounters } from "./counters.ts";
import { warmUpDatapath, type WarmUpProfile } from "./warm_up.ts";

const router: WarmUpProfile = {
  mode: "router",
  mssfix: 1448,
  float: true,
  clientToClient: false,
  vnetHeader: true,
};

Deno.test("warmUpDatapath() takes every branch of real traffic once per process and skips switch mode", () => {
  assert.equal(warmUpDatapath({ ...router, mode: "switch" }), 0);
  const counters = new DatapathCounters();
  const carried = warmUpDatapath(router, 48, counters);
  assert.ok(carried >= 16 + 32 * 7, `carried ${carried}`);
  const stats = counters.statRecord();
  const drops = counters.dropRecord();
  for (const s of ["pings_in", "pings_out", "mss_clamped", "control_packets", "to_device", "from_device"]) {
    assert.ok(stats[s] > 0, `${s}: ${JSON.stringify(stats)}`);
  }
  assert.ok(drops.multicast_in_tun > 0, JSON.stringify(drops));
  // Everything else the mix sends is well formed, authentic and routable.
  for (const [reason, n] of Object.entries(drops)) {
    if (reason !== "multicast_in_tun") assert.equal(n, 0, reason);
  }
  assert.equal(warmUpDatapath({ ...router, mode: "single" }), 0, "later calls return at once");
});
