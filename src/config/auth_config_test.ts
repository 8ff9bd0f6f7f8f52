import assert from "node:assert/strict";
import { ConfigError } from "./config_error.ts";
import { parseConfig } from "./load.ts";
import type { ClientConfig, ServerConfig } from "./schema.ts";

const HEAD = "mode: server\npki: { ca: ca.crt, cert: s.crt, key: s.key }\nserver:\n  network: 10.8.0.0/24\n";
const CLIENT =
  "mode: client\nremotes: [{ host: vpn.example.com }]\npki: { ca: ca.crt, cert: c.crt, key: c.key }\n";

function server(rest: string, head = HEAD): ServerConfig {
  return parseConfig(head + rest, "/etc/tsvpn/s.yaml") as ServerConfig;
}

function fails(text: string, message: string): void {
  assert.throws(() => parseConfig(text, "s.yaml"), (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.message, message);
    return true;
  });
}

Deno.test("parseConfig() reads server.auth with its defaults and resolves the script path", () => {
  assert.equal(server("").server.auth, null);
  assert.deepEqual(server("  auth: { script: bin/check.sh }\n").server.auth, {
    script: "/etc/tsvpn/bin/check.sh",
    method: "via-env",
    timeoutS: 30,
    token: null,
  });
  assert.deepEqual(
    server(
      "  auth:\n    script: /c\n    method: via-file\n    timeout: 5\n    token: { lifetime: 600, secret_file: t.key }\n",
    )
      .server.auth,
    {
      script: "/c",
      method: "via-file",
      timeoutS: 5,
      token: { lifetimeS: 600, secretFile: "/etc/tsvpn/t.key" },
    },
  );
  assert.deepEqual(server("  auth: { script: /c, token: true }\n").server.auth!.token, {
    lifetimeS: 0,
    secretFile: null,
  });
});

Deno.test("parseConfig() takes server.auth.auth_token as another name for token, not both", () => {
  assert.deepEqual(server("  auth: { script: /c, auth_token: { lifetime: 60 } }\n").server.auth!.token, {
    lifetimeS: 60,
    secretFile: null,
  });
  assert.deepEqual(server("  auth: { script: /c, auth_token: true }\n").server.auth!.token, {
    lifetimeS: 0,
    secretFile: null,
  });
  fails(
    HEAD + "  auth: { script: /c, token: true, auth_token: true }\n",
    "s.yaml:5: server.auth.auth_token: expected token or auth_token, not both (they are the same option)",
  );
});

Deno.test("parseConfig() names the file, line and key of a bad server.auth", () => {
  fails(HEAD + "  auth: { method: via-env }\n", "s.yaml:5: server.auth.script: required key is missing");
  fails(
    HEAD + "  auth: { script: /c, method: via-pipe }\n",
    's.yaml:5: server.auth.method: expected one of via-env, via-file, got "via-pipe" (did you mean via-file?)',
  );
  fails(
    HEAD + "  auth: { script: /c, timeout: 0 }\n",
    "s.yaml:5: server.auth.timeout: expected a whole number of seconds from 1 to 55 (within the 60 s handshake window), got 0",
  );
  fails(
    HEAD + "  auth: { script: /c, tokn: true }\n",
    "s.yaml:5: server.auth.tokn: unknown key (did you mean token?)",
  );
});

Deno.test("parseConfig() reads management.client_auth on a server and refuses it on a client", () => {
  const withMgmt = 'management: { listen: "127.0.0.1:7505", client_auth: true }\n';
  const head = "mode: server\npki: { ca: ca.crt, cert: s.crt, key: s.key }\n" + withMgmt;
  assert.equal(server("server:\n  network: 10.8.0.0/24\n", head).management!.clientAuth, true);
  fails(
    CLIENT + withMgmt,
    "s.yaml:4: management.client_auth: expected no client_auth in a client config (a server option)",
  );
});

Deno.test("parseConfig() reads a client's auth.user_pass_file", () => {
  const c = parseConfig(
    CLIENT + "auth: { user_pass_file: alice.pass }\n",
    "/etc/tsvpn/c.yaml",
  ) as ClientConfig;
  assert.deepEqual(c.auth, { userPassFile: "/etc/tsvpn/alice.pass" });
  assert.equal((parseConfig(CLIENT, "/etc/tsvpn/c.yaml") as ClientConfig).auth, null);
  fails(CLIENT + "auth: {}\n", "s.yaml:4: auth.user_pass_file: required key is missing");
});
