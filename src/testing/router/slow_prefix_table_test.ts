import assert from "node:assert/strict";
import { SlowPrefixTable } from "./slow_prefix_table.ts";

Deno.test("SlowPrefixTable.lookup() returns the longest matching prefix", () => {
  const t = new SlowPrefixTable();
  assert.equal(t.insert([0x0a000000], 8, 1), -1);
  assert.equal(t.insert([0x0a080000], 16, 2), -1);
  assert.equal(t.insert([0x0a080001], 16, 3), 2);
  assert.equal(t.lookup([0x0a080505]), 3);
  assert.equal(t.lookup([0x0a090505]), 1);
  assert.equal(t.lookup([0x0b000000]), -1);
  assert.equal(t.remove([0x0a080000], 16), 3);
  assert.equal(t.lookup([0x0a080505]), 1);
  assert.equal(t.removeByValue(1), 1);
  assert.equal(t.size, 0);
});
