import assert from "node:assert/strict";
import { MAX_IFNAME_BYTES, validateIfName } from "./if_name.ts";

Deno.test("validateIfName() accepts names up to 15 bytes and kernel templates", () => {
  validateIfName("tun0");
  validateIfName("tsv%d");
  validateIfName("a".repeat(MAX_IFNAME_BYTES));
});

Deno.test("validateIfName() rejects a 16-byte name, counting UTF-8 bytes", () => {
  assert.throws(
    () => validateIfName("a".repeat(16)),
    { message: `Interface name "${"a".repeat(16)}" is too long (16 bytes, at most 15)` },
  );
  assert.throws(() => validateIfName("tunnel-éééééé"), /too long \(19 bytes/);
});

Deno.test("validateIfName() rejects empty names, slashes, colons, spaces and dot names", () => {
  for (const bad of ["", "a/b", "eth0:1", "a b", ".", ".."]) {
    assert.throws(() => validateIfName(bad), /Interface name/);
  }
});
