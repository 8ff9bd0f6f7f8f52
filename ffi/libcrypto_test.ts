import assert from "node:assert/strict";
import { libcrypto, libcryptoStatus, libcryptoVersion } from "./libcrypto.ts";

Deno.test("libcryptoStatus() reports libcrypto usable when OpenSSL 3 is installed and FFI is allowed", () => {
  assert.equal(libcryptoStatus(), null);
  assert.match(libcryptoVersion(), /^OpenSSL 3\./);
  assert.equal(libcrypto(), libcrypto(), "loaded once");
});

Deno.test("libcryptoStatus() explains why libcrypto is unusable without FFI permission", async () => {
  const url = new URL("./libcrypto.ts", import.meta.url).href;
  const script = `import { libcryptoStatus } from ${JSON.stringify(url)}; console.log(libcryptoStatus());`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(script));
  await w.close();
  const { code, stdout, stderr } = await child.output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.equal(
    new TextDecoder().decode(stdout).trim(),
    "libcrypto: FFI permission not granted (--allow-ffi)",
  );
});
