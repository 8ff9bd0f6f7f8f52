import assert from "node:assert/strict";
import { inTempDir } from "./temp_dir.ts";

Deno.test("inTempDir() gives a fresh directory, returns fn's result and removes the directory", async () => {
  let seen = "";
  const result = await inTempDir(async (dir) => {
    seen = dir;
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    await Deno.writeTextFile(`${dir}/file`, "x");
    return 42;
  }, "tsvpn_tmp_test_");
  assert.equal(result, 42);
  assert.match(seen, /tsvpn_tmp_test_/);
  assert.throws(() => Deno.statSync(seen), Deno.errors.NotFound);
});

Deno.test("inTempDir() removes the directory when fn throws", async () => {
  let seen = "";
  await assert.rejects(
    () =>
      inTempDir(async (dir) => {
        seen = dir;
        await Deno.writeTextFile(`${dir}/file`, "x");
        throw new Error("boom");
      }),
    /boom/,
  );
  assert.throws(() => Deno.statSync(seen), Deno.errors.NotFound);
});
