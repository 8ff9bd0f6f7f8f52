import assert from "node:assert/strict";
import { parseStaticKey } from "./static_key.ts";
import { createTlsCryptKey, writeTlsCryptKey } from "./tls_crypt_key.ts";

Deno.test("createTlsCryptKey() writes DIR/tc.key as a 0600 static key and refuses to overwrite it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn_tc_" });
  try {
    const path = await createTlsCryptKey(dir);
    assert.equal(path, `${dir}/tc.key`);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const text = await Deno.readTextFile(path);
    assert.equal(parseStaticKey(text).length, 256);
    await assert.rejects(() => writeTlsCryptKey(path), /already exists; refusing to overwrite/);
    assert.equal(await Deno.readTextFile(path), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
