import assert from "node:assert/strict";
import { runHeapProbe } from "./heap_probe.ts";

Deno.test("runHeapProbe() returns the child's JSON and gives it a 64 MB young generation", async () => {
  const script = `
    import { getHeapSpaceStatistics } from "node:v8";
    const young = getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
    console.log(JSON.stringify({ room: young.space_available_size }));
  `;
  const { room } = await runHeapProbe(script);
  // Without the flags a fresh isolate has well under 1 MB free there.
  assert.ok(room > 32 * 1024 * 1024, `young generation room ${room}`);
});

Deno.test("runHeapProbe() throws with the child's stderr when it fails", async () => {
  await assert.rejects(() => runHeapProbe(`throw new Error("probe broke");`), /probe broke/);
});

Deno.test("runHeapProbe() passes the permissions it is given", async () => {
  const script = `console.log(JSON.stringify(Deno.env.get("PATH") !== undefined));`;
  assert.equal(await runHeapProbe<boolean>(script, ["--allow-env"]), true);
  await assert.rejects(() => runHeapProbe(script), /NotCapable|PermissionDenied|env/);
});
