/**
 * End-to-end bridge mode (server.bridge: true) with stock openvpn 2.6 tap
 * clients. The server hands out no addresses; the test enslaves the server's
 * tap device into a Linux bridge together with a veth to a LAN host, and
 * gives the clients LAN addresses itself:
 *
 *     +-- lan --------------+     +-- srv -------------------+     alice tap0 192.168.50.21/24
 *     | eth0 192.168.50.10  |=====| br-lan: lan0, tsvpn0     |==== (openvpn over 172.31.0.0/24)
 *     +---------------------+     +--------------------------+     bob   tap0 192.168.50.22/24
 */

import assert from "node:assert/strict";
import { e2eIgnore } from "./support/lab.ts";
import { statusJson } from "./support/management.ts";
import { inet, runScenario } from "./support/scenario.ts";

const opts = { ignore: e2eIgnore() };
const MGMT = "127.0.0.1:7505";
const LAN_HOST = "192.168.50.10";
const ADDR = { alice: "192.168.50.21", bob: "192.168.50.22" } as const;

Deno.test({
  ...opts,
  name:
    "runServer() with server.bridge pushes no address and its tap device switches between a LAN bridge and clients",
  fn: () =>
    runScenario({
      clients: [{ name: "alice" }, { name: "bob" }],
      dev: "tap",
      server: "  bridge: true\n  client_to_client: true\n",
      extra: [`management: { listen: "${MGMT}" }`],
      before: async ({ lab, srv, ns }) => {
        const lan = await lab.lab.addNamespace("lan");
        await lab.lab.veth({ ns: srv, name: "lan0" }, { ns: lan, name: "eth0", address: `${LAN_HOST}/24` });
        ns.lan = lan;
      },
    }, async ({ lab, ns, srv, clients, server }) => {
      // The server pushed no ifconfig: the tap devices carry no IPv4 address yet.
      for (const name of ["alice", "bob"] as const) {
        const log = clients[name].log();
        const reply = log.match(/PUSH_REPLY[^\n]*/)?.[0] ?? "";
        assert.ok(reply !== "", `${name} got a PUSH_REPLY`);
        assert.doesNotMatch(reply, /ifconfig/, `${name} was pushed no address: ${reply}`);
        assert.deepEqual(inet(await lab.addresses(ns[name], "tap0")), [], `${name} tap0 has no IPv4 yet`);
      }
      assert.match(server.log(), /server started/);

      // The server's tap device becomes a port of a Linux bridge with the LAN veth.
      for (
        const argv of [
          ["ip", "link", "add", "br-lan", "type", "bridge"],
          ["ip", "link", "set", "lan0", "master", "br-lan"],
          ["ip", "link", "set", "tsvpn0", "master", "br-lan"],
          ["ip", "link", "set", "lan0", "up"],
          ["ip", "link", "set", "tsvpn0", "up"],
          ["ip", "link", "set", "br-lan", "up"],
        ]
      ) await lab.exec(srv, argv);

      for (const name of ["alice", "bob"] as const) {
        await lab.exec(ns[name], ["ip", "addr", "add", `${ADDR[name]}/24`, "dev", "tap0"]);
        await lab.exec(ns[name], ["ip", "link", "set", "tap0", "up"]);
        assert.deepEqual(
          inet(await lab.addresses(ns[name], "tap0")),
          [`${ADDR[name]}/24`],
          `${name} tap0 holds only the address the test set`,
        );
      }

      const r = await Promise.all([
        lab.pingUntil(ns.alice, LAN_HOST),
        lab.pingUntil(ns.alice, ADDR.bob),
        lab.pingUntil(ns.lan, ADDR.bob),
      ]);
      assert.deepEqual(r, [true, true, true], "alice reaches the LAN host and bob; the LAN reaches bob");

      const snap = await statusJson(lab, srv, MGMT);
      assert.equal(snap.mode, "tap");
      const ports = new Set(snap.macs.map((m) => m.port));
      assert.ok(ports.has("alice") && ports.has("bob") && ports.has("tap"), JSON.stringify(snap.macs));
      for (const m of snap.macs) assert.match(m.mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i);
      const lanMac = JSON.parse((await lab.exec(ns.lan, ["ip", "-j", "link", "show", "eth0"])).stdout)[0]
        .address as string;
      assert.ok(
        snap.macs.some((m) => m.port === "tap" && m.mac.toLowerCase() === lanMac.toLowerCase()),
        `the LAN host's MAC ${lanMac} is learned on the tap port: ${JSON.stringify(snap.macs)}`,
      );
      assert.ok(snap.clients.length === 2, JSON.stringify(snap.clients));
    }),
});
