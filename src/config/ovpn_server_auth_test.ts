import assert from "node:assert/strict";
import { parseConfig } from "./load.ts";
import { translateOvpnServer } from "./ovpn_server.ts";
import type { ServerConfig } from "./schema.ts";

const BASE = "dev tun\nca ca.crt\ncert s.crt\nkey s.key\nserver 10.9.0.0 255.255.255.0\n";

function imported(extra: string) {
  const r = translateOvpnServer(BASE + extra, "/etc/openvpn/server.conf");
  const config = parseConfig(r.yaml, "/etc/openvpn/server.yaml") as ServerConfig;
  return { config, ignored: r.ignored.map((i) => `${i.line} ${i.option}: ${i.reason}`) };
}

Deno.test("translateOvpnServer() turns auth-user-pass-verify, auth-gen-token and management-client-auth into server.auth and management.client_auth", () => {
  const { config, ignored } = imported(
    "auth-user-pass-verify /etc/openvpn/check.sh via-file\nauth-gen-token 3600\n" +
      "auth-gen-token-secret token.key\nmanagement 127.0.0.1 7505\nmanagement-client-auth\n",
  );
  assert.deepEqual(config.server.auth, {
    script: "/etc/openvpn/check.sh",
    method: "via-file",
    timeoutS: 30,
    token: { lifetimeS: 3600, secretFile: "/etc/openvpn/token.key" },
  });
  assert.equal(config.management!.clientAuth, true);
  assert.deepEqual(ignored, []);
});

Deno.test("translateOvpnServer() reports the auth options it cannot translate instead of dropping them silently", () => {
  const { config, ignored } = imported(
    'auth-user-pass-verify "/bin/check --db users" via-env\nauth-gen-token 0 600 external-auth\nauth-user-pass-optional\n',
  );
  assert.equal(config.server.auth, null);
  assert.deepEqual(ignored, [
    '6 auth-user-pass-verify "/bin/check --db users" via-env: server.auth.script is one program without arguments: wrap the command in a script',
    "7 auth-gen-token 0 600 external-auth: auth tokens need auth-user-pass-verify (translated to server.auth.script)",
    "8 auth-user-pass-optional: with server.auth every client must send a username and password",
  ]);
  const plain = imported("auth-user-pass-verify check.sh via-env\nauth-gen-token\n");
  assert.deepEqual(plain.config.server.auth, {
    script: "/etc/openvpn/check.sh",
    method: "via-env",
    timeoutS: 30,
    token: { lifetimeS: 0, secretFile: null },
  });
  assert.throws(() => imported("auth-user-pass-verify check.sh via-pipe\n"), /expected via-env or via-file/);
});
