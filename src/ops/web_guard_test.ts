import assert from "node:assert/strict";
import { basicAuthOk, literalHost, peerAllowed, postRefusal } from "./web_guard.ts";

Deno.test("peerAllowed(): loopback peers only unless remote peers are allowed", () => {
  assert.equal(peerAllowed("127.0.0.1", false), true);
  assert.equal(peerAllowed("::1", false), true);
  assert.equal(peerAllowed("10.0.0.2", false), false);
  assert.equal(peerAllowed("not-an-ip", false), false);
  assert.equal(peerAllowed("10.0.0.2", true), true);
});

Deno.test("literalHost(): IP literals and localhost pass, names (DNS rebinding) do not", () => {
  assert.equal(literalHost("127.0.0.1:9477"), "127.0.0.1");
  assert.equal(literalHost("[::1]:9477"), "::1");
  assert.equal(literalHost("localhost:80"), "localhost");
  assert.equal(literalHost("10.1.2.3"), "10.1.2.3");
  assert.equal(literalHost("evil.example:9477"), null);
  assert.equal(literalHost("127.0.0.1.evil.example"), null);
  assert.equal(literalHost(null), null);
  assert.equal(literalHost(""), null);
});

Deno.test("basicAuthOk(): the management password under any user name; nothing else", () => {
  const header = (s: string) => `Basic ${btoa(s)}`;
  assert.equal(basicAuthOk(null, null), true);
  assert.equal(basicAuthOk(header("admin:s3cret"), "s3cret"), true);
  assert.equal(basicAuthOk(header(":s3cret"), "s3cret"), true);
  assert.equal(basicAuthOk(header("admin:wrong"), "s3cret"), false);
  assert.equal(basicAuthOk(header("s3cret"), "s3cret"), false);
  assert.equal(basicAuthOk("Bearer s3cret", "s3cret"), false);
  assert.equal(basicAuthOk("Basic !!!", "s3cret"), false);
  assert.equal(basicAuthOk(null, "s3cret"), false);
});

Deno.test("postRefusal(): POST, own Origin, same-origin fetch and the token, each required", () => {
  const ok = {
    method: "POST",
    origin: "http://127.0.0.1:9477",
    host: "127.0.0.1:9477",
    fetchSite: null,
    token: "t0k",
  };
  assert.equal(postRefusal(ok, "t0k"), null);
  assert.equal(postRefusal({ ...ok, fetchSite: "same-origin" }, "t0k"), null);
  assert.equal(postRefusal({ ...ok, method: "GET" }, "t0k"), "POST only");
  assert.equal(postRefusal({ ...ok, origin: "http://evil.example" }, "t0k"), "cross-origin request");
  assert.equal(postRefusal({ ...ok, origin: null }, "t0k"), "cross-origin request");
  assert.equal(postRefusal({ ...ok, fetchSite: "cross-site" }, "t0k"), "cross-site request");
  assert.equal(postRefusal({ ...ok, token: "other" }, "t0k"), "missing or wrong CSRF token");
  assert.equal(postRefusal({ ...ok, token: null }, "t0k"), "missing or wrong CSRF token");
});
