import assert from "node:assert/strict";
import { libc } from "../../ffi/libc.ts";
import { openLoopbackRig } from "../../ffi/loopback_rig.ts";
import { Readiness } from "../../ffi/readiness.ts";
import { TunDevice } from "../../ffi/tun.ts";
import { DatapathCounters } from "./counters.ts";
import { type OpenLoopbackRig, warmedUp, warmUpDatapath, type WarmUpProfile } from "./warm_up.ts";

const router: WarmUpProfile = {
  mode: "router",
  mssfix: 1448,
  float: true,
  clientToClient: false,
  vnetHeader: true,
};

const lib = libc();
const opened: boolean[] = [];
/** As TunDevice.openLoopbackRig does, recording the vnetHeader asked for. */
const open: OpenLoopbackRig = (vnetHeader) => {
  opened.push(vnetHeader);
  return openLoopbackRig(
    lib,
    (fd) => new TunDevice(lib, fd, new Readiness(lib, fd), "loopback", "tun", 0, vnetHeader),
  );
};

Deno.test("warmUpDatapath() takes every branch of real traffic once per process and skips switch mode", () => {
  assert.equal(warmUpDatapath({ ...router, mode: "switch" }, open), 0);
  assert.equal(warmedUp(), false);
  const counters = new DatapathCounters();
  const carried = warmUpDatapath(router, open, 48, counters);
  assert.equal(warmedUp(), true);
  assert.deepEqual(opened, [true, true], "two rigs with the real device's vnet header");
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
  assert.equal(warmUpDatapath({ ...router, mode: "single" }, open), 0, "later calls return at once");
});
