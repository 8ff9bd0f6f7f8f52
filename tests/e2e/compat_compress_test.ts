/**
 * Older profiles against a real tsvpn server: stock openvpn 2.6 clients whose
 * profile says `comp-lzo no`, `compress stub` or `compress stub-v2` (or
 * nothing, taking the pushed option) connect to a server with
 * `server.compat.compress` and ping through it; their data packets carry the
 * framing byte they expect and nothing is compressed. Without the setting,
 * a `comp-lzo no` client's packets are dropped (the control case).
 */

import assert from "node:assert/strict";
import { e2eIgnore } from "./support/lab.ts";
import { statusJson } from "./support/management.ts";
import { runScenario } from "./support/scenario.ts";

const opts = { ignore: e2eIgnore() };
const MGMT = "127.0.0.1:7505";
const MANAGEMENT = `management: { listen: "${MGMT}" }`;

interface Case {
  framing: "lzo-no" | "stub" | "stub-v2";
  /** The stock client's own option, as in a shipped profile; [] takes the pushed one. */
  clientArgs: string[];
  pushed: string;
  /** What openvpn logs for the data channel's compression. */
  logged: RegExp;
}

const CASES: Case[] = [
  {
    framing: "lzo-no",
    clientArgs: ["--comp-lzo", "no"],
    pushed: "comp-lzo no",
    logged: /compression: 'stub'/,
  },
  {
    framing: "stub",
    clientArgs: ["--compress", "stub"],
    pushed: "compress stub",
    logged: /compression: 'stub'/,
  },
  {
    framing: "stub-v2",
    clientArgs: ["--compress", "stub-v2"],
    pushed: "compress stub-v2",
    logged: /compression: 'stubv2'/,
  },
  { framing: "stub-v2", clientArgs: [], pushed: "compress stub-v2", logged: /compression: 'stubv2'/ },
];

for (const c of CASES) {
  const profile = c.clientArgs.length > 0
    ? `a profile with ${c.clientArgs.join(" ")}`
    : "no compression option";
  Deno.test({
    ...opts,
    name: `server.compat.compress: ${c.framing}: a stock client with ${profile} connects and pings through`,
    fn: () =>
      runScenario({
        clients: [{ name: "alice", extra: c.clientArgs }, { name: "bob", extra: c.clientArgs }],
        server: `  network: 10.8.0.0/24\n  client_to_client: true\n  compat: { compress: ${c.framing} }\n`,
        extra: [MANAGEMENT],
      }, async ({ lab, srv, ns, clients }) => {
        assert.ok(await lab.pingUntil(ns.alice, "10.8.0.1"), "alice → the server");
        assert.ok(await lab.pingUntil(ns.alice, "10.8.0.3"), "alice → bob, relayed inside the server");
        assert.ok(await lab.pingUntil(ns.bob, "10.8.0.1"), "bob → the server");
        assert.match(clients.alice.log(), new RegExp(`PUSH: Received control message: .*${c.pushed}`));
        assert.match(clients.alice.log(), c.logged);
        const snap = await statusJson(lab, srv, MGMT);
        assert.equal(snap.drops.compressed, 0, JSON.stringify(snap.drops));
        assert.equal(snap.drops.malformed, 0, JSON.stringify(snap.drops));
      }),
  });
}

Deno.test({
  ...opts,
  name:
    "without server.compat.compress a stock client with comp-lzo no gets no ping through (its framing byte is read as the packet)",
  fn: () =>
    runScenario({
      clients: [{ name: "alice", extra: ["--comp-lzo", "no"] }],
      server: "  network: 10.8.0.0/24\n",
      extra: [MANAGEMENT],
    }, async ({ lab, srv, ns }) => {
      assert.ok(await lab.pingFails(ns.alice, "10.8.0.1", 3));
      const snap = await statusJson(lab, srv, MGMT);
      assert.ok(snap.drops.malformed > 0, JSON.stringify(snap.drops));
    }),
});
