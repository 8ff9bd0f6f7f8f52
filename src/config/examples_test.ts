import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { CLIENT_KEYS, PULL_KEYS } from "./keys.ts";
import { loadConfig } from "./load.ts";
import type { ClientConfig, ServerConfig } from "./schema.ts";

const EXAMPLES = fileURLToPath(new URL("../../deploy/examples/", import.meta.url));

/** Every leaf key path of a parsed YAML value. */
function keyPaths(v: unknown, prefix = ""): string[] {
  if (v === null || typeof v !== "object" || Array.isArray(v)) return [prefix];
  return Object.entries(v as Record<string, unknown>).flatMap(([k, x]) =>
    keyPaths(x, prefix ? `${prefix}.${k}` : k)
  );
}

Deno.test("deploy/examples/server.yaml loads with loadConfig and sets every server key", async () => {
  const path = `${EXAMPLES}server.yaml`;
  const c = await loadConfig(path) as ServerConfig;
  assert.equal(c.mode, "server");
  assert.equal(c.server.network!.text, "10.8.0.0/24");
  assert.equal(c.server.clients.get("alice")!.address!.text, "10.8.0.50");
  assert.equal(c.server.clients.get("mallory")!.disabled, true);
  assert.deepEqual(c.pki.ca, { kind: "file", path: `${EXAMPLES}pki/ca.crt` });
  const keys = keyPaths(parse(await Deno.readTextFile(path)));
  for (
    const k of [
      "listen.host",
      "listen.port",
      "listen.proto",
      "dev.type",
      "dev.name",
      "dev.mtu",
      "pki.crl",
      "pki.tls_crypt",
      "data.ciphers",
      "data.reneg_seconds",
      "data.reneg_bytes",
      "data.replay_window",
      "keepalive.interval",
      "keepalive.timeout",
      "log.level",
      "management.listen",
      "management.password_file",
      "management.hold",
      "server.network6",
      "server.topology",
      "server.client_to_client",
      "server.duplicate_cn",
      "server.max_clients",
      "server.max_macs_per_client",
      "server.pool_persist",
      "server.pool_range.start",
      "server.pool_range.end",
      "server.compat.compress",
      "server.status_file",
      "server.status_interval",
      "server.mssfix",
      "server.bridge",
      "server.routes",
      "server.routes6",
      "server.push.routes",
      "server.push.routes6",
      "server.push.redirect_gateway",
      "server.push.dns",
      "server.push.domain",
      "server.clients.alice.address6",
      "server.clients.alice.iroutes6",
      "server.clients.alice.push.routes",
      "server.clients.alice.mesh",
      "server.mesh.enabled",
      "server.mesh.punch_timeout",
      "server.mesh.keepalive",
      "server.mesh.retry",
      "server.mesh.max_pairs",
      "server.metrics.listen",
      "server.metrics.status_page",
      "server.metrics.status_page_remote",
      "server.metrics.client_series",
      "server.client_config_dir",
      "server.scripts.client_connect",
      "server.scripts.client_disconnect",
      "server.scripts.learn_address",
      "server.scripts.timeout",
      "management.client_auth",
      "server.auth.script",
      "server.auth.method",
      "server.auth.timeout",
      "server.auth.token.lifetime",
      "server.auth.token.secret_file",
    ]
  ) assert.ok(keys.includes(k), k);
});

Deno.test("deploy/examples/client.yaml loads with loadConfig and sets every client key", async () => {
  const path = `${EXAMPLES}client.yaml`;
  const c = await loadConfig(path) as ClientConfig;
  assert.equal(c.mode, "client");
  assert.equal(c.remotes.length, 2);
  assert.equal(c.remotes[1].proto, "tcp");
  assert.deepEqual(c.scripts, { up: `${EXAMPLES}up.sh`, down: `${EXAMPLES}down.sh` });
  assert.deepEqual(c.management, {
    listen: { kind: "unix", path: `${EXAMPLES}tsvpn-client.sock` },
    passwordFile: null,
    hold: false,
    clientAuth: false,
  });
  const example = parse(await Deno.readTextFile(path));
  // The example shows every key of the client schema and of its pull section, in schema order.
  assert.deepEqual(Object.keys(example.pull), [...PULL_KEYS]);
  assert.deepEqual(c.pull.filter.map((r) => r.action), ["accept", "ignore", "reject"]);
  assert.deepEqual(Object.keys(example), [...CLIENT_KEYS]);
});
