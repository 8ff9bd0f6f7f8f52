/**
 * End-to-end: one tsvpn server, two kinds of client at once: a stock
 * openvpn 2.6 client (alice) and a tsvpn client (bob, `main.ts --client` with
 * a `tsvpn pki bundle --format yaml` config), both with tls-crypt.
 *
 *     +-- srv 172.31.0.1 ----------+     +-- sw --+     +-- alice 172.31.0.11 --+
 *     | tsvpn server 10.8.0.0/24   |=====|  br0   |=====| openvpn 2.6, tun0     |
 *     | client_to_client, fwd 0    |     |        |     +-----------------------+
 *     | management 127.0.0.1:7505  |     |        |=====| bob 172.31.0.12       |
 *     +----------------------------+     +--------+     | tsvpn client, tsvpn0  |
 *                                                       +-----------------------+
 */

import assert from "node:assert/strict";
import { createE2ePki } from "./support/pki.ts";
import { e2eIgnore, E2eLab, serverYaml } from "./support/lab.ts";
import { clientListRows, managementSession, statusJson } from "./support/management.ts";
import { inet } from "./support/scenario.ts";
import { startTsvpnClient, tsvpnClientConfig } from "./support/tsvpn_client.ts";

const MGMT = "127.0.0.1:7505";

Deno.test({
  name:
    "runServer() serves a stock openvpn client and a tsvpn client side by side: addresses, pings, client-to-client through the internal router, both listed alike by tsvpn status --json and status 2",
  ignore: e2eIgnore(),
  fn: async () => {
    const pki = await createE2ePki(["alice", "bob"]);
    const lab = new E2eLab(pki.dir);
    try {
      await lab.init();
      const srv = await lab.host("srv", "172.31.0.1/24");
      const nsAlice = await lab.host("alice", "172.31.0.11/24");
      const nsBob = await lab.host("bob", "172.31.0.12/24");
      await lab.exec(srv, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=0"]);
      const [profile, config] = await Promise.all([
        pki.profile("alice", "172.31.0.1:1194", { tlsCrypt: true }),
        tsvpnClientConfig(pki, "bob", "172.31.0.1:1194", {
          tlsCrypt: true,
          extra: ["reconnect: { initial_delay: 1, max_delay: 2 }"],
        }),
      ]);
      const server = await lab.startServer(
        srv,
        "server",
        serverYaml({
          pki: { ca: pki.ca, cert: pki.cert, key: pki.key, crl: pki.crl, tlsCrypt: pki.tlsCrypt },
          server: "  network: 10.8.0.0/24\n  client_to_client: true\n",
          extra: [`management: { listen: "${MGMT}" }`],
        }),
      );
      const alice = lab.startClient(nsAlice, "alice", profile);
      const bob = startTsvpnClient(lab, nsBob, "bob", config);
      await Promise.all([
        alice.waitFor(/Initialization Sequence Completed/, 25_000),
        bob.waitFor(/tunnel up/, 25_000),
      ]);

      const [aliceAddrs, bobAddrs] = await Promise.all([
        lab.addresses(nsAlice, "tun0").then(inet),
        lab.addresses(nsBob, "tsvpn0").then(inet),
      ]);
      assert.equal(aliceAddrs.length, 1, JSON.stringify(aliceAddrs));
      assert.equal(bobAddrs.length, 1, JSON.stringify(bobAddrs));
      assert.match(aliceAddrs[0], /^10\.8\.0\.\d+\/24$/);
      assert.match(bobAddrs[0], /^10\.8\.0\.\d+\/24$/);
      const a = aliceAddrs[0].split("/")[0];
      const b = bobAddrs[0].split("/")[0];
      assert.notEqual(a, b);

      const forward = await lab.exec(srv, ["cat", "/proc/sys/net/ipv4/ip_forward"]);
      assert.equal(forward.stdout.trim(), "0", "the server host does not forward: only tsvpn's router can");
      const pings = await Promise.all([
        lab.pingUntil(nsAlice, "10.8.0.1"),
        lab.pingUntil(nsBob, "10.8.0.1"),
        lab.pingUntil(nsAlice, b),
        lab.pingUntil(nsBob, a),
      ]);
      assert.deepEqual(pings, [true, true, true, true], "alice→server, bob→server, alice→bob, bob→alice");

      // tsvpn status --json (the CLI, inside the server namespace): both clients, the same shape.
      const snap = await statusJson(lab, srv, MGMT);
      assert.equal(snap.clients.length, 2, JSON.stringify(snap.clients));
      const byName = new Map(snap.clients.map((c) => [c.name, c]));
      const ca = byName.get("alice");
      const cb = byName.get("bob");
      assert.ok(ca && cb, JSON.stringify(snap.clients));
      assert.deepEqual(Object.keys(ca).sort(), Object.keys(cb).sort(), "both clients have the same fields");
      for (const [c, real, virt] of [[ca, "172.31.0.11", a], [cb, "172.31.0.12", b]] as const) {
        assert.match(c.realAddress, new RegExp(`^${real.replaceAll(".", "\\.")}:\\d+$`));
        assert.equal(c.virtualAddress, virt);
        assert.ok(c.bytesIn > 0 && c.bytesOut > 0, `${c.name} bytes ${c.bytesIn}/${c.bytesOut}`);
        assert.ok(c.packetsIn > 0 && c.packetsOut > 0, `${c.name} packets ${c.packetsIn}/${c.packetsOut}`);
        assert.match(c.cipher, /^(AES-256-GCM|AES-128-GCM|CHACHA20-POLY1305)$/);
      }
      assert.deepEqual(
        snap.routes.map((r) => `${r.virtualAddress} ${r.name}`).sort(),
        [`${a} alice`, `${b} bob`].sort(),
      );

      // status 2 over the wire: a CLIENT_LIST row per client, laid out as the HEADER says.
      const lines = await managementSession(lab, srv, MGMT, ["status 2"]);
      const header = lines.find((l) => l.startsWith("HEADER,CLIENT_LIST,"));
      assert.ok(header, lines.join("\n"));
      const rows = clientListRows(lines);
      assert.deepEqual([...rows.keys()].sort(), ["alice", "bob"]);
      for (const [name, real, virt] of [["alice", "172.31.0.11", a], ["bob", "172.31.0.12", b]]) {
        const f = rows.get(name)!;
        assert.equal(f.length, header.split(",").length - 1, `${name}: ${f.join(",")}`);
        assert.match(f[2], new RegExp(`^${real.replaceAll(".", "\\.")}:\\d+$`));
        assert.equal(f[3], virt);
        assert.ok(Number(f[5]) > 0 && Number(f[6]) > 0, `${name} bytes in its row: ${f.join(",")}`);
      }
      assert.ok(lines.some((l) => l.startsWith(`ROUTING_TABLE,${a},alice,`)), lines.join("\n"));
      assert.ok(lines.some((l) => l.startsWith(`ROUTING_TABLE,${b},bob,`)), lines.join("\n"));
      assert.equal(lines[lines.length - 1], "END");

      await server.waitFor(/client connected cn=alice/);
      await server.waitFor(/client connected cn=bob/);
      assert.equal(await bob.stop(10_000), 0, bob.log());
    } finally {
      await lab.close();
      await pki.cleanup();
    }
  },
});
