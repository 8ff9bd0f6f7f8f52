import assert from "node:assert/strict";
import { warmUpDatapath } from "./warm_up.ts";

Deno.test("warmUpDatapath() carries packets both ways once per process and skips switch mode", () => {
  assert.equal(warmUpDatapath("switch"), 0);
  const carried = warmUpDatapath("router", 20);
  // 20 rounds of 8 packets: each comes back through the socket and out of the device.
  assert.ok(carried >= 20 * 8, `carried ${carried}`);
  assert.equal(warmUpDatapath("single"), 0, "later calls return at once");
});
