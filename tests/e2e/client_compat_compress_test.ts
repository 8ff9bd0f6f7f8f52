/**
 * The tsvpn client against a stock openvpn 2.6 server configured for older
 * profiles (`comp-lzo no`, `compress stub`) that pushes nothing about it: the
 * client's own `compat.compress` (what `comp-lzo no` in a .ovpn becomes)
 * frames its packets as that server expects, and pings go through; without
 * it they do not (the control case).
 */

import assert from "node:assert/strict";
import { OPENVPN } from "../interop/openvpn_harness.ts";
import { clientYaml, startClient, withClientLab } from "./support/client_lab.ts";
import { e2eIgnore } from "./support/lab.ts";

const ignore = e2eIgnore();

const CASES: { compat: "lzo-no" | "stub" | "none"; server: string[]; pings: boolean }[] = [
  { compat: "lzo-no", server: ["--comp-lzo", "no"], pings: true },
  { compat: "stub", server: ["--compress", "stub"], pings: true },
  { compat: "none", server: ["--comp-lzo", "no"], pings: false },
];

for (const c of CASES) {
  Deno.test({
    name: `runClient() with compat.compress: ${c.compat} against openvpn ${
      c.server.join(" ")
    } (nothing pushed): ${c.pings ? "pings go through" : "no ping gets through"}`,
    ignore,
    async fn() {
      await withClientLab(false, async (n, pki) => {
        const server = n.e.spawnLogged(n.srv, "openvpn", [
          OPENVPN!,
          ...["--dev", "tun", "--ca", pki.ca, "--cert", pki.cert, "--key", pki.key, "--dh", "none"],
          ...["--tls-crypt", pki.tlsCrypt, "--verb", "3", "--server", "10.8.0.0", "255.255.255.0"],
          ...["--topology", "subnet", "--local", "10.77.0.1", "--proto", "udp", "--keepalive", "1", "10"],
          ...c.server,
        ]);
        await server.waitFor(/Initialization Sequence Completed/, 15_000);
        const client = await startClient(
          n,
          "client",
          clientYaml(pki, [
            "remotes: [{ host: 10.77.0.1, port: 1194 }]",
            `compat: { compress: ${c.compat} }`,
          ]),
        );
        await client.waitFor(/tunnel up/, 20_000);
        if (c.pings) {
          assert.equal(await n.e.pingUntil(n.cli, "10.8.0.1", 10_000), true, server.log().slice(-2000));
          assert.doesNotMatch(server.log(), /Bad (compression|LZO)/);
        } else {
          assert.equal(await n.e.pingFails(n.cli, "10.8.0.1", 3), true);
          await server.waitFor(/Bad compression stub decompression header byte/, 10_000);
        }
      });
    },
  });
}
