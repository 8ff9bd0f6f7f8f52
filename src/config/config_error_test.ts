import assert from "node:assert/strict";
import { ConfigError } from "./config_error.ts";

Deno.test("ConfigError formats file:line: key: detail on one line", () => {
  const e = new ConfigError(
    "server.yaml",
    7,
    "server.topology",
    'expected one of net30, p2p, subnet, got "star"',
  );
  assert.equal(e.message, 'server.yaml:7: server.topology: expected one of net30, p2p, subnet, got "star"');
  assert.equal(e.name, "ConfigError");
  assert.equal(e.line, 7);
  assert.equal(e.key, "server.topology");
  assert.ok(e instanceof Error);
});

Deno.test("ConfigError omits the line when 0 and the key when empty", () => {
  assert.equal(
    new ConfigError("a.yaml", 0, "", "cannot read file: no such file").message,
    "a.yaml: cannot read file: no such file",
  );
  assert.equal(new ConfigError("a.yaml", 3, "", "invalid YAML: x").message, "a.yaml:3: invalid YAML: x");
});
