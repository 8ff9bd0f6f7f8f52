/**
 * Dead-peer detection (src/client/dead_peer.ts) against a stock `openvpn`
 * 2.6 server with OpenVPN's usual `keepalive 10 60`: an idle tunnel is never
 * taken for dead while the server lives (it pings every 10 s, the timeout is
 * 15 s), and after the server is killed and restarted the tsvpn client is back
 * within 20 s, where OpenVPN's own rule (ping-restart 60) takes a minute.
 */

import assert from "node:assert/strict";
import { e2eIgnore } from "./support/lab.ts";
import { clientYaml, startClient, withClientLab } from "./support/client_lab.ts";
import { openvpnUp } from "./support/openvpn_server.ts";
import { holds } from "../../src/testing/wait.ts";

const SERVER = [
  "--server",
  "10.8.0.0",
  "255.255.255.0",
  "--topology",
  "subnet",
  "--local",
  "10.77.0.1",
  "--proto",
  "udp",
  "--keepalive",
  "10",
  "60",
];
/** The contract for a server restart. */
const BACK_WITHIN_MS = 20_000;
/** Long enough for three of the server's 10 s pings and two dead-peer timeouts. */
const IDLE_MS = 35_000;

Deno.test({
  name:
    "runClient() against openvpn with keepalive 10 60: an idle tunnel stays up for 35 s, and after a server kill -9 the client is back within 20 s (dead peer)",
  ignore: e2eIgnore(),
  async fn() {
    await withClientLab(false, async (n, pki) => {
      let server = await openvpnUp(n, pki, "openvpn1", SERVER);
      const client = await startClient(n, "client", clientYaml(pki, ["remotes: [{ host: 10.77.0.1 }]"]));
      try {
        await client.waitFor(/tunnel up/, 20_000);
        // Idle: only keepalive pings cross the tunnel. Nothing may end it.
        await holds(
          () => !/reconnecting|dead peer/.test(client.log()),
          IDLE_MS,
          "no reconnect while idle",
          250,
        );
        assert.ok(await n.e.pingUntil(n.cli, "10.8.0.1", 5000), "the tunnel still carries packets");

        const killedAt = performance.now();
        server.proc.kill("SIGKILL");
        await server.proc.status;
        server = await openvpnUp(n, pki, "openvpn2", SERVER);
        await client.waitFor(/tunnel up again/, 3 * BACK_WITHIN_MS);
        const backMs = Math.round(performance.now() - killedAt);
        console.log(
          `stock openvpn server kill -9: tsvpn client back in ${backMs} ms (contract ${BACK_WITHIN_MS})`,
        );
        assert.match(client.log(), /\(dead peer\); reconnecting now/);
        assert.ok(backMs <= BACK_WITHIN_MS, `back after ${backMs} ms, over ${BACK_WITHIN_MS} ms`);
        assert.ok(await n.e.pingUntil(n.cli, "10.8.0.1", 5000), "pings after the restart");
      } finally {
        assert.equal(await client.stop(10_000), 0, client.log());
        await server.stop();
      }
    });
  },
});
