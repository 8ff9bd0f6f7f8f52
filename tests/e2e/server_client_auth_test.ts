/**
 * management.client_auth (OpenVPN's --management-client-auth) driven by a script over the management
 * socket, as an external authenticator would: stock openvpn 2.6 clients wait for its decision, alice
 * is accepted with client-auth and a push line (and at each renegotiation, >CLIENT:REAUTH), bob is refused with
 * client-deny and sees the client reason in AUTH_FAILED; >CLIENT:ESTABLISHED and >CLIENT:DISCONNECT
 * carry their ENV blocks.
 */

import assert from "node:assert/strict";
import { e2eIgnore, serverYaml } from "./support/lab.ts";
import { runScenario } from "./support/scenario.ts";

const opts = { ignore: e2eIgnore() };
const MGMT = "127.0.0.1:7505";

/** Answers every CONNECT/REAUTH once its ENV block ends: bob is denied, everyone else accepted. */
const AUTHENTICATOR = `
# The interface opens just after the server logs "server started": retry the connection for up to 10 s.
for i in $(seq 100); do exec 3<>/dev/tcp/127.0.0.1/7505 2>/dev/null && break; sleep 0.1; done
while IFS= read -r line <&3; do
  line=\${line%$'\\r'}
  printf '%s\\n' "$line"
  case "$line" in
    ">CLIENT:CONNECT,"*|">CLIENT:REAUTH,"*) rest=\${line#*,}; pending="\${rest%%,*} \${rest#*,}";;
    ">CLIENT:ENV,common_name="*) cn=\${line#*=};;
    ">CLIENT:ENV,END")
      if [ -n "$pending" ]; then
        if [ "$cn" = bob ]; then printf 'client-deny %s "bob is blocked" "contact the helpdesk"\\r\\n' "$pending" >&3
        else printf 'client-auth %s\\r\\npush "route 10.99.0.0 255.255.0.0"\\r\\nEND\\r\\n' "$pending" >&3; fi
        pending=
      fi;;
  esac
done
`;

Deno.test({
  ...opts,
  name:
    "runServer() with management.client_auth: a script on the management socket accepts alice (CONNECT, REAUTH at renegotiation) and denies bob with client-deny",
  fn: async () => {
    await runScenario({
      clients: [],
      extraNames: ["alice", "bob"],
      server: "",
      yaml: (pki) =>
        serverYaml({
          pki: { ca: pki.ca, cert: pki.cert, key: pki.key },
          server: "  network: 10.8.0.0/24\n",
          extra: [`management: { listen: "${MGMT}", client_auth: true }`, "data: { reneg_seconds: 4 }"],
        }),
    }, async ({ lab, pki, srv, server }) => {
      const auth = lab.spawnLogged(srv, "authenticator", ["bash", "-c", AUTHENTICATOR]);
      await auth.waitFor(/>INFO:OpenVPN Management Interface Version 5/);

      const nsAlice = await lab.host("alice", "172.31.0.11/24");
      // explicit-exit-notify: her SIGTERM at the end tells the server at once (no keepalive wait).
      const alice = lab.startClient(nsAlice, "alice", await pki.profile("alice", "172.31.0.1:1194"), [
        "--explicit-exit-notify",
        "1",
      ]);
      await alice.waitFor(/Initialization Sequence Completed/, 25_000);
      assert.equal(await lab.pingUntil(nsAlice, "10.8.0.1"), true);
      const connect = await auth.waitFor(/>CLIENT:CONNECT,(\d+),0\n([\s\S]*?)>CLIENT:ENV,END/);
      const cid = connect[1];
      assert.match(connect[2], /^>CLIENT:ENV,common_name=alice$/m);
      assert.match(connect[2], /^>CLIENT:ENV,untrusted_ip=172\.31\.0\.11$/m);
      assert.match(connect[2], /^>CLIENT:ENV,IV_VER=2\.6/m);
      await auth.waitFor(/SUCCESS: client-auth command succeeded/);
      // The push line of the client-auth block reached alice's PUSH_REPLY and her routing table.
      await alice.waitFor(/PUSH: Received control message: 'PUSH_REPLY,.*route 10\.99\.0\.0 255\.255\.0\.0/);
      const route = await lab.exec(nsAlice, ["ip", "-j", "route", "show", "10.99.0.0/16"]);
      assert.equal(JSON.parse(route.stdout)[0]?.dev, "tun0", route.stdout);
      const established = await auth.waitFor(
        new RegExp(`>CLIENT:ESTABLISHED,${cid}\\n([\\s\\S]*?)>CLIENT:ENV,END`),
      );
      assert.match(established[1], /^>CLIENT:ENV,trusted_ip=172\.31\.0\.11$/m);
      assert.match(established[1], /^>CLIENT:ENV,ifconfig_pool_remote_ip=10\.8\.0\.2$/m);

      // The renegotiation waits for the authenticator too (>CLIENT:REAUTH with the next key id).
      await auth.waitFor(new RegExp(`>CLIENT:REAUTH,${cid},1\\n`), 20_000);
      await server.waitFor(/key negotiation complete keyId=1 /, 10_000);
      assert.equal(await lab.pingUntil(nsAlice, "10.8.0.1", 3000), true);

      const nsBob = await lab.host("bob", "172.31.0.12/24");
      const bob = lab.startClient(nsBob, "bob", await pki.profile("bob", "172.31.0.1:1194"));
      await auth.waitFor(/SUCCESS: client-deny command succeeded/, 20_000);
      await bob.waitFor(/AUTH: Received control message: AUTH_FAILED,contact the helpdesk/, 10_000);

      // alice leaves: >CLIENT:DISCONNECT with her byte counts (at the latest after the 20 s keepalive reaping).
      await alice.stop();
      const gone = await auth.waitFor(
        new RegExp(`>CLIENT:DISCONNECT,${cid}\\n([\\s\\S]*?)>CLIENT:ENV,END`),
        40_000,
      );
      assert.match(gone[1], /^>CLIENT:ENV,bytes_received=[1-9]\d*$/m);
      assert.match(gone[1], /^>CLIENT:ENV,time_duration=\d+$/m);
    });
  },
});
