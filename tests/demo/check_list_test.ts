import assert from "node:assert/strict";
import { CheckList, formatRows } from "./check_list.ts";

Deno.test("formatRows() aligns columns and leaves no trailing spaces", () => {
  assert.deepEqual(formatRows([["a", "bbb", "c"], ["dddd", "e", "f"]]), [
    "  a     bbb  c",
    "  dddd  e    f",
  ]);
});

Deno.test("CheckList.verdict() passes only when every recorded check passed", () => {
  const list = new CheckList();
  assert.equal(list.verdict(), "FAIL: nothing was checked");
  assert.equal(list.passed, false);
  assert.equal(list.add("alice pings the server", true, "0.3 ms"), true);
  assert.equal(list.verdict(), "PASS: all 1 checks passed");
  assert.equal(list.passed, true);
  assert.equal(list.add("bob pings carol", false, "no reply within 8 s"), false);
  assert.equal(list.verdict(), "FAIL: 1 of 2 checks failed");
  assert.equal(list.passed, false);
});

Deno.test("CheckList.failLines() names each failed check with its detail", () => {
  const list = new CheckList();
  list.add("a", true);
  list.add("b", false, "why");
  list.add("c", false);
  assert.deepEqual(list.failLines(), ["FAIL: b: why", "FAIL: c"]);
  assert.deepEqual(list.table(), ["  ok    a", "  FAIL  b  why", "  FAIL  c"]);
});
