import assert from "node:assert/strict";
import { writeNewSecretFile, writeSecretFile } from "./secret_file.ts";

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

Deno.test("writeSecretFile() and writeNewSecretFile() never write through a planted symlink", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn_secret_" });
  try {
    await Deno.writeTextFile(`${dir}/victim`, "precious\n");
    await Deno.symlink(`${dir}/victim`, `${dir}/server.key`);
    await Deno.symlink(`${dir}/victim`, `${dir}/tc.key`);
    await writeSecretFile(`${dir}/server.key`, "key\n");
    await assert.rejects(
      () => writeNewSecretFile(`${dir}/tc.key`, "static\n"),
      /tc.key already exists; refusing/,
    );
    assert.equal(await Deno.readTextFile(`${dir}/victim`), "precious\n");
    assert.equal((await Deno.lstat(`${dir}/server.key`)).isSymlink, false);
    assert.equal((await Deno.stat(`${dir}/server.key`)).mode! & 0o777, 0o600);
    await writeNewSecretFile(`${dir}/new.key`, "n\n");
    assert.equal((await Deno.stat(`${dir}/new.key`)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
