/**
 * The tsvpn client with `auth.user_pass_file` against a stock openvpn 2.6 server that requires
 * auth-user-pass-verify (and auth-gen-token): it connects with the right password, answers the
 * server's renegotiations with the pushed token (the server's script runs once), and with a wrong
 * password it logs AUTH_FAILED and exits with code 1, as OpenVPN does without auth-retry.
 */

import assert from "node:assert/strict";
import { e2eIgnore, type LoggedProcess } from "./support/lab.ts";
import type { E2ePki } from "./support/pki.ts";
import { type ClientNet, clientYaml, startClient, withClientLab } from "./support/client_lab.ts";
import { startOpenvpn } from "./support/openvpn_server.ts";

const ignore = e2eIgnore();

/** Accepts alice/alice-secret; one line per call in `$0.calls`. */
const CHECK = `#!/bin/sh
echo "call username=$username" >> "$0.calls"
[ "$username" = alice ] && [ "$password" = 'alice-secret' ]
`;

/** A stock server that checks passwords with `script` and issues auth-tokens; renegotiates every 3 s. */
function startOpenvpnServer(n: ClientNet, pki: E2ePki, script: string): LoggedProcess {
  return startOpenvpn(n, pki, "openvpn-server", [
    ...["--server", "10.8.0.0", "255.255.255.0", "--topology", "subnet", "--local", "10.77.0.1"],
    ...["--keepalive", "1", "10", "--script-security", "3"],
    ...["--auth-user-pass-verify", script, "via-env", "--auth-gen-token", "0", "10"],
    ...["--hand-window", "5", "--reneg-sec", "3"],
  ]);
}

function scriptCalls(script: string): string[] {
  try {
    return Deno.readTextFileSync(`${script}.calls`).trim().split("\n");
  } catch {
    return [];
  }
}

Deno.test({
  name:
    "runClient() with auth.user_pass_file connects to a stock server with auth-user-pass-verify and renegotiates with the pushed auth-token; a wrong password exits with code 1",
  ignore,
  async fn() {
    await withClientLab(false, async (n, pki) => {
      const { e, cli } = n;
      const script = `${e.dir}/check.sh`;
      await Deno.writeTextFile(script, CHECK, { mode: 0o755 });
      const good = `${e.dir}/good.pass`;
      await Deno.writeTextFile(good, "alice\nalice-secret\n", { mode: 0o600 });
      const bad = `${e.dir}/bad.pass`;
      await Deno.writeTextFile(bad, "alice\nnot-it\n", { mode: 0o600 });
      const server = startOpenvpnServer(n, pki, script);
      await server.waitFor(/Initialization Sequence Completed/, 15_000);
      const remote = "remotes: [{ host: 10.77.0.1, port: 1194 }]";

      const client = await startClient(
        n,
        "client",
        clientYaml(pki, [remote, `auth: { user_pass_file: ${good} }`]),
      );
      await client.waitFor(/tunnel up/, 20_000);
      assert.equal(await e.pingUntil(cli, "10.8.0.1", 5000), true);
      await client.waitFor(/server sent an auth-token/);
      // Three renegotiations (reneg-sec 3): each is a new TLS handshake on the server's side.
      await server.waitFor(/(Control Channel: TLS[\s\S]*){4}/, 30_000);
      assert.deepEqual(scriptCalls(script), ["call username=alice"]);
      assert.doesNotMatch(server.log(), /AUTH_FAILED|TLS Auth Error/);
      assert.equal(await e.pingUntil(cli, "10.8.0.1", 3000), true);
      assert.ok(!client.log().includes("alice-secret") && !client.log().includes("SESS_ID_AT_"));
      assert.equal(await client.stop(), 0);

      const refused = await startClient(
        n,
        "refused",
        clientYaml(pki, [remote, `auth: { user_pass_file: ${bad} }`]),
      );
      await refused.waitFor(/AUTH_FAILED.*exiting \(check auth\.user_pass_file\)/, 20_000);
      assert.equal((await refused.proc.status).code, 1);
    });
  },
});
