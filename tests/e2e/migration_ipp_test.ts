/**
 * Migration end to end: an OpenVPN server.conf with ifconfig-pool-persist and
 * its ipp.txt go through the real `tsvpn import openvpn` CLI; the server runs
 * on the printed YAML, and a stock client listed in ipp.txt gets the address
 * OpenVPN had given it, while a client not listed gets one from the pool.
 */

import assert from "node:assert/strict";
import { e2eIgnore, E2eLab, MAIN } from "./support/lab.ts";
import { createE2ePki } from "./support/pki.ts";
import { inet } from "./support/scenario.ts";

Deno.test({
  ignore: e2eIgnore(),
  name:
    "tsvpn import openvpn carries ipp.txt over: a stock client listed there gets its old address, another one a pool address",
  fn: async () => {
    const pki = await createE2ePki(["alice", "bob"]);
    const lab = new E2eLab(pki.dir);
    try {
      const conf = `${pki.dir}/server.conf`;
      await Deno.writeTextFile(
        conf,
        [
          "port 1194",
          "proto udp",
          "dev tun",
          `ca ${pki.ca}`,
          `cert ${pki.cert}`,
          `key ${pki.key}`,
          "dh none",
          "topology subnet",
          "server 10.8.0.0 255.255.255.0",
          "ifconfig-pool-persist ipp.txt",
          "keepalive 2 10",
          "",
        ].join("\n"),
      );
      await Deno.writeTextFile(`${pki.dir}/ipp.txt`, "alice,10.8.0.77,\ncarol,10.8.0.2,\n");
      const imported = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MAIN, "import", "openvpn", conf],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(imported.stderr);
      assert.equal(imported.code, 0, stderr);
      const yaml = new TextDecoder().decode(imported.stdout);
      assert.match(yaml, /alice:\n\s+address: 10\.8\.0\.77 {2}# ipp\.txt:1 \(ifconfig-pool-persist\)/);

      await lab.init();
      const srv = await lab.host("srv", "172.31.0.1/24");
      const ns = {
        alice: await lab.host("alice", "172.31.0.11/24"),
        bob: await lab.host("bob", "172.31.0.12/24"),
      };
      const server = await lab.startServer(srv, "server", yaml);
      const clients = await Promise.all((["alice", "bob"] as const).map(async (name) => {
        const p = lab.startClient(ns[name], name, await pki.profile(name, "172.31.0.1:1194"));
        await p.waitFor(/Initialization Sequence Completed/, 25_000);
        return p;
      }));
      assert.deepEqual(inet(await lab.addresses(ns.alice, "tun0")), ["10.8.0.77/24"], clients[0].log());
      // carol's 10.8.0.2 stays reserved for her, so bob gets the next free address.
      assert.deepEqual(inet(await lab.addresses(ns.bob, "tun0")), ["10.8.0.3/24"]);
      assert.ok(await lab.pingUntil(ns.alice, "10.8.0.1"));
      assert.match(server.log(), /address assigned cn=alice .*10\.8\.0\.77.* static=true/);
    } finally {
      await lab.close();
      await pki.cleanup();
    }
  },
});
