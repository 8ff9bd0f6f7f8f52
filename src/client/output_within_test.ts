import assert from "node:assert/strict";
import { outputWithin } from "./output_within.ts";

function spawn(script: string): Deno.ChildProcess {
  return new Deno.Command("sh", { args: ["-c", script], stdin: "null", stdout: "piped", stderr: "piped" })
    .spawn();
}

Deno.test("outputWithin() returns the output of a child that exits in time", async () => {
  const { output, timedOut } = await outputWithin(spawn("echo out; echo err >&2; exit 3"), 10_000);
  assert.equal(timedOut, false);
  assert.equal(output.code, 3);
  assert.equal(new TextDecoder().decode(output.stdout), "out\n");
  assert.equal(new TextDecoder().decode(output.stderr), "err\n");
});

Deno.test("outputWithin() kills a child that outlives the deadline and says so", async () => {
  const started = Date.now();
  const { output, timedOut } = await outputWithin(spawn("echo begun; exec sleep 30"), 200);
  assert.equal(timedOut, true);
  assert.equal(output.signal, "SIGKILL");
  assert.equal(new TextDecoder().decode(output.stdout), "begun\n");
  assert.ok(Date.now() - started < 10_000, "killed long before the child's own end");
});
