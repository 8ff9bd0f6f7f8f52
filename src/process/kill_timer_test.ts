import assert from "node:assert/strict";
import { killAfter } from "./kill_timer.ts";

Deno.test("killAfter() kills a child still running at its deadline and says so", async () => {
  const child = new Deno.Command("sleep", { args: ["30"], stdout: "null", stderr: "null" }).spawn();
  const deadline = killAfter(child, 50);
  const status = await child.status;
  deadline.clear();
  assert.equal(deadline.timedOut, true);
  assert.equal(status.signal, "SIGKILL");
});

Deno.test("killAfter() leaves a child that exits in time alone", async () => {
  const child = new Deno.Command("true", { stdout: "null", stderr: "null" }).spawn();
  const deadline = killAfter(child, 10_000);
  const status = await child.status;
  deadline.clear();
  assert.equal(deadline.timedOut, false);
  assert.equal(status.code, 0);
});
