/**
 * End-to-end mesh (docs/mesh.md) on real kernels: the tsvpn server on the
 * e2e switch, two tsvpn clients each behind its own Linux NAT router
 * (nftables masquerade), all in namespaces this test creates:
 *
 *   cA 10.101.0.2 ── natA (10.101.0.1 | 172.31.0.21, masquerade) ──┐
 *                                                                   sw ── srv 172.31.0.1 (c2c + mesh)
 *   cB 10.102.0.2 ── natB (10.102.0.1 | 172.31.0.22, masquerade) ──┘
 *
 * The first ping between the clients is relayed and introduces them; they
 * punch through both NATs and the pings go on directly: the server's relay
 * counter (status --json) stops while pings still succeed. A stock openvpn
 * client (carol) on the same server is never offered the mesh and stays relayed.
 * With bob's NAT symmetric (`masquerade random`: a new port per destination)
 * the punch fails, the pair stays relayed, and pings go on through the server.
 */

import assert from "node:assert/strict";
import { e2eIgnore, E2eLab, type LoggedProcess, serverYaml } from "./support/lab.ts";
import { statusJson } from "./support/management.ts";
import { createE2ePki, type E2ePki } from "./support/pki.ts";
import { startTsvpnClient, tsvpnClientConfig } from "./support/tsvpn_client.ts";

const MANAGEMENT = "127.0.0.1:7505";

/** A client host `label` behind a NAT router on the switch at `publicAddress`; `symmetric`: a new port per flow. */
async function behindNat(
  e: E2eLab,
  label: string,
  publicAddress: string,
  lan: number,
  symmetric: boolean,
): Promise<string> {
  const nat = await e.host(`nat${label}`, `${publicAddress}/24`);
  const host = await e.lab.addNamespace(`c${label}`);
  await e.lab.veth({ ns: nat, name: "lan0", address: `10.${lan}.0.1/24` }, {
    ns: host,
    name: "eth0",
    address: `10.${lan}.0.2/24`,
  });
  await e.exec(host, ["ip", "route", "add", "default", "via", `10.${lan}.0.1`]);
  await e.exec(nat, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
  const masquerade = symmetric ? "masquerade random" : "masquerade";
  const rules = [
    "table ip nat {",
    `  chain post { type nat hook postrouting priority srcnat; oifname "eth0" ${masquerade}; }`,
    "}",
    // Unsolicited datagrams from outside are dropped before their conntrack entry is confirmed, as a
    // home router's firewall does; else an early probe would hold the port and the reply mapping would move.
    "table ip filter {",
    '  chain pre { type filter hook prerouting priority filter; iifname "eth0" ct state new drop; }',
    "}",
  ].join("\n");
  await e.lab.exec(nat, ["nft", "-f", "-"], { stdin: rules });
  return host;
}

/** 1000 pings from `ns` to `target` at 500/s (bounded by `timeout`); the replies counted. */
async function floodPing(
  e: E2eLab,
  ns: string,
  target: string,
): Promise<{ received: number; output: string }> {
  const cmd = ["timeout", "15", "ping", "-q", "-i", "0.002", "-c", "1000", "-W", "1", target];
  const out = (await e.exec(ns, cmd, false)).stdout;
  const received = Number(out.match(/(\d+) received/)?.[1] ?? 0);
  return { received, output: out };
}

interface MeshNet {
  e: E2eLab;
  pki: E2ePki;
  srv: string;
  cA: string;
  cB: string;
  server: LoggedProcess;
  alice: LoggedProcess;
  bob: LoggedProcess;
}

/** The server, alice behind a cone NAT and bob behind a cone (or symmetric) NAT, all up; torn down after `fn`. */
async function withMeshNet(symmetricB: boolean, fn: (n: MeshNet) => Promise<void>): Promise<void> {
  const pki = await createE2ePki(["alice", "bob", "carol"]);
  const e = new E2eLab(pki.dir);
  const started: LoggedProcess[] = [];
  try {
    await e.init();
    const srv = await e.host("srv", "172.31.0.1/24");
    const cA = await behindNat(e, "a", "172.31.0.21", 101, false);
    const cB = await behindNat(e, "b", "172.31.0.22", 102, symmetricB);
    const server = await e.startServer(
      srv,
      "server",
      serverYaml({
        pki: { ca: pki.ca, cert: pki.cert, key: pki.key, crl: pki.crl },
        server:
          "  network: 10.8.0.0/24\n  client_to_client: true\n  mesh: { enabled: true, punch_timeout: 3 }\n",
        extra: [`management: { listen: ${MANAGEMENT} }`],
      }),
    );
    started.push(server);
    const alice = startTsvpnClient(e, cA, "alice", await tsvpnClientConfig(pki, "alice", "172.31.0.1:1194"));
    started.unshift(alice);
    await alice.waitFor(/tunnel up/, 20_000);
    const bob = startTsvpnClient(e, cB, "bob", await tsvpnClientConfig(pki, "bob", "172.31.0.1:1194"));
    started.unshift(bob);
    await bob.waitFor(/tunnel up/, 20_000);
    await fn({ e, pki, srv, cA, cB, server, alice, bob });
  } catch (err) {
    for (const p of started) {
      console.error(p.log().split("\n").filter((l) => /mesh|error|warn/i.test(l)).join("\n"));
    }
    throw err;
  } finally {
    for (const p of started) await p.stop();
    await e.close();
    await pki.cleanup();
  }
}

Deno.test({
  name:
    "mesh: two tsvpn clients behind masquerading NATs go direct after the first relayed ping; the relay stops counting; a stock openvpn client stays relayed",
  ignore: e2eIgnore(),
  async fn() {
    await withMeshNet(false, async ({ e, pki, srv, cA, alice, bob }) => {
      // The first ping is relayed and introduces them.
      assert.ok(await e.pingUntil(cA, "10.8.0.3", 10_000), "alice reaches bob (relayed at first)");
      await alice.waitFor(/mesh: path to bob: direct/, 15_000);
      await bob.waitFor(/mesh: path to alice: direct/, 15_000);
      const before = (await statusJson(e, srv, MANAGEMENT)).mesh!;
      const ping = await e.exec(cA, ["ping", "-c", "5", "-i", "0.2", "-W", "1", "10.8.0.3"], false);
      assert.equal(ping.code, 0, ping.stdout);
      const after = await statusJson(e, srv, MANAGEMENT);
      assert.equal(after.mesh!.relayedPackets, before.relayedPackets, "the server relayed none of them");
      const pairs = after.clients.find((c) => c.name === "alice")!.meshPairs!;
      assert.equal(pairs.length, 1);
      assert.equal(pairs[0].peer, "bob");
      assert.equal(pairs[0].path, "direct");
      assert.match(pairs[0].endpoint!, /^172\.31\.0\.22:\d+$/, "bob's NAT's public endpoint");

      // A 1000-packet flood goes direct: (almost) nothing through the server.
      const flood = await floodPing(e, cA, "10.8.0.3");
      const afterFlood = (await statusJson(e, srv, MANAGEMENT)).mesh!;
      const relayed = afterFlood.relayedPackets - after.mesh!.relayedPackets;
      console.log(`flood: ${flood.received}/1000 replies, ${relayed} packets relayed by the server`);
      assert.ok(flood.received >= 990, flood.output);
      assert.ok(relayed < 20, `the server relayed ${relayed} packets of the flood`);

      // A stock openvpn client on the same server: never offered the mesh, relayed as before.
      const carolHost = await e.host("carol", "172.31.0.31/24");
      const carol = e.startClient(carolHost, "carol", await pki.profile("carol", "172.31.0.1:1194"));
      try {
        await carol.waitFor(/Initialization Sequence Completed/, 20_000);
        assert.ok(await e.pingUntil(carolHost, "10.8.0.2", 10_000), "carol reaches alice through the relay");
        const status = await statusJson(e, srv, MANAGEMENT);
        assert.ok(status.mesh!.relayedPackets > after.mesh!.relayedPackets, "carol's pings were relayed");
        assert.deepEqual(status.clients.find((c) => c.name === "carol")!.meshPairs, []);
        assert.doesNotMatch(carol.log(), /TSVPN_MESH/, "no mesh message ever reached the stock client");
      } finally {
        await carol.stop();
      }
    });
  },
});

Deno.test({
  name:
    "mesh: behind a symmetric NAT the punch fails, the pair stays relayed and pings go on through the server",
  ignore: e2eIgnore(),
  async fn() {
    await withMeshNet(true, async ({ e, srv, cA, alice }) => {
      assert.ok(await e.pingUntil(cA, "10.8.0.3", 10_000), "alice reaches bob (relayed)");
      await alice.waitFor(/mesh: introduced to bob/, 10_000);
      await alice.waitFor(/mesh: path to bob: relayed through the server \(no answer within 3000 ms/, 15_000);
      const before = (await statusJson(e, srv, MANAGEMENT)).mesh!;
      const ping = await e.exec(cA, ["ping", "-c", "5", "-i", "0.2", "-W", "1", "10.8.0.3"], false);
      assert.equal(ping.code, 0, ping.stdout);
      const after = await statusJson(e, srv, MANAGEMENT);
      assert.ok(
        after.mesh!.relayedPackets >= before.relayedPackets + 10,
        "pings and replies went through the server",
      );
      assert.ok(!alice.log().includes("mesh: path to bob: direct"), "never direct");
      assert.equal(after.clients.find((c) => c.name === "alice")!.meshPairs![0].path, "relayed");
    });
  },
});
