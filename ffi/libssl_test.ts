import assert from "node:assert/strict";
import { libssl, libsslStatus, opensslString, takeOpensslErrors } from "./libssl.ts";

Deno.test("libssl.so.3 loads here (OpenSSL 3), and its status says so without throwing", () => {
  assert.equal(libsslStatus(), null);
  const lib = libssl();
  assert.ok(Number(lib.OpenSSL_version_num()) >= 0x30000000);
});

Deno.test("takeOpensslErrors() names OpenSSL's queued errors in one line and empties the queue", () => {
  const lib = libssl();
  lib.ERR_clear_error();
  assert.equal(takeOpensslErrors(lib, "nothing queued"), "nothing queued");
  // A PEM read of garbage queues an error ("no start line"). Over 64 bytes: a typed array V8 keeps off its
  // heap, so the BIO's pointer into it stays valid.
  const garbage = new TextEncoder().encode("not a certificate ".repeat(8));
  const bio = lib.BIO_new_mem_buf(garbage, garbage.length);
  assert.equal(lib.PEM_read_bio_X509(bio, null, null, null), null);
  lib.BIO_free(bio);
  const text = takeOpensslErrors(lib, "none");
  assert.match(text, /no start line/);
  assert.ok(!text.includes("\n"));
  assert.equal(takeOpensslErrors(lib, "empty again"), "empty again");
  assert.equal(opensslString(null), null);
});
