// Real-kernel tun/tap behaviour is tested in tests/os/ (inside namespaces);
// these cover what openTun checks before any syscall.
import assert from "node:assert/strict";
import { openTun } from "./tun.ts";

Deno.test("openTun() rejects a name longer than 15 bytes before the ioctl", () => {
  assert.throws(
    () => openTun({ kind: "tun", name: "tsv-name-too-long" }),
    { message: 'Interface name "tsv-name-too-long" is too long (17 bytes, at most 15)' },
  );
});

Deno.test("openTun() rejects an unknown kind and an out-of-range MTU", () => {
  assert.throws(() => openTun({ kind: "tunnel" as "tun" }), /kind must be "tun" or "tap"/);
  assert.throws(() => openTun({ kind: "tap", mtu: 40 }), /mtu must be an integer in 68\.\.65535/);
});
