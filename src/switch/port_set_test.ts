import assert from "node:assert/strict";
import { PortSet } from "./port_set.ts";

Deno.test("PortSet.add() and delete() keep the dense port list exact", () => {
  const s = new PortSet(2);
  assert.equal(s.add(5), true);
  assert.equal(s.add(7), true);
  assert.equal(s.add(9), true); // grows
  assert.equal(s.add(7), false);
  assert.equal(s.count, 3);
  assert.equal(s.delete(5), true);
  assert.equal(s.delete(5), false);
  assert.deepEqual([...s.ports.subarray(0, s.count)].sort(), [7, 9]);
  assert.equal(s.has(9), true);
  assert.equal(s.has(5), false);
  assert.throws(() => s.add(0), RangeError);
  assert.throws(() => s.add(-3), RangeError);
});
