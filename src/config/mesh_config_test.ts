import assert from "node:assert/strict";
import { ConfigError } from "./config_error.ts";
import { parseConfig } from "./load.ts";
import type { ServerConfig } from "./schema.ts";

const HEAD = "mode: server\npki: { ca: ca.crt, cert: s.crt, key: s.key }\n";

/** HEAD (lines 1-2) + `rest` starting at line 3. */
function server(rest: string): ServerConfig {
  return parseConfig(HEAD + rest, "s.yaml") as ServerConfig;
}

function fails(rest: string, message: string): void {
  assert.throws(() => parseConfig(HEAD + rest, "s.yaml"), (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.message, message);
    return true;
  });
}

const C2C = "server:\n  network: 10.8.0.0/24\n  client_to_client: true\n";

Deno.test("server.mesh is disabled with the documented defaults when absent", () => {
  const c = server("server:\n  network: 10.8.0.0/24\n");
  assert.deepEqual(c.server.mesh, {
    enabled: false,
    punchTimeoutS: 5,
    keepaliveS: 25,
    retryS: 30,
    maxPairs: 4096,
  });
});

Deno.test("server.mesh reads every key; clients default to mesh: true and may opt out", () => {
  const c = server(
    C2C + "  mesh: { enabled: true, punch_timeout: 3, keepalive: 10, retry: 60, max_pairs: 9 }\n" +
      "  clients:\n    alice: { mesh: false }\n    bob: { address: 10.8.0.9 }\n    carol:\n",
  );
  assert.deepEqual(c.server.mesh, {
    enabled: true,
    punchTimeoutS: 3,
    keepaliveS: 10,
    retryS: 60,
    maxPairs: 9,
  });
  assert.equal(c.server.clients.get("alice")!.mesh, false);
  assert.equal(c.server.clients.get("bob")!.mesh, true);
  assert.equal(c.server.clients.get("carol")!.mesh, true);
});

Deno.test("server.mesh: enabled without client_to_client or on tap fails, naming file:line: key", () => {
  fails(
    "server:\n  network: 10.8.0.0/24\n  mesh:\n    enabled: true\n",
    "s.yaml:6: server.mesh.enabled: expected false without server.client_to_client: true " +
      "(the mesh shortcuts relayed traffic)",
  );
  fails(
    "dev: { type: tap }\n" + C2C + "  mesh: { enabled: true }\n",
    "s.yaml:7: server.mesh.enabled: expected false with dev.type tap (the mesh routes by IP address, needs tun)",
  );
  // Disabled, the section is accepted whatever the rest says.
  assert.equal(
    server("server:\n  network: 10.8.0.0/24\n  mesh: { enabled: false }\n").server.mesh.enabled,
    false,
  );
});

Deno.test("server.mesh rejects bad values and unknown keys with a one-line error", () => {
  fails(
    C2C + "  mesh: { punch_timeout: 0 }\n",
    "s.yaml:6: server.mesh.punch_timeout: expected a whole number from 1 to 300, got 0",
  );
  fails(
    C2C + "  mesh: { keepalive: 3601 }\n",
    "s.yaml:6: server.mesh.keepalive: expected a whole number from 1 to 3600, got 3601",
  );
  fails(
    C2C + "  mesh: { enabled: yes }\n",
    's.yaml:6: server.mesh.enabled: expected true or false, got "yes"',
  );
  fails(
    C2C + "  mesh: { keepalve: 5 }\n",
    "s.yaml:6: server.mesh.keepalve: unknown key (did you mean keepalive?)",
  );
  fails(
    C2C + "  clients:\n    alice: { mesh: 1 }\n",
    "s.yaml:7: server.clients.alice.mesh: expected true or false, got 1",
  );
});
