/**
 * Username/password authentication against stock openvpn 2.6 clients (`--auth-user-pass FILE`):
 * server.auth's script with via-env and via-file (OpenVPN's auth-user-pass-verify contract), a good
 * password connects, a bad one gets AUTH_FAILED, a script that overruns its timeout refuses, and
 * with server.auth.token the script runs once across renegotiations (the client presents the
 * token). Each test builds its own lab (see support/scenario.ts) and removes it.
 */

import assert from "node:assert/strict";
import { e2eIgnore, serverYaml } from "./support/lab.ts";
import { runScenario, type Scenario } from "./support/scenario.ts";
import { clientListRows, managementSession } from "./support/management.ts";
import type { E2ePki } from "./support/pki.ts";

const opts = { ignore: e2eIgnore() };

/** A script that accepts alice/alice-secret, logs every call's environment (password removed) to `$0.calls`. */
const VIA_ENV_SCRIPT = `#!/bin/sh
{ echo "call"; env | grep -E '^(script_type|common_name|username|untrusted_ip|untrusted_port|IV_VER|IV_PLAT|tls_serial_0|session_state)=' | sort; } >> "$0.calls"
[ -n "$password" ] && echo "password_seen=yes" >> "$0.calls"
[ "$username" = alice ] && [ "$password" = 'alice-secret' ] && exit 0
[ "$username" = slow ] && sleep 30
exit 1
`;

/** The via-file twin: reads the two lines of "$1", records the file's mode and path. */
const VIA_FILE_SCRIPT = `#!/bin/sh
{ echo "call"; echo "args=$#"; echo "mode=$(stat -c %a "$1")"; echo "file=$1"; echo "password_env=\${password:-none}"; } >> "$0.calls"
user=$(sed -n 1p "$1"); pass=$(sed -n 2p "$1")
[ "$user" = alice ] && [ "$pass" = 'alice-secret' ] && exit 0
[ "$user" = slow ] && sleep 30
exit 1
`;

async function writeScript(dir: string, name: string, text: string): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, text, { mode: 0o755 });
  return path;
}

async function writeUserPass(dir: string, name: string, user: string, pass: string): Promise<string> {
  const path = `${dir}/${name}.pass`;
  await Deno.writeTextFile(path, `${user}\n${pass}\n`, { mode: 0o600 });
  return path;
}

function authYaml(pki: E2ePki, auth: string, extra: string[] = []): string {
  return serverYaml({
    pki: { ca: pki.ca, cert: pki.cert, key: pki.key },
    server: `  network: 10.8.0.0/24\n  auth: ${auth}\n`,
    extra,
  });
}

/**
 * A stock client alice (right password) against a server checking passwords with VIA_ENV_SCRIPT and issuing
 * auth-tokens of `lifetime` seconds, renegotiating every 4 s; `body` gets the scenario and the script path.
 */
async function withTokenScenario(lifetime: number, body: (s: Scenario, script: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn-auth-" });
  try {
    const script = await writeScript(dir, "check.sh", VIA_ENV_SCRIPT);
    const good = await writeUserPass(dir, "good", "alice", "alice-secret");
    await runScenario({
      clients: [{ name: "alice", extra: ["--auth-user-pass", good] }],
      server: "",
      yaml: (pki) =>
        authYaml(pki, `{ script: ${script}, method: via-env, token: { lifetime: ${lifetime} } }`, [
          "data: { reneg_seconds: 4 }",
        ]),
    }, (sc) => body(sc, script));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function calls(path: string): string[][] {
  let text = "";
  try {
    text = Deno.readTextFileSync(`${path}.calls`);
  } catch {
    return [];
  }
  return text.split(/^call$/m).slice(1).map((c) => c.trim().split("\n").filter((l) => l !== ""));
}

Deno.test({
  ...opts,
  name:
    "runServer() with server.auth via-env: a stock client with the right password connects, a wrong one gets AUTH_FAILED and exits, a script past its timeout refuses",
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "tsvpn-auth-" });
    try {
      const script = await writeScript(dir, "check.sh", VIA_ENV_SCRIPT);
      const good = await writeUserPass(dir, "good", "alice", "alice-secret");
      const bad = await writeUserPass(dir, "bad", "alice", "wrong-password");
      const slow = await writeUserPass(dir, "slow", "slow", "whatever");
      await runScenario({
        clients: [{ name: "alice", extra: ["--auth-user-pass", good] }],
        extraNames: ["bob", "carol"],
        server: "",
        yaml: (pki) =>
          authYaml(pki, `{ script: ${script}, method: via-env, timeout: 2 }`, [
            'management: { listen: "127.0.0.1:7505" }',
          ]),
      }, async ({ lab, pki, ns, srv, server }) => {
        assert.equal(await lab.pingUntil(ns.alice, "10.8.0.1"), true);
        // OpenVPN's status shows the username the client logged in with.
        const rows = clientListRows(await managementSession(lab, srv, "127.0.0.1:7505", ["status 2"]));
        assert.equal(rows.get("alice")?.[9], "alice", JSON.stringify([...rows]));
        const [first] = calls(script);
        assert.ok(first.includes("script_type=user-pass-verify"), first.join("\n"));
        assert.ok(first.includes("common_name=alice"), first.join("\n"));
        assert.ok(first.includes("username=alice"), first.join("\n"));
        assert.ok(first.includes("untrusted_ip=172.31.0.11"), first.join("\n"));
        assert.ok(first.some((l) => /^untrusted_port=\d+$/.test(l)), first.join("\n"));
        assert.ok(first.some((l) => /^IV_VER=2\.6/.test(l)), first.join("\n"));
        assert.ok(first.some((l) => /^tls_serial_0=\d+$/.test(l)), first.join("\n"));
        assert.ok(first.includes("password_seen=yes"), "via-env hands the password in the environment");

        // A wrong password: AUTH_FAILED reaches the stock client, which gives up (OpenVPN's default).
        const nsBob = await lab.host("bob", "172.31.0.20/24");
        const bob = lab.startClient(nsBob, "bob", await pki.profile("bob", "172.31.0.1:1194"), [
          "--auth-user-pass",
          bad,
        ]);
        await bob.waitFor(/AUTH: Received control message: AUTH_FAILED/, 20_000);
        await bob.waitFor(/SIGTERM\[soft,auth-failure\] received, process exiting/, 10_000);
        await server.waitFor(
          /auth script refused the client cn=bob .*reason="auth script exited with code 1"/,
        );

        // A script still running at the timeout is killed and the client refused.
        const nsCarol = await lab.host("carol", "172.31.0.21/24");
        const carol = lab.startClient(nsCarol, "carol", await pki.profile("carol", "172.31.0.1:1194"), [
          "--auth-user-pass",
          slow,
        ]);
        await server.waitFor(/auth script refused the client cn=carol .*did not finish within 2 s/, 20_000);
        await carol.waitFor(/AUTH: Received control message: AUTH_FAILED/, 10_000);

        // alice's tunnel carried on while the others were being refused; no password in the server log.
        assert.equal(await lab.pingUntil(ns.alice, "10.8.0.1", 3000), true);
        const log = server.log();
        for (const secret of ["alice-secret", "wrong-password", "whatever"]) {
          assert.ok(!log.includes(secret), `the server log shows the password ${secret}`);
        }
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  ...opts,
  name:
    "runServer() with server.auth via-file: the script reads a 0600 file named by its one argument, removed afterwards; a wrong password is refused",
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "tsvpn-auth-" });
    try {
      const script = await writeScript(dir, "check.sh", VIA_FILE_SCRIPT);
      const good = await writeUserPass(dir, "good", "alice", "alice-secret");
      const bad = await writeUserPass(dir, "bad", "alice", "nope");
      await runScenario({
        clients: [{ name: "alice", extra: ["--auth-user-pass", good] }],
        extraNames: ["bob"],
        server: "",
        yaml: (pki) => authYaml(pki, `{ script: ${script}, method: via-file }`),
      }, async ({ lab, pki, ns, server }) => {
        assert.equal(await lab.pingUntil(ns.alice, "10.8.0.1"), true);
        const [first] = calls(script);
        assert.ok(first.includes("args=1"), first.join("\n"));
        assert.ok(first.includes("mode=600"), first.join("\n"));
        assert.ok(first.includes("password_env=none"), "via-file keeps the password out of the environment");
        const file = first.find((l) => l.startsWith("file="))!.slice("file=".length);
        await assert.rejects(Deno.lstat(file), Deno.errors.NotFound, `${file} was left behind`);

        const nsBob = await lab.host("bob", "172.31.0.20/24");
        const bob = lab.startClient(nsBob, "bob", await pki.profile("bob", "172.31.0.1:1194"), [
          "--auth-user-pass",
          bad,
        ]);
        await bob.waitFor(/AUTH: Received control message: AUTH_FAILED/, 20_000);
        await server.waitFor(/auth script refused the client cn=bob/);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  ...opts,
  name:
    "runServer() with server.auth.token pushes an auth-token; the stock client presents it at each renegotiation and the script runs once",
  fn: () =>
    withTokenScenario(3600, async ({ lab, ns, server, clients }, script) => {
      assert.equal(await lab.pingUntil(ns.alice, "10.8.0.1"), true);
      // Two renegotiations, each authenticated by the token, not the script.
      await server.waitFor(/auth-token accepted[\s\S]*auth-token accepted/, 30_000);
      await server.waitFor(/key negotiation complete keyId=2 /, 10_000);
      assert.doesNotMatch(clients.alice.log(), /AUTH_FAILED/);
      const made = calls(script);
      assert.equal(made.length, 1, `the script ran ${made.length} times:\n${JSON.stringify(made)}`);
      assert.ok(made[0].includes("session_state=Initial"), made[0].join("\n"));
      assert.equal(await lab.pingUntil(ns.alice, "10.8.0.1", 3000), true);
      assert.ok(!/SESS_ID_AT_/.test(server.log()), "the server logged the token");
    }),
});

Deno.test({
  ...opts,
  name:
    "runServer() refuses an auth-token past its lifetime with AUTH_FAILED,SESSION; the stock client drops it, logs in again with its password and the script runs again",
  fn: () =>
    withTokenScenario(5, async ({ lab, ns, server, clients }, script) => {
      // Renegotiation at ~4 s: the token is still good. At ~8 s it is past its 5 s lifetime.
      await server.waitFor(/auth-token accepted/, 20_000);
      await server.waitFor(/auth-token expired/, 20_000);
      await clients.alice.waitFor(
        /AUTH: Received control message: AUTH_FAILED,SESSION: token expired/,
        10_000,
      );
      await clients.alice.waitFor(
        /Initialization Sequence Completed[\s\S]*Initialization Sequence Completed/,
        30_000,
      );
      const made = calls(script);
      assert.equal(made.length, 2, `the script ran ${made.length} times:\n${JSON.stringify(made)}`);
      assert.ok(made.every((c) => c.includes("password_seen=yes")));
      assert.equal(await lab.pingUntil(ns.alice, "10.8.0.1", 5000), true);
    }),
});
