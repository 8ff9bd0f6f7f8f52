import assert from "node:assert/strict";
import { ConfigError } from "./config_error.ts";
import { lexOvpn, optionText } from "./ovpn_lexer.ts";

Deno.test("lexOvpn() splits options, strips comments and leading dashes, and keeps line numbers", () => {
  const ds = lexOvpn(
    "# comment\n; also\n\nclient\n--dev tun\nkey server.key  # secret\nremote a.example 1194 ;x\n",
    "c.ovpn",
  );
  assert.deepEqual(ds.map((d) => [d.line, d.name, d.args]), [
    [4, "client", []],
    [5, "dev", ["tun"]],
    [6, "key", ["server.key"]],
    [7, "remote", ["a.example", "1194"]],
  ]);
});

Deno.test("lexOvpn() groups quoted words and honours backslash escapes", () => {
  const [d] = lexOvpn(`setenv "route 10.0.0.0 255.0.0.0" 'a b' c\\ d "x\\"y"\n`, "s.conf");
  assert.deepEqual(d.args, ["route 10.0.0.0 255.0.0.0", "a b", "c d", 'x"y']);
  assert.equal(optionText(d), 'setenv "route 10.0.0.0 255.0.0.0" "a b" "c d" x"y');
  assert.equal(optionText(lexOvpn('push "block-outside-dns"', "s.conf")[0]), 'push "block-outside-dns"');
});

Deno.test("lexOvpn() reads inline blocks with their opening line", () => {
  const ds = lexOvpn(
    "client\n<ca>\n-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----\n</ca>\nverb 3\n",
    "c.ovpn",
  );
  assert.deepEqual(ds.map((d) => [d.line, d.name]), [[1, "client"], [2, "ca"], [7, "verb"]]);
  assert.equal(ds[1].inline, "-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----\n");
  assert.equal(optionText(ds[1]), "<ca>");
});

Deno.test("lexOvpn() rejects an unclosed block and an unterminated quote with file:line", () => {
  assert.throws(() => lexOvpn("client\n<key>\nabc\n", "c.ovpn"), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.message, "c.ovpn:2: key: inline block has no closing </key>");
    return true;
  });
  assert.throws(() => lexOvpn('verb 3\npush "route 10.0.0.0\n', "s.conf"), {
    message: "s.conf:2: unterminated double quote",
  });
});
