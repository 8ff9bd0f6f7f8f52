import assert from "node:assert/strict";
import { join } from "node:path";
import { readPemSource } from "./pem_source.ts";

Deno.test("readPemSource() returns inline text as is and reads files", async () => {
  assert.equal(await readPemSource({ kind: "inline", pem: "PEM" }), "PEM");
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "ca.crt");
    await Deno.writeTextFile(file, "-----BEGIN CERTIFICATE-----\n");
    assert.equal(await readPemSource({ kind: "file", path: file }), "-----BEGIN CERTIFICATE-----\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readPemSource() rejects with the path when the file is missing", async () => {
  await assert.rejects(() => readPemSource({ kind: "file", path: "/nonexistent/ca.crt" }), {
    message: "Cannot read /nonexistent/ca.crt: no such file",
  });
});
