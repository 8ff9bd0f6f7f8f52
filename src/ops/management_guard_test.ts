import assert from "node:assert/strict";
import { isHttpRequestLine, looksLikeHttp, passwordMatches, readPasswordFile } from "./management_guard.ts";

Deno.test("looksLikeHttp() matches request lines of any method and header lines", () => {
  for (
    const line of [
      "POST / HTTP/1.1",
      "GET /status?x=1 HTTP/1.0",
      "PUT /kill HTTP/2",
      "options * HTTP/1.1",
      "PROPFIND /dav HTTP/1.1",
      "PRI * HTTP/2.0",
      "Host: 127.0.0.1:7505",
      "content-type:text/plain",
      "Origin: https://evil.example",
    ]
  ) {
    assert.ok(looksLikeHttp(line), line);
  }
  assert.ok(isHttpRequestLine("DELETE /x HTTP/1.1"));
  assert.ok(!isHttpRequestLine("Host: a"), "the password line only refuses request lines");
});

Deno.test("looksLikeHttp() lets every management command through", () => {
  for (
    const line of [
      "status",
      "status json",
      "status 2",
      "kill alice",
      "kill 198.51.100.7:51514",
      "kill [2001:db8::5]:40000",
      "reload-crl",
      "help",
      "version",
      "pid",
      "load-stats",
      "quit",
      "exit",
      "",
    ]
  ) {
    assert.ok(!looksLikeHttp(line), line);
  }
});

Deno.test("passwordMatches() compares whole passwords", () => {
  assert.ok(passwordMatches("s3cret", "s3cret"));
  assert.ok(!passwordMatches("s3cre", "s3cret"));
  assert.ok(!passwordMatches("s3cret ", "s3cret"));
  assert.ok(!passwordMatches("", "s3cret"));
});

Deno.test("readPasswordFile() takes the first line, warns on a readable file and refuses an empty one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/pw`;
    await Deno.writeTextFile(path, "s3cret\r\nignored\n", { mode: 0o600 });
    await Deno.chmod(path, 0o600);
    assert.deepEqual(await readPasswordFile(path), { password: "s3cret", warning: null });
    await Deno.chmod(path, 0o644);
    assert.match((await readPasswordFile(path)).warning!, /readable by group or others \(mode 644\)/);
    await Deno.writeTextFile(path, "\nsecond\n");
    await assert.rejects(() => readPasswordFile(path), /has an empty first line/);
    await assert.rejects(
      () => readPasswordFile(`${dir}/missing`),
      new RegExp(`^Error: Cannot read management password file ${dir}/missing: `),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
