import assert from "node:assert/strict";
import { pathExists } from "./path_exists.ts";

Deno.test("pathExists() is true for a file, a directory and a dangling symlink, false for nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn_exists_" });
  try {
    await Deno.writeTextFile(`${dir}/file`, "x");
    await Deno.symlink(`${dir}/nowhere`, `${dir}/dangling`);
    assert.equal(await pathExists(`${dir}/file`), true);
    assert.equal(await pathExists(dir), true);
    assert.equal(await pathExists(`${dir}/dangling`), true);
    assert.equal(await pathExists(`${dir}/nowhere`), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pathExists() throws for a failure other than not found", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn_exists_" });
  try {
    await Deno.writeTextFile(`${dir}/file`, "x");
    await assert.rejects(() => pathExists(`${dir}/file/inside`), Deno.errors.NotADirectory);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
