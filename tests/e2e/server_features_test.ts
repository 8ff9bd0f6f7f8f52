/**
 * End-to-end server features with stock openvpn 2.6 clients: TCP,
 * tls-crypt, iroutes (a LAN behind a client), anti-spoofing and malformed
 * packets (counted, read from the SIGUSR2 status line), tap mode.
 */

import assert from "node:assert/strict";
import { e2eIgnore, ROOT } from "./support/lab.ts";
import { inet, runScenario, type Scenario } from "./support/scenario.ts";

const opts = { ignore: e2eIgnore() };

/** Asks the server for its status line (SIGUSR2) and returns the newest one. */
function status(s: Scenario): Promise<string> {
  const before = (s.server.log().match(/ status /g) ?? []).length;
  s.server.proc.kill("SIGUSR2");
  return s.server.waitForLog(
    () => {
      const lines = s.server.log().split("\n").filter((l) => / status /.test(l));
      return lines.length > before && lines[lines.length - 1];
    },
    "a status line after SIGUSR2",
    5000,
  );
}

function counter(line: string, name: string): number {
  const m = line.match(new RegExp(`\\b${name}=(\\d+)`));
  return m ? Number(m[1]) : 0;
}

Deno.test({
  ...opts,
  name: "runServer() over TCP with tls-crypt carries pings to the server and between clients",
  fn: () =>
    runScenario({
      clients: [{ name: "alice" }, { name: "bob" }],
      proto: "tcp",
      tlsCrypt: true,
      server: "  network: 10.8.0.0/24\n  client_to_client: true\n",
    }, async ({ lab, ns }) => {
      const bob = inet(await lab.addresses(ns.bob, "tun0"))[0].split("/")[0];
      const r = await Promise.all([lab.pingUntil(ns.alice, "10.8.0.1"), lab.pingUntil(ns.alice, bob)]);
      assert.deepEqual(r, [true, true]);
    }),
});

Deno.test({
  ...opts,
  name:
    "runServer() routes an iroute subnet behind a client (UDP, tls-crypt) and drops spoofed and malformed packets",
  fn: () =>
    runScenario({
      clients: [{ name: "alice" }, { name: "bob" }],
      tlsCrypt: true,
      server: [
        "  network: 10.8.0.0/24",
        "  client_to_client: true",
        "  routes: [192.168.50.0/24]",
        "  push: { routes: [192.168.50.0/24] }",
        "  clients:",
        "    alice: { iroutes: [192.168.50.0/24] }",
        "",
      ].join("\n"),
      before: async ({ lab, ns }) => {
        // A LAN host behind alice: alice forwards, the LAN routes back through her.
        const lan = await lab.lab.addNamespace("lan");
        await lab.lab.veth({ ns: ns.alice, name: "lan0", address: "192.168.50.1/24" }, {
          ns: lan,
          name: "eth0",
          address: "192.168.50.2/24",
        });
        await lab.exec(lan, ["ip", "route", "add", "default", "via", "192.168.50.1"]);
        await lab.exec(ns.alice, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
        ns.lan = lan;
      },
    }, async (s) => {
      const { lab, ns, srv, server } = s;
      const routes = await lab.exec(ns.alice, ["ip", "route"]);
      assert.doesNotMatch(routes.stdout, /192\.168\.50\.0\/24 via/, "alice is not pushed her own iroute");
      const r = await Promise.all([
        lab.pingUntil(srv, "192.168.50.2"),
        lab.pingUntil(ns.bob, "192.168.50.2"),
        lab.pingUntil(ns.lan, "10.8.0.1"),
      ]);
      assert.deepEqual(r, [true, true, true], "server host, bob and the LAN reach each other through alice");
      await server.waitFor(/route added prefix=192\.168\.50\.0\/24 via=alice/);

      // Spoofing: bob sends from an address that is not his.
      await lab.exec(ns.bob, ["ip", "addr", "add", "10.8.0.99/32", "dev", "tun0"]);
      await lab.exec(
        ns.bob,
        ["ping", "-c", "3", "-i", "0.2", "-W", "1", "-I", "10.8.0.99", "10.8.0.1"],
        false,
      );
      // Malformed: a bad IPv4 total length and a non-IP version nibble, straight out of bob's tun.
      const inject = await lab.exec(ns.bob, [
        Deno.execPath(),
        "run",
        "-A",
        `${ROOT}tests/e2e/support/inject_tun.ts`,
        "tun0",
        "45000fff0000400040010000" + "0a080003" + "0a080001",
        "1200000000000000000000000000000000000000",
      ]);
      assert.match(inject.stdout, /"sent":2/);
      assert.ok(await lab.pingUntil(ns.bob, "10.8.0.1"), "the server is still serving");
      const line = await status(s);
      assert.ok(counter(line, "drop_spoofed") >= 3, line);
      assert.ok(counter(line, "drop_malformed") >= 2, line);
    }),
});

Deno.test({
  ...opts,
  name: "runServer() in tap mode switches ARP and pings between clients and the server",
  fn: () =>
    runScenario({
      clients: [{ name: "alice" }, { name: "bob" }],
      dev: "tap",
      server: "  network: 10.8.0.0/24\n  client_to_client: true\n",
    }, async (s) => {
      const { lab, ns, srv } = s;
      const bob = inet(await lab.addresses(ns.bob, "tap0"))[0].split("/")[0];
      const alice = inet(await lab.addresses(ns.alice, "tap0"))[0].split("/")[0];
      assert.match(bob, /^10\.8\.0\.\d+$/);
      const r = await Promise.all([
        lab.pingUntil(ns.alice, bob),
        lab.pingUntil(ns.bob, "10.8.0.1"),
        lab.pingUntil(srv, alice),
      ]);
      assert.deepEqual(r, [true, true, true]);
      const neigh = await lab.exec(ns.alice, ["ip", "neigh", "show", "dev", "tap0"]);
      assert.match(
        neigh.stdout,
        new RegExp(bob.replaceAll(".", "\\.") + " lladdr"),
        "ARP resolved through the switch",
      );
      const line = await status(s);
      assert.ok(counter(line, "flooded") >= 1, line);
    }),
});
