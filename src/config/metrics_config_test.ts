import assert from "node:assert/strict";
import { ConfigError } from "./config_error.ts";
import { parseConfig } from "./load.ts";
import type { ClientConfig, ServerConfig } from "./schema.ts";

const HEAD = "mode: server\npki: { ca: ca.crt, cert: s.crt, key: s.key }\nserver:\n  network: 10.8.0.0/24\n";
const CLIENT = "mode: client\nremotes: [{ host: 192.0.2.1 }]\npki: { ca: ca.crt, cert: c.crt, key: c.key }\n";

function server(rest: string): ServerConfig {
  return parseConfig(HEAD + rest, "s.yaml") as ServerConfig;
}

function fails(text: string, message: string): void {
  assert.throws(() => parseConfig(text, "s.yaml"), (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.message, message);
    return true;
  });
}

Deno.test("server.metrics: off when absent; listen with the page off, loopback-only and 100 client series by default", () => {
  assert.equal(server("").server.metrics, null);
  assert.deepEqual(server("  metrics: { listen: 0.0.0.0:9477 }\n").server.metrics, {
    listen: { host: "0.0.0.0", port: 9477 },
    statusPage: false,
    statusPageRemote: false,
    clientSeries: 100,
  });
  const full = server(
    '  metrics: { listen: "[::1]:9478", status_page: true, status_page_remote: true, client_series: 5 }\n',
  );
  assert.deepEqual(full.server.metrics, {
    listen: { host: "::1", port: 9478 },
    statusPage: true,
    statusPageRemote: true,
    clientSeries: 5,
  });
  assert.deepEqual(server("  metrics: { listen: localhost:1 }\n").server.metrics?.listen, {
    host: "127.0.0.1",
    port: 1,
  });
});

Deno.test("server.metrics: bad values name the file, line and key", () => {
  fails(
    HEAD + "  metrics: { listen: example.com:9477 }\n",
    's.yaml:5: server.metrics.listen: expected HOST:PORT with an IP address ([::1]:9477 for IPv6) or localhost, got "example.com:9477"',
  );
  fails(
    HEAD + "  metrics: { listen: 127.0.0.1:0 }\n",
    's.yaml:5: server.metrics.listen: expected a port from 1 to 65535 in HOST:PORT with an IP address ([::1]:9477 for IPv6) or localhost, got "127.0.0.1:0"',
  );
  fails(
    HEAD + "  metrics: { status_page: true }\n",
    "s.yaml:5: server.metrics.listen: required key is missing",
  );
  fails(
    HEAD + "  metrics: { listen: 127.0.0.1:9477, status_page: yes please }\n",
    's.yaml:5: server.metrics.status_page: expected true or false, got "yes please"',
  );
  fails(
    HEAD + "  metrics: { listen: 127.0.0.1:9477, statuspage: true }\n",
    "s.yaml:5: server.metrics.statuspage: unknown key (did you mean status_page?)",
  );
});

Deno.test("a client's metrics take listen only", () => {
  const c = parseConfig(CLIENT + "metrics: { listen: 127.0.0.1:9479 }\n", "c.yaml") as ClientConfig;
  assert.deepEqual(c.metrics?.listen, { host: "127.0.0.1", port: 9479 });
  assert.equal((parseConfig(CLIENT, "c.yaml") as ClientConfig).metrics, null);
  fails(
    CLIENT + "metrics: { listen: 127.0.0.1:9479, status_page: true }\n",
    "s.yaml:4: metrics.status_page: unknown key",
  );
});
