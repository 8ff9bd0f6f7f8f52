// Run by tun_test.ts as `deno test` inside a namespace (never directly from the
// root namespace): closing a device must leave no pending op or resource that
// trips Deno's test sanitizers, even when a readBatch was never awaited.
import assert from "node:assert/strict";
import { openTun } from "../../ffi/tun.ts";
import { pause } from "../../src/testing/wait.ts";

Deno.test("TunDevice.close() with an un-awaited pending readBatch leaves nothing pending", () => {
  const dev = openTun({ kind: "tun" });
  dev.readBatch([new Uint8Array(2048)], new Int32Array(1), 0);
  dev.close();
});

Deno.test("TunDevice.close() resolves a pending readBatch with 0", async () => {
  const dev = openTun({ kind: "tap" });
  const pending = dev.readBatch([new Uint8Array(2048)], new Int32Array(1), 0);
  await pause(20); // part of the scenario: the read is blocked in poll(2) when close() comes
  dev.close();
  assert.equal(await pending, 0);
  assert.equal(await dev.readBatch([new Uint8Array(2048)], new Int32Array(1), 0), 0);
});
