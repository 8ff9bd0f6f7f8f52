import assert from "node:assert/strict";
import { checkMeshSettings, DEFAULT_MESH_SETTINGS, helloFor, timingsFromHello } from "./settings.ts";

Deno.test("DEFAULT_MESH_SETTINGS are the issue's defaults: keepalive 25 s, punch timeout 5 s, mesh off", () => {
  assert.equal(DEFAULT_MESH_SETTINGS.enabled, false);
  assert.equal(DEFAULT_MESH_SETTINGS.keepaliveS, 25);
  assert.equal(DEFAULT_MESH_SETTINGS.punchTimeoutS, 5);
  assert.deepEqual(checkMeshSettings({ ...DEFAULT_MESH_SETTINGS }), DEFAULT_MESH_SETTINGS);
});

Deno.test("checkMeshSettings() names the first setting out of range", () => {
  assert.throws(
    () => checkMeshSettings({ ...DEFAULT_MESH_SETTINGS, punchTimeoutS: 0 }),
    /punchTimeoutS must be 1\.\.300/,
  );
  assert.throws(() => checkMeshSettings({ ...DEFAULT_MESH_SETTINGS, maxPairs: 1.5 }), /maxPairs/);
});

Deno.test("timingsFromHello() takes the server's keepalive, punch timeout and retry", () => {
  const t = timingsFromHello(
    helloFor({ ...DEFAULT_MESH_SETTINGS, keepaliveS: 15, punchTimeoutS: 2, retryS: 60 }),
  );
  assert.equal(t.keepaliveMs, 15_000);
  assert.equal(t.punchTimeoutMs, 2_000);
  assert.equal(t.retryMs, 60_000);
  assert.equal(t.probeIntervalMs, 1_000);
  assert.ok(t.retryMaxMs >= t.retryMs);
});
