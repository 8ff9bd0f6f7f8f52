import assert from "node:assert/strict";
import { writeSecretFile } from "./secret_file.ts";

Deno.test("writeSecretFile() writes the text with mode 0600 despite a permissive existing file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn_secret_" });
  try {
    const path = `${dir}/k`;
    await Deno.writeTextFile(path, "old", { mode: 0o644 });
    await Deno.chmod(path, 0o644);
    await writeSecretFile(path, "secret\n");
    assert.equal(await Deno.readTextFile(path), "secret\n");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
