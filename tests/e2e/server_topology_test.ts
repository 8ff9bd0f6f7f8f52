/**
 * End-to-end topologies and client-to-client with stock openvpn 2.6 clients.
 * The server namespace has IP forwarding off, so any packet between clients
 * that arrives was relayed by tsvpn's internal router, not by the kernel.
 */

import assert from "node:assert/strict";
import { e2eIgnore } from "./support/lab.ts";
import { inet, runScenario } from "./support/scenario.ts";

const opts = { ignore: e2eIgnore() };

Deno.test({
  ...opts,
  name:
    "runServer() in tun/subnet with client_to_client relays between 3 clients (IPv4 and IPv6) with forwarding off",
  fn: () =>
    runScenario({
      clients: [{ name: "alice" }, { name: "bob" }, { name: "carol" }],
      server: "  network: 10.8.0.0/24\n  network6: fd00:8::/64\n  client_to_client: true\n",
    }, async ({ lab, ns, srv, server }) => {
      const v4 = await Promise.all(
        ["alice", "bob", "carol"].map(async (n) => inet(await lab.addresses(ns[n], "tun0"))),
      );
      const flat = v4.flat();
      assert.equal(new Set(flat).size, 3, `distinct addresses: ${flat}`);
      for (const a of flat) assert.match(a, /^10\.8\.0\.([2-4])\/24$/);
      const addrOf = (i: number) => v4[i][0].split("/")[0];
      const results = await Promise.all([
        lab.pingUntil(ns.alice, "10.8.0.1"),
        lab.pingUntil(ns.bob, "10.8.0.1"),
        lab.pingUntil(ns.carol, "10.8.0.1"),
        lab.pingUntil(ns.alice, addrOf(1)),
        lab.pingUntil(ns.bob, addrOf(2)),
        lab.pingUntil(ns.carol, addrOf(0)),
        lab.pingUntil(ns.alice, "fd00:8::1"),
      ]);
      assert.deepEqual(results, [true, true, true, true, true, true, true]);
      const v6 = (await lab.addresses(ns.bob, "tun0")).find((a) =>
        a.family === "inet6" && a.local.startsWith("fd00:8::")
      );
      assert.ok(v6, "bob has an IPv6 tunnel address");
      assert.ok(await lab.pingUntil(ns.alice, v6.local), "IPv6 client to client");
      const fwd = await lab.exec(srv, ["sysctl", "-n", "net.ipv4.ip_forward"]);
      assert.equal(fwd.stdout.trim(), "0");
      assert.match(server.log(), /client connected cn=carol/);
    }),
});

Deno.test({
  ...opts,
  name:
    "runServer() without client_to_client leaves client-to-client traffic to the host, which does not forward",
  fn: () =>
    runScenario({
      clients: [{ name: "alice" }, { name: "bob" }],
      server: "  network: 10.8.0.0/24\n  client_to_client: false\n",
    }, async ({ lab, ns }) => {
      const bob = inet(await lab.addresses(ns.bob, "tun0"))[0].split("/")[0];
      assert.ok(await lab.pingUntil(ns.alice, "10.8.0.1"));
      assert.ok(await lab.pingFails(ns.alice, bob), "alice cannot reach bob");
    }),
});

Deno.test({
  ...opts,
  name:
    "runServer() lays out net30 addresses exactly as OpenVPN (server 10.8.0.1 peer .2, client .6 peer .5)",
  fn: () =>
    runScenario({
      clients: [{ name: "alice" }],
      server: "  network: 10.8.0.0/24\n  topology: net30\n",
    }, async ({ lab, ns, srv }) => {
      assert.deepEqual(inet(await lab.addresses(srv, "tsvpn0")), ["10.8.0.1 peer 10.8.0.2/32"]);
      assert.deepEqual(inet(await lab.addresses(ns.alice, "tun0")), ["10.8.0.6 peer 10.8.0.5/32"]);
      assert.ok(await lab.pingUntil(ns.alice, "10.8.0.1"));
    }),
});

Deno.test({
  ...opts,
  name: "runServer() lays out p2p addresses as OpenVPN: each client one address whose peer is 10.8.0.1",
  fn: () =>
    runScenario({
      clients: [{ name: "alice" }, { name: "bob" }],
      server: "  network: 10.8.0.0/24\n  topology: p2p\n",
    }, async ({ lab, ns, srv }) => {
      assert.deepEqual(inet(await lab.addresses(srv, "tsvpn0")), ["10.8.0.1 peer 10.8.0.2/32"]);
      const a = inet(await lab.addresses(ns.alice, "tun0"));
      const b = inet(await lab.addresses(ns.bob, "tun0"));
      for (const x of [...a, ...b]) assert.match(x, /^10\.8\.0\.\d+ peer 10\.8\.0\.1\/32$/);
      assert.notDeepEqual(a, b);
      assert.ok(await lab.pingUntil(ns.alice, "10.8.0.1"));
      assert.ok(await lab.pingUntil(ns.bob, "10.8.0.1"));
    }),
});
