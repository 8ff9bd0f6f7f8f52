import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "./config_error.ts";
import { loadConfig, loadConfigOrProfile } from "./load.ts";

Deno.test("loadConfig() reads a file and resolves relative paths to absolute ones beside it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "s.yaml");
    await Deno.writeTextFile(
      file,
      "mode: server\npki: { ca: pki/ca.crt, cert: s.crt, key: s.key }\nserver: { network: 10.8.0.0/24 }\n",
    );
    const c = await loadConfig(file);
    assert.equal(c.mode, "server");
    assert.deepEqual(c.pki.ca, { kind: "file", path: join(dir, "pki/ca.crt") });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadConfig() names the file as given in a validation error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "c.yaml");
    await Deno.writeTextFile(file, "mode: client\nremotes: []\n");
    await assert.rejects(() => loadConfig(file), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(
        e.message,
        `${file}:2: remotes: expected a non-empty list of remotes ({ host, port }), got a list`,
      );
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadConfig() turns a missing file into a one-line ConfigError", async () => {
  await assert.rejects(() => loadConfig("/nonexistent/tsvpn.yaml"), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.message, "/nonexistent/tsvpn.yaml: cannot read file: no such file");
    return true;
  });
});

Deno.test("loadConfigOrProfile() reads .ovpn profiles as client configs and YAML otherwise", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ovpn = join(dir, "alice.ovpn");
    await Deno.writeTextFile(
      ovpn,
      "client\nremote vpn.example.com 1194\nca ca.crt\ncert a.crt\nkey a.key\ncomp-lzo\n",
    );
    const a = await loadConfigOrProfile(ovpn);
    assert.equal(a.format, "ovpn");
    assert.equal(a.config.mode, "client");
    assert.deepEqual(a.config.pki.ca, { kind: "file", path: join(dir, "ca.crt") });
    assert.deepEqual(a.ignored, [{ line: 6, option: "comp-lzo", reason: "compression is not supported" }]);
    const yaml = join(dir, "c.yaml");
    await Deno.writeTextFile(
      yaml,
      "mode: client\nremotes: [{ host: a.example }]\npki: { ca: a, cert: b, key: c }\n",
    );
    const b = await loadConfigOrProfile(yaml);
    assert.equal(b.format, "yaml");
    assert.deepEqual(b.ignored, []);
    await assert.rejects(() => loadConfigOrProfile(join(dir, "missing.ovpn")), {
      message: `${join(dir, "missing.ovpn")}: cannot read file: no such file`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
