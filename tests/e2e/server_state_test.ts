/**
 * End-to-end server state: static addresses, pool persistence across a
 * restart, clean shutdown (exit 0, routes and device gone, clients told),
 * refusal of disabled and revoked clients, revocation of a live session,
 * and duplicate_cn false replacing an older login.
 */

import assert from "node:assert/strict";
import { e2eIgnore, serverYaml } from "./support/lab.ts";
import { inet, runScenario } from "./support/scenario.ts";

const opts = { ignore: e2eIgnore() };

Deno.test({
  ...opts,
  name: "runServer() keeps static and remembered addresses across a restart, and cleans up on SIGTERM",
  fn: () =>
    runScenario({
      clients: [{ name: "alice" }, { name: "bob" }],
      extraNames: ["carol"],
      server: "",
      yaml: (pki) =>
        serverYaml({
          pki: { ca: pki.ca, cert: pki.cert, key: pki.key },
          server: [
            "  network: 10.8.0.0/24",
            `  pool_persist: ${pki.dir}/pool.json`,
            "  routes: [192.168.60.0/24]",
            "  clients:",
            "    alice: { address: 10.8.0.50 }",
            "",
          ].join("\n"),
        }),
    }, async (s) => {
      const { lab, ns, srv, server, pki, clients } = s;
      assert.deepEqual(inet(await lab.addresses(ns.alice, "tun0")), ["10.8.0.50/24"]);
      assert.deepEqual(inet(await lab.addresses(ns.bob, "tun0")), ["10.8.0.2/24"]);
      const routes = await lab.exec(srv, ["ip", "route"]);
      assert.match(routes.stdout, /192\.168\.60\.0\/24 dev tsvpn0/);

      assert.equal(await server.stop(), 0, "exit 0 after SIGTERM");
      const log = server.log();
      assert.match(log, /route removed dst=192\.168\.60\.0\/24/);
      assert.match(log, /address removed dev=tsvpn0 address=10\.8\.0\.1\/24/);
      const links = await lab.exec(srv, ["ip", "-j", "link"]);
      assert.ok(!links.stdout.includes("tsvpn0"), "device removed");
      assert.doesNotMatch((await lab.exec(srv, ["ip", "route"])).stdout, /192\.168\.60/);
      await clients.bob.waitFor(/(SIGUSR1|restart|exit)/i, 10_000);
      const saved = JSON.parse(await Deno.readTextFile(`${pki.dir}/pool.json`));
      assert.deepEqual(saved.leases.find((l: { name: string }) => l.name === "bob"), {
        name: "bob",
        ipv4: "10.8.0.2",
      });
      await Promise.all([clients.alice.stop(), clients.bob.stop()]);

      // Restart: carol comes first but bob still gets his old address back.
      const yaml = await Deno.readTextFile(`${pki.dir}/server.yaml`);
      const server2 = await lab.startServer(srv, "server2", yaml);
      await server2.waitFor(/address pool restored .*applied=1/);
      await s.connect([{ name: "carol" }]);
      assert.deepEqual(inet(await lab.addresses(ns.carol, "tun0")), ["10.8.0.3/24"]);
      const bob2 = lab.startClient(ns.bob, "bob2", await pki.profile("bob", "172.31.0.1:1194"));
      await bob2.waitFor(/Initialization Sequence Completed/, 25_000);
      assert.deepEqual(inet(await lab.addresses(ns.bob, "tun0")), ["10.8.0.2/24"]);
      assert.ok(await lab.pingUntil(ns.bob, "10.8.0.1"));

      // duplicate_cn false: a second login of carol replaces the first.
      const other = await lab.host("carol2", "172.31.0.40/24");
      lab.startClient(other, "carol2", await pki.profile("carol", "172.31.0.1:1194"));
      await server2.waitFor(/replacing older session of the same client cn=carol/);
      assert.equal(await server2.stop(), 0);
    }),
});

Deno.test({
  ...opts,
  name:
    "runServer() refuses disabled and revoked clients with the reason logged, and drops a client revoked while connected",
  fn: () =>
    runScenario({
      clients: [{ name: "alice" }],
      extraNames: ["mallory", "eve"],
      server: "  network: 10.8.0.0/24\n  clients:\n    mallory: { disabled: true }\n",
      before: async ({ pki }) => {
        await pki.revoke("eve");
      },
    }, async ({ lab, pki, ns, server, clients }) => {
      assert.ok(await lab.pingUntil(ns.alice, "10.8.0.1"));
      const m = await lab.host("mallory", "172.31.0.30/24");
      const e = await lab.host("eve", "172.31.0.31/24");
      // bundle() refuses revoked names: eve's profile is alice's with eve's certificate and key.
      const eveProfile = `${pki.dir}/eve.ovpn`;
      const aliceText = await Deno.readTextFile(await pki.profile("alice", "172.31.0.1:1194"));
      const eveCert = await Deno.readTextFile(`${pki.caDir}/eve.crt`);
      const eveKey = await Deno.readTextFile(`${pki.caDir}/eve.key`);
      const eveText = aliceText
        .replace(/<cert>[\s\S]*<\/cert>/, `<cert>\n${eveCert.trim()}\n</cert>`)
        .replace(/<key>[\s\S]*<\/key>/, `<key>\n${eveKey.trim()}\n</key>`);
      await Deno.writeTextFile(eveProfile, eveText);
      const mallory = lab.startClient(m, "mallory", await pki.profile("mallory", "172.31.0.1:1194"));
      lab.startClient(e, "eve", eveProfile);
      await server.waitFor(/client refused cn=mallory .*reason="client is disabled/);
      await server.waitFor(/client refused cn=eve reason="certificate revoked/);
      await mallory.waitFor(/AUTH_FAILED/);

      await pki.revoke("alice");
      await server.waitFor(/disconnecting client cn=alice reason="certificate revoked/, 10_000);
      await server.waitFor(/client disconnected cn=alice/);
      assert.ok(await lab.pingFails(ns.alice, "10.8.0.1"), "alice is cut off");
      await clients.alice.waitFor(/(SIGUSR1|restart|exit)/i, 10_000);
    }),
});
