import assert from "node:assert/strict";
import { ControlReplayGuard } from "./replay_guard.ts";

function accept(g: ControlReplayGuard, id: number, t: number): boolean {
  if (!g.check(id, t)) return false;
  g.commit(id, t);
  return true;
}

Deno.test("ControlReplayGuard.check() rejects a duplicate and id 0", () => {
  const g = new ControlReplayGuard();
  assert.equal(g.check(0, 100), false);
  assert.equal(accept(g, 1, 100), true);
  assert.equal(accept(g, 1, 100), false);
  assert.equal(accept(g, 2, 100), true);
});

Deno.test("ControlReplayGuard.check() accepts reordering inside the window only", () => {
  const g = new ControlReplayGuard();
  assert.equal(accept(g, 10, 5), true);
  assert.equal(accept(g, 8, 5), true);
  assert.equal(accept(g, 9, 5), true);
  assert.equal(accept(g, 9, 5), false);
  assert.equal(accept(g, 200, 5), true);
  assert.equal(accept(g, 100, 5), false, "older than the 64-packet window");
  assert.equal(accept(g, 199, 5), true);
});

Deno.test("ControlReplayGuard.check() rejects time going backwards and resets on newer time", () => {
  const g = new ControlReplayGuard();
  assert.equal(accept(g, 5, 1000), true);
  assert.equal(accept(g, 6, 999), false);
  assert.equal(accept(g, 1, 1001), true);
  assert.equal(accept(g, 5, 1000), false);
});

Deno.test("ControlReplayGuard.check() has no side effect without commit()", () => {
  const g = new ControlReplayGuard();
  assert.equal(g.check(3, 1), true);
  assert.equal(g.check(3, 1), true);
  g.commit(3, 1);
  assert.equal(g.check(3, 1), false);
});
