/**
 * End-to-end operations against a real tsvpn server with stock openvpn 2.6
 * clients: tls-auth, the management interface's `kill NAME` over the wire,
 * keepalive reaping of a client that vanished (kill -9), and max_clients.
 * Each test builds its own lab (switch + server host "srv" at 172.31.0.1,
 * clients on 172.31.0.1x; see support/scenario.ts) and tears it down.
 */

import assert from "node:assert/strict";
import { OPENVPN } from "../interop/openvpn_harness.ts";
import { e2eIgnore, serverYaml } from "./support/lab.ts";
import { clientListRows, managementSession, statusJson } from "./support/management.ts";
import { inet, runScenario } from "./support/scenario.ts";

const opts = { ignore: e2eIgnore() };
const MGMT = "127.0.0.1:7505";
const MANAGEMENT = `management: { listen: "${MGMT}" }`;

Deno.test({
  ...opts,
  name:
    "runServer() with pki.tls_auth serves stock clients using --tls-auth KEY 1, and the management command kill NAME disconnects a live client",
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "tsvpn-ta-" });
    const ta = `${dir}/ta.key`;
    try {
      const gen = await new Deno.Command(OPENVPN!, { args: ["--genkey", "secret", ta], stdout: "null" })
        .output();
      assert.equal(gen.code, 0, "openvpn --genkey secret");
      await runScenario({
        clients: [
          { name: "alice", extra: ["--tls-auth", ta, "1"] },
          { name: "bob", extra: ["--tls-auth", ta, "1"] },
        ],
        extraNames: ["mallory"],
        server: "",
        yaml: (pki) =>
          serverYaml({
            pki: { ca: pki.ca, cert: pki.cert, key: pki.key },
            server: "  network: 10.8.0.0/24\n",
            extra: [MANAGEMENT],
          }).replace("pki:\n", `pki:\n  tls_auth: { key: ${ta}, direction: 0 }\n`),
      }, async ({ lab, pki, ns, srv, server, clients }) => {
        // A client without the key: its packets fail the server's HMAC check and are never answered.
        const nsMallory = await lab.host("mallory", "172.31.0.30/24");
        const mallory = lab.startClient(
          nsMallory,
          "mallory",
          await pki.profile("mallory", "172.31.0.1:1194"),
        );
        // alice and bob passed the tls-auth check both ways: their tunnels are up and carry pings.
        assert.deepEqual(
          await Promise.all([lab.pingUntil(ns.alice, "10.8.0.1"), lab.pingUntil(ns.bob, "10.8.0.1")]),
          [true, true],
        );
        const before = clientListRows(await managementSession(lab, srv, MGMT, ["status 2"]));
        assert.deepEqual([...before.keys()].sort(), ["alice", "bob"]);

        // kill and status in one session: the status is the server right after the kill.
        const reply = await managementSession(lab, srv, MGMT, ["kill alice", "status 2", "kill nobody"]);
        assert.equal(reply[0], "SUCCESS: common name 'alice' found, 1 client(s) killed");
        assert.deepEqual([...clientListRows(reply).keys()], ["bob"], reply.join("\n"));
        assert.ok(
          !reply.some((l) => l.startsWith("ROUTING_TABLE,") && l.includes(",alice,")),
          reply.join("\n"),
        );
        assert.equal(reply[reply.length - 1], "ERROR: common name 'nobody' not found");
        await server.waitFor(/killing client cn=alice reason="killed by the management interface"/);
        await server.waitFor(/client disconnected cn=alice .*reason="killed by the management interface"/);

        // The stock client is told (OCC exit), restarts, and is let back in with the address the pool kept for it;
        // bob never noticed.
        await clients.alice.waitFor(/OCC exit message received by peer/, 10_000);
        await clients.alice.waitFor(/SIGUSR1\[soft,remote-exit\] received, process restarting/);
        await clients.alice.waitFor(
          /Initialization Sequence Completed[\s\S]*Initialization Sequence Completed/,
          20_000,
        );
        await server.waitFor(/client connected cn=alice[\s\S]*client connected cn=alice/);
        const snap = await statusJson(lab, srv, MGMT);
        assert.deepEqual(snap.clients.map((c) => c.name).sort(), ["alice", "bob"]);
        assert.equal(snap.clients.find((c) => c.name === "alice")!.virtualAddress, before.get("alice")![3]);
        const bobNow = snap.clients.find((c) => c.name === "bob")!;
        assert.equal(bobNow.realAddress, before.get("bob")![2], "bob keeps his session");
        assert.equal(bobNow.virtualAddress, before.get("bob")![3]);
        assert.deepEqual(
          await Promise.all([lab.pingUntil(ns.alice, "10.8.0.1"), lab.pingUntil(ns.bob, "10.8.0.1")]),
          [true, true],
        );
        // Seconds later, mallory (no --tls-auth) has still not heard a word from the server.
        assert.ok(mallory.proc.running);
        assert.doesNotMatch(mallory.log(), /TLS: Initial packet from/);
        assert.doesNotMatch(server.log(), /mallory/);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  ...opts,
  name:
    "runServer() reaps a client that vanished (openvpn killed with -9) after twice the keepalive timeout: it leaves the status and its address is handed out again",
  fn: () =>
    runScenario({
      clients: [{ name: "bob" }],
      extraNames: ["carol"],
      server: "",
      // A /29 whose other client addresses are reserved: bob's 10.8.0.2 is the only dynamic one.
      yaml: (pki) =>
        serverYaml({
          pki: { ca: pki.ca, cert: pki.cert, key: pki.key },
          keepalive: "{ interval: 1, timeout: 4 }",
          server: [
            "  network: 10.8.0.0/29",
            "  clients:",
            "    r3: { address: 10.8.0.3 }",
            "    r4: { address: 10.8.0.4 }",
            "    r5: { address: 10.8.0.5 }",
            "    r6: { address: 10.8.0.6 }",
            "",
          ].join("\n"),
          extra: [MANAGEMENT],
        }),
    }, async ({ lab, ns, srv, server, clients, connect }) => {
      assert.deepEqual(inet(await lab.addresses(ns.bob, "tun0")), ["10.8.0.2/29"]);
      assert.ok(await lab.pingUntil(ns.bob, "10.8.0.1"));
      // The server pushes its keepalive to the client as ping/ping-restart.
      assert.match(clients.bob.log(), /PUSH: Received control message: .*ping 1,ping-restart 4/);

      clients.bob.proc.kill("SIGKILL");
      await clients.bob.proc.status;
      const justAfter = clientListRows(await managementSession(lab, srv, MGMT, ["status 2"]));
      assert.ok(justAfter.has("bob"), "a vanished client stays until the keepalive timeout says otherwise");

      await server.waitFor(
        /client disconnected cn=bob .*reason="no packet from the client for 8 s \(ping-restart\)"/,
        20_000,
      );
      const snap = await statusJson(lab, srv, MGMT);
      assert.deepEqual(snap.clients, [], JSON.stringify(snap.clients));
      assert.deepEqual(snap.routes, [], JSON.stringify(snap.routes));

      // The only dynamic address is free again: a new client gets it.
      await connect([{ name: "carol" }]);
      assert.deepEqual(inet(await lab.addresses(ns.carol, "tun0")), ["10.8.0.2/29"]);
      assert.ok(await lab.pingUntil(ns.carol, "10.8.0.1"));
      await server.waitFor(/address assigned cn=carol .*10\.8\.0\.2/);
    }),
});

Deno.test({
  ...opts,
  name: "runServer() with max_clients: 1 refuses a second client and logs why",
  fn: () =>
    runScenario({
      clients: [{ name: "alice" }],
      extraNames: ["bob"],
      server: "",
      yaml: (pki) =>
        serverYaml({
          pki: { ca: pki.ca, cert: pki.cert, key: pki.key },
          server: "  network: 10.8.0.0/24\n  max_clients: 1\n",
          extra: [MANAGEMENT],
        }),
    }, async ({ lab, pki, ns, srv, server }) => {
      assert.ok(await lab.pingUntil(ns.alice, "10.8.0.1"));
      const nsBob = await lab.host("bob", "172.31.0.12/24");
      const bob = lab.startClient(nsBob, "bob", await pki.profile("bob", "172.31.0.1:1194"));
      await server.waitFor(/client refused cn=bob .*reason="server is full \(max_clients 1\)"/, 20_000);
      await bob.waitFor(/AUTH_FAILED/, 15_000);
      assert.doesNotMatch(bob.log(), /Initialization Sequence Completed/);
      const snap = await statusJson(lab, srv, MGMT);
      assert.deepEqual(snap.clients.map((c) => c.name), ["alice"]);
      assert.ok(await lab.pingUntil(ns.alice, "10.8.0.1"), "alice is still served");
    }),
});
