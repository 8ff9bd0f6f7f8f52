/**
 * End-to-end mesh (docs/mesh.md "Candidates") on real kernels: two tsvpn
 * clients on one LAN behind one symmetric NAT router (nftables `masquerade
 * random`, no hairpin), in namespaces this test creates:
 *
 *   cA 10.103.0.2 ──┐
 *                   br0 10.103.0.1 ── nat (172.31.0.21, masquerade random) ── sw ── srv 172.31.0.1
 *   cB 10.103.0.3 ──┘
 *
 * Their public endpoints are useless to each other (a new port per flow and
 * no hairpin); the local endpoints each reports in its KEY message, passed on
 * in INTRO, give them a direct path over the LAN.
 */

import assert from "node:assert/strict";
import { e2eIgnore, type E2eLab, serverYaml } from "./support/lab.ts";
import { statusJson } from "./support/management.ts";
import { withMeshLab } from "./support/nat_router.ts";
import { startTsvpnClient, tsvpnClientConfig } from "./support/tsvpn_client.ts";

const MANAGEMENT = "127.0.0.1:7505";

/** The NAT router with its LAN bridge; returns the two client hosts on it. */
async function lanBehindOneNat(e: E2eLab): Promise<[string, string]> {
  const nat = await e.host("nat", "172.31.0.21/24");
  await e.exec(nat, ["ip", "link", "add", "br0", "type", "bridge"]);
  await e.exec(nat, ["ip", "addr", "add", "10.103.0.1/24", "dev", "br0"]);
  await e.exec(nat, ["ip", "link", "set", "br0", "up"]);
  const hosts: string[] = [];
  for (const [label, last] of [["a", 2], ["b", 3]] as const) {
    const host = await e.lab.addNamespace(`c${label}`);
    await e.lab.veth({ ns: nat, name: `lan${label}` }, {
      ns: host,
      name: "eth0",
      address: `10.103.0.${last}/24`,
    });
    await e.exec(nat, ["ip", "link", "set", `lan${label}`, "master", "br0"]);
    await e.exec(host, ["ip", "route", "add", "default", "via", "10.103.0.1"]);
    hosts.push(host);
  }
  await e.exec(nat, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
  const rules = [
    "table ip nat {",
    '  chain post { type nat hook postrouting priority srcnat; oifname "eth0" masquerade random; }',
    "}",
    "table ip filter {",
    '  chain pre { type filter hook prerouting priority filter; iifname "eth0" ct state new drop; }',
    "}",
  ].join("\n");
  await e.lab.exec(nat, ["nft", "-f", "-"], { stdin: rules });
  return [hosts[0], hosts[1]];
}

Deno.test({
  name:
    "mesh: two clients on one LAN behind one symmetric NAT go direct over the local endpoints they report",
  ignore: e2eIgnore(),
  async fn() {
    await withMeshLab(["alice", "bob"], async (e, pki, started) => {
      const srv = await e.host("srv", "172.31.0.1/24");
      const [cA, cB] = await lanBehindOneNat(e);
      started.push(
        await e.startServer(
          srv,
          "server",
          serverYaml({
            pki: { ca: pki.ca, cert: pki.cert, key: pki.key, crl: pki.crl },
            server:
              "  network: 10.8.0.0/24\n  client_to_client: true\n  mesh: { enabled: true, punch_timeout: 3 }\n",
            extra: [`management: { listen: ${MANAGEMENT} }`],
          }),
        ),
      );
      const alice = startTsvpnClient(
        e,
        cA,
        "alice",
        await tsvpnClientConfig(pki, "alice", "172.31.0.1:1194"),
      );
      started.unshift(alice);
      await alice.waitFor(/tunnel up/, 20_000);
      const bob = startTsvpnClient(e, cB, "bob", await tsvpnClientConfig(pki, "bob", "172.31.0.1:1194"));
      started.unshift(bob);
      await bob.waitFor(/tunnel up/, 20_000);

      assert.ok(await e.pingUntil(cA, "10.8.0.3", 10_000), "alice reaches bob (relayed at first)");
      await alice.waitFor(/mesh: path to bob: direct/, 15_000);
      const before = (await statusJson(e, srv, MANAGEMENT)).mesh!;
      const ping = await e.exec(cA, ["ping", "-c", "5", "-i", "0.2", "-W", "1", "10.8.0.3"], false);
      assert.equal(ping.code, 0, ping.stdout);
      const after = await statusJson(e, srv, MANAGEMENT);
      assert.equal(after.mesh!.relayedPackets, before.relayedPackets, "the server relayed none of them");
      const pair = after.clients.find((c) => c.name === "alice")!.meshPairs![0];
      assert.equal(pair.path, "direct");
      assert.match(pair.endpoint!, /^10\.103\.0\.3:\d+$/, "bob's LAN address, not the NAT's");
    });
  },
});
