import assert from "node:assert/strict";
import { ensurePrivateDir, writeFileAtomic, writeFileExclusive } from "./safe_file.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn_safe_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function mode(path: string): Promise<number> {
  return (await Deno.stat(path)).mode! & 0o777;
}

/** A file outside the target's control whose content and mode must survive. */
async function victim(dir: string): Promise<string> {
  const path = `${dir}/victim`;
  await Deno.writeTextFile(path, "precious\n");
  await Deno.chmod(path, 0o644);
  return path;
}

async function assertUntouched(path: string): Promise<void> {
  assert.equal(await Deno.readTextFile(path), "precious\n");
  assert.equal(await mode(path), 0o644);
}

Deno.test("writeFileAtomic() writes with exactly the mode asked, whatever the umask, and leaves no temp file", async () => {
  await withDir(async (dir) => {
    const old = Deno.umask(0o077);
    try {
      await writeFileAtomic(`${dir}/crl.pem`, "public\n", { mode: 0o644 });
    } finally {
      Deno.umask(old);
    }
    await writeFileAtomic(`${dir}/k`, "secret\n");
    assert.equal(await mode(`${dir}/crl.pem`), 0o644);
    assert.equal(await mode(`${dir}/k`), 0o600, "0600 by default");
    await Deno.chmod(`${dir}/k`, 0o666);
    await writeFileAtomic(`${dir}/k`, "replaced\n");
    assert.equal(await Deno.readTextFile(`${dir}/k`), "replaced\n");
    assert.equal(await mode(`${dir}/k`), 0o600, "a permissive old file does not lend its mode");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["crl.pem", "k"]);
  });
});

Deno.test("writeFileAtomic() replaces a symlink planted at the target instead of writing through it", async () => {
  await withDir(async (dir) => {
    const target = await victim(dir);
    await Deno.symlink(target, `${dir}/ca.key`);
    await writeFileAtomic(`${dir}/ca.key`, "key\n");
    await assertUntouched(target);
    const info = await Deno.lstat(`${dir}/ca.key`);
    assert.ok(info.isFile && !info.isSymlink);
    assert.equal(await Deno.readTextFile(`${dir}/ca.key`), "key\n");
    assert.equal(info.mode! & 0o777, 0o600);
  });
});

Deno.test("writeFileAtomic() never follows a symlink planted at its temporary name", async () => {
  await withDir(async (dir) => {
    const target = await victim(dir);
    const dangling = `${dir}/created-by-us`;
    await Deno.symlink(target, `${dir}/ipp.json.tmp-${Deno.pid}`);
    await writeFileAtomic(`${dir}/ipp.json`, "{}\n");
    await assertUntouched(target);
    assert.equal(await Deno.readTextFile(`${dir}/ipp.json`), "{}\n");
    // A dangling link would otherwise create a file wherever it points.
    await Deno.symlink(dangling, `${dir}/status.log.tmp-${Deno.pid}`);
    await writeFileAtomic(`${dir}/status.log`, "x\n");
    await assert.rejects(() => Deno.lstat(dangling), Deno.errors.NotFound);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "ipp.json",
      "status.log",
      "victim",
    ]);
  });
});

Deno.test("writeFileAtomic() fails cleanly when the temporary name is held by a directory", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/f.tmp-${Deno.pid}/inner`, { recursive: true });
    await assert.rejects(() => writeFileAtomic(`${dir}/f`, "x"), Deno.errors.AlreadyExists);
    await assert.rejects(() => Deno.lstat(`${dir}/f`), Deno.errors.NotFound);
  });
});

Deno.test("writeFileExclusive() creates a new file but refuses an existing file or any symlink", async () => {
  await withDir(async (dir) => {
    const target = await victim(dir);
    await writeFileExclusive(`${dir}/tc.key`, "static key\n");
    assert.equal(await mode(`${dir}/tc.key`), 0o600);
    await assert.rejects(() => writeFileExclusive(`${dir}/tc.key`, "other\n"), Deno.errors.AlreadyExists);
    assert.equal(await Deno.readTextFile(`${dir}/tc.key`), "static key\n");
    await Deno.symlink(target, `${dir}/planted.key`);
    await assert.rejects(() => writeFileExclusive(`${dir}/planted.key`, "k\n"), Deno.errors.AlreadyExists);
    await Deno.symlink(`${dir}/nowhere`, `${dir}/dangling.key`);
    await assert.rejects(() => writeFileExclusive(`${dir}/dangling.key`, "k\n"), Deno.errors.AlreadyExists);
    await assertUntouched(target);
    await assert.rejects(() => Deno.lstat(`${dir}/nowhere`), Deno.errors.NotFound);
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      ["dangling.key", "planted.key", "tc.key", "victim"],
      "no temporary file left behind",
    );
  });
});

Deno.test("ensurePrivateDir() creates a 0700 directory and closes an existing 0755 one", async () => {
  await withDir(async (dir) => {
    await ensurePrivateDir(`${dir}/a/b`);
    assert.equal(await mode(`${dir}/a/b`), 0o700);
    await Deno.mkdir(`${dir}/open`, { mode: 0o755 });
    await Deno.chmod(`${dir}/open`, 0o755);
    await ensurePrivateDir(`${dir}/open`);
    assert.equal(await mode(`${dir}/open`), 0o700);
    await Deno.writeTextFile(`${dir}/file`, "");
    await assert.rejects(() => ensurePrivateDir(`${dir}/file`));
  });
});
