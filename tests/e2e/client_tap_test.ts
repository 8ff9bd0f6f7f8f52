/**
 * The tsvpn client on a tap device (issue 16), in the client lab
 * (support/client_lab.ts: cli 10.77.0.2 ── srv 10.77.0.1): against a stock
 * openvpn 2.6 tap server and a tsvpn tap server that push an address, and
 * against a tsvpn bridge server that pushes none. Each checks the address
 * the client configured (or not), that the server's tap MAC was learned by
 * ARP through the tunnel, and pings.
 */

import assert from "node:assert/strict";
import { e2eIgnore, type LoggedProcess, serverYaml } from "./support/lab.ts";
import type { E2ePki } from "./support/pki.ts";
import { type ClientNet, clientYaml, startClient, withClientLab } from "./support/client_lab.ts";
import { OPENVPN } from "../interop/openvpn_harness.ts";

const ignore = e2eIgnore();
const TAP_CLIENT = ["dev: { type: tap, name: tap0 }", "remotes: [{ host: 10.77.0.1, port: 1194 }]"];

/** clientYaml() with a tap device tap0 instead of its tun device. */
function tapClientYaml(pki: E2ePki): string {
  return clientYaml(pki, TAP_CLIENT.slice(1)).replace("dev: { type: tun, name: tsvpn0 }", TAP_CLIENT[0]);
}

interface JAddr {
  ifname: string;
  address?: string;
  addr_info: { family: string; local: string; prefixlen: number }[];
}

async function link(n: ClientNet, ns: string, dev: string): Promise<JAddr> {
  const r = await n.e.exec(ns, ["ip", "-j", "addr", "show", "dev", dev]);
  return (JSON.parse(r.stdout) as JAddr[])[0];
}

const inet4 = (a: JAddr) =>
  a.addr_info.filter((i) => i.family === "inet").map((i) => `${i.local}/${i.prefixlen}`);

/** Pings `address` from "cli" and checks that its neighbour entry on tap0 carries `mac` (ARP went through the tunnel). */
async function pingsThroughTheSwitch(n: ClientNet, address: string, mac: string): Promise<void> {
  assert.ok(await n.e.pingUntil(n.cli, address, 15_000), `cli pings ${address} over tap0`);
  const neigh = await n.e.exec(n.cli, ["ip", "-j", "neigh", "show", "dev", "tap0", "to", address]);
  const entries = JSON.parse(neigh.stdout) as { dst: string; lladdr?: string }[];
  assert.equal(entries[0]?.lladdr, mac, `ARP learned the server's tap MAC: ${neigh.stdout}`);
}

async function tsvpnTapServer(n: ClientNet, pki: E2ePki, server: string): Promise<LoggedProcess> {
  return await n.e.startServer(
    n.srv,
    "server",
    serverYaml({
      pki: { ca: pki.ca, cert: pki.cert, key: pki.key, tlsCrypt: pki.tlsCrypt },
      dev: "tap",
      server,
    }).replace("listen: { host: 0.0.0.0,", "listen: { host: 10.77.0.1,"),
  );
}

Deno.test({
  name:
    "runClient() with dev.type tap against a stock openvpn tap server: pushed address/netmask, ARP and ping",
  ignore,
  async fn() {
    await withClientLab(false, async (n, pki) => {
      const server = n.e.spawnLogged(n.srv, "openvpn", [
        OPENVPN!,
        ...["--dev", "tap", "--server", "10.9.0.0", "255.255.255.0", "--local", "10.77.0.1"],
        ...["--ca", pki.ca, "--cert", pki.cert, "--key", pki.key, "--dh", "none"],
        ...["--tls-crypt", pki.tlsCrypt, "--keepalive", "2", "10", "--verb", "3"],
      ]);
      await server.waitFor(/Initialization Sequence Completed/, 15_000);
      const client = await startClient(n, "client", tapClientYaml(pki));
      await client.waitFor(/tunnel up/, 30_000);
      assert.deepEqual(inet4(await link(n, n.cli, "tap0")), ["10.9.0.2/24"]);
      const serverTap = await link(n, n.srv, "tap0");
      await pingsThroughTheSwitch(n, "10.9.0.1", serverTap.address!);
    });
  },
});

Deno.test({
  name: "runClient() with dev.type tap against a tsvpn tap server: pushed address/netmask, ARP and ping",
  ignore,
  async fn() {
    await withClientLab(false, async (n, pki) => {
      await tsvpnTapServer(n, pki, "  network: 10.9.0.0/24");
      const client = await startClient(n, "client", tapClientYaml(pki));
      await client.waitFor(/tunnel up/, 30_000);
      assert.deepEqual(inet4(await link(n, n.cli, "tap0")), ["10.9.0.2/24"]);
      const serverTap = await link(n, n.srv, "tsvpn0");
      await pingsThroughTheSwitch(n, "10.9.0.1", serverTap.address!);
    });
  },
});

Deno.test({
  name:
    "runClient() with dev.type tap against a tsvpn bridge server: no address pushed, a LAN address set by hand pings",
  ignore,
  async fn() {
    await withClientLab(false, async (n, pki) => {
      await tsvpnTapServer(n, pki, "  bridge: true");
      const client = await startClient(n, "client", tapClientYaml(pki));
      await client.waitFor(/tunnel up/, 30_000);
      assert.deepEqual(
        inet4(await link(n, n.cli, "tap0")),
        [],
        "a bridged client gets no address from the server",
      );
      // Stand-ins for the LAN a real bridge would join: the server's tap device and the client's.
      await n.e.exec(n.srv, ["ip", "addr", "add", "192.168.50.1/24", "dev", "tsvpn0"]);
      await n.e.exec(n.srv, ["ip", "link", "set", "tsvpn0", "up"]);
      await n.e.exec(n.cli, ["ip", "addr", "add", "192.168.50.21/24", "dev", "tap0"]);
      const serverTap = await link(n, n.srv, "tsvpn0");
      await pingsThroughTheSwitch(n, "192.168.50.1", serverTap.address!);
    });
  },
});
