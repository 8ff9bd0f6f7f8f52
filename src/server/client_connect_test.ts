import assert from "node:assert/strict";
import { readCcd } from "./client_connect.ts";

async function withCcd(files: Record<string, string>, fn: (dir: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "tsvpn-ccd-" });
  try {
    await Deno.mkdir(`${root}/ccd`);
    await Deno.writeTextFile(`${root}/secret`, "ifconfig-push 10.8.0.99 255.255.255.0\n");
    for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(`${root}/ccd/${name}`, text);
    await fn(`${root}/ccd`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("readCcd() reads NAME, else DEFAULT, else nothing", async () => {
  await withCcd({ alice: "iroute 10.1.0.0\n", DEFAULT: "push-reset\n" }, async (dir) => {
    assert.deepEqual(await readCcd(dir, "alice"), {
      ok: true,
      file: `${dir}/alice`,
      text: "iroute 10.1.0.0\n",
    });
    assert.deepEqual(await readCcd(dir, "bob"), { ok: true, file: `${dir}/DEFAULT`, text: "push-reset\n" });
  });
  await withCcd({}, async (dir) => {
    assert.deepEqual(await readCcd(dir, "bob"), { ok: true, file: null, text: "" });
  });
});

Deno.test("readCcd(): a certificate name that is not a plain file name never selects a file (path traversal), only DEFAULT", async () => {
  await withCcd({ DEFAULT: "disable\n", ".hidden": "iroute 10.2.0.0\n" }, async (dir) => {
    for (const cn of ["../secret", "..", ".hidden", "a/../../secret", "x\\y", ""]) {
      const r = await readCcd(dir, cn);
      assert.deepEqual(r, { ok: true, file: `${dir}/DEFAULT`, text: "disable\n" }, cn);
    }
  });
});

Deno.test("readCcd() refuses, rather than skips, a file it cannot use: a directory is passed over, an oversized file refuses", async () => {
  await withCcd({ DEFAULT: "" }, async (dir) => {
    await Deno.mkdir(`${dir}/carol`);
    assert.deepEqual(await readCcd(dir, "carol"), { ok: true, file: `${dir}/DEFAULT`, text: "" });
    await Deno.writeTextFile(`${dir}/dave`, "#".repeat(70_000));
    const r = await readCcd(dir, "dave");
    assert.equal(r.ok, false);
    assert.match((r as { reason: string }).reason, /dave is larger than 65536 bytes/);
  });
});
