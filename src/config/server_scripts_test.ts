import assert from "node:assert/strict";
import { parseConfig } from "./load.ts";
import type { ServerConfig } from "./schema.ts";

function server(lines: string): ServerConfig {
  return parseConfig(
    `mode: server\npki: { ca: a, cert: b, key: c }\nserver:\n  network: 10.8.0.0/24\n${lines}`,
    "/etc/tsvpn/server.yaml",
  ) as ServerConfig;
}

Deno.test("server.scripts and server.client_config_dir resolve paths against the config file; defaults are none and 10 s", () => {
  const c = server(
    "  client_config_dir: ccd\n  scripts: { client_connect: cc.sh, learn_address: /usr/lib/la, timeout: 3 }\n",
  );
  assert.equal(c.server.clientConfigDir, "/etc/tsvpn/ccd");
  assert.deepEqual(c.server.scripts, {
    clientConnect: "/etc/tsvpn/cc.sh",
    clientDisconnect: null,
    learnAddress: "/usr/lib/la",
    timeout: 3,
  });
  const d = server("");
  assert.equal(d.server.clientConfigDir, null);
  assert.deepEqual(d.server.scripts, {
    clientConnect: null,
    clientDisconnect: null,
    learnAddress: null,
    timeout: 10,
  });
});

Deno.test("server.scripts errors name file:line: key", () => {
  assert.throws(
    () => server("  scripts:\n    client_conect: x\n"),
    /server\.yaml:6: server\.scripts\.client_conect: .*did you mean client_connect/,
  );
  assert.throws(
    () => server("  scripts: { timeout: 0 }\n"),
    /server\.yaml:5: server\.scripts\.timeout: expected a whole number of seconds from 1 to 600/,
  );
  assert.throws(
    () => server("  scripts: { learn_address: 5 }\n"),
    /server\.scripts\.learn_address: expected a file path/,
  );
});
