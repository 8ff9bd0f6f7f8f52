/**
 * The mesh wired end to end in one process (docs/mesh.md): the real server
 * with `server.mesh.enabled` and real tsvpn clients over the in-memory
 * network (src/testing/server/lab.ts). The clients announce IV_TSVPN, answer
 * the server's HELLO with their KEY, are introduced on the first packet the
 * server relays between them, punch and move their traffic onto the direct
 * path; kill and `mesh: false` are checked from both ends.
 */

import assert from "node:assert/strict";
import { parseIpv4 } from "../addr/ip.ts";
import { MS_PACKETS_OUT } from "../mesh/direct_path.ts";
import type { MeshIntroducer } from "../mesh/pair_table.ts";
import { MESH_DROP_SPOOFED } from "../mesh/wire.ts";
import type { ClientSnapshot } from "../ops/server_control.ts";
import { revokeCertificate } from "../pki/revoke.ts";
import { buildIcmpEcho } from "../testing/packet/builders.ts";
import { Lab, type LabClient, type LabServer, until } from "../testing/server/lab.ts";
import type { FakeDevice } from "../testing/datapath/fake_device.ts";

const MESH_SERVER = [
  "  network: 10.8.0.0/24",
  "  client_to_client: true",
  "  mesh: { enabled: true, punch_timeout: 2 }",
];

function ping(src: string, dst: string, seq: number): Uint8Array {
  return buildIcmpEcho({ src, dst, seq, payloadLen: 32 });
}

/** Injects `packet` into `from` and waits until `to` wrote exactly it. */
async function carry(from: FakeDevice, to: FakeDevice, packet: Uint8Array, what: string): Promise<void> {
  from.inject(packet);
  await until(
    () =>
      to.take().some((p) => p.length === packet.length && p.every((v, i) => v === packet[i])) || undefined,
    what,
  );
}

async function withLab(fn: (lab: Lab) => Promise<void>): Promise<void> {
  const lab = await Lab.create(["client2"]);
  try {
    await fn(lab);
  } finally {
    await lab.close();
  }
}

function introducer(server: LabServer): MeshIntroducer {
  const mesh = server.handle.datapath.relayObserver as MeshIntroducer | null;
  assert.ok(mesh, "mesh enabled: the router reports relayed packets to the introducer");
  return mesh;
}

function clientNamed(server: LabServer, name: string): ClientSnapshot {
  const found = server.handle.control.snapshot().clients.find((c) => c.name === name);
  assert.ok(found, `${name} is listed`);
  return found;
}

function relayedPackets(server: LabServer): number {
  return server.handle.control.snapshot().mesh!.relayedPackets;
}

/** Starts client1 and client2 and waits until both are connected; returns them with their datapath peer-ids. */
async function twoClients(lab: Lab, server: LabServer): Promise<[LabClient, LabClient, number, number]> {
  const one = lab.startClient("client1");
  await one.handle.waitConnected(15_000);
  const two = lab.startClient("client2");
  await two.handle.waitConnected(15_000);
  return [one, two, clientNamed(server, "client1").peerId, clientNamed(server, "client2").peerId];
}

Deno.test("mesh: two tsvpn clients are introduced on the first relayed packet, go direct (the relay stops counting), the receiver source-checks direct packets, and kill closes the pair on the peer", async () => {
  await withLab(async (lab) => {
    const server = await lab.startServer({ server: MESH_SERVER });
    const [one, two, p1, p2] = await twoClients(lab, server);
    const mesh = introducer(server);
    await until(() => mesh.isReady(p1) && mesh.isReady(p2) || undefined, "both clients' KEY (after HELLO)");
    // Ready, but nothing relayed between them yet: no introduction.
    assert.equal(mesh.pairCount, 0);
    assert.equal(server.handle.control.snapshot().mesh!.counters.introduced, 0);
    assert.deepEqual(clientNamed(server, "client1").meshPairs, []);

    await carry(one.device, two.device, ping("10.8.0.2", "10.8.0.3", 1), "the first ping, relayed");
    assert.equal(mesh.pairCount, 1, "the first relayed packet introduced the pair");
    assert.equal(relayedPackets(server), 1);
    await one.log.waitFor(/mesh: path to client2: direct/);
    await two.log.waitFor(/mesh: path to client1: direct/);
    // STATE reports reach the server's status: both ends direct, at the other's UDP endpoint.
    await until(
      () =>
        clientNamed(server, "client1").meshPairs?.[0]?.path === "direct" &&
          clientNamed(server, "client2").meshPairs?.[0]?.path === "direct" || undefined,
      "both STATE reports direct",
    );
    const pair1 = clientNamed(server, "client1").meshPairs![0];
    assert.equal(pair1.peer, "client2");
    assert.match(pair1.endpoint!, /^192\.168\.1\.\d+:40000$/);

    // Pings keep flowing both ways while the server relays nothing more.
    const relayedBefore = relayedPackets(server);
    for (let seq = 2; seq <= 6; seq++) {
      await carry(one.device, two.device, ping("10.8.0.2", "10.8.0.3", seq), `direct ping ${seq} 1→2`);
      await carry(two.device, one.device, ping("10.8.0.3", "10.8.0.2", seq), `direct ping ${seq} 2→1`);
    }
    assert.equal(relayedPackets(server), relayedBefore, "no client-to-client packet went through the server");
    const sentDirect = one.handle.mesh!.agent.direct.stats[MS_PACKETS_OUT];
    assert.ok(sentDirect >= 5, `client1 sent its pings on the direct path (${sentDirect})`);

    // client2 sends client1 a packet with a source the server never introduced for it: it travels
    // the direct path (routed by destination) and client1's source check drops it.
    const spoofedBefore = one.handle.mesh!.agent.direct.drops[MESH_DROP_SPOOFED];
    two.device.inject(ping("10.8.0.99", "10.8.0.2", 50));
    await until(
      () => one.handle.mesh!.agent.direct.drops[MESH_DROP_SPOOFED] === spoofedBefore + 1 || undefined,
      "client1's spoofed drop",
    );
    assert.deepEqual(one.device.take(), [], "the spoofed packet never reached client1's device");
    assert.equal(relayedPackets(server), relayedBefore);

    // kill client2: client1 hears CLOSE at once and its traffic goes back to the server.
    assert.equal(await server.handle.control.kill("client2", "test"), 1);
    await one.log.waitFor(/mesh: pair with client2 closed \(killed\)/);
    assert.deepEqual(clientNamed(server, "client1").meshPairs, []);
    assert.equal(server.handle.control.snapshot().mesh!.counters.closed, 1);
  });
});

Deno.test("mesh: a client with mesh: false is never introduced and stays relayed", async () => {
  await withLab(async (lab) => {
    const server = await lab.startServer({
      server: [...MESH_SERVER, "  clients:", "    client2: { mesh: false }"],
    });
    const [one, two, p1, p2] = await twoClients(lab, server);
    const mesh = introducer(server);
    await until(() => mesh.isReady(p1) || undefined, "client1's KEY");
    for (let seq = 1; seq <= 3; seq++) {
      await carry(one.device, two.device, ping("10.8.0.2", "10.8.0.3", seq), `relayed ping ${seq} 1→2`);
      await carry(two.device, one.device, ping("10.8.0.3", "10.8.0.2", seq), `relayed ping ${seq} 2→1`);
    }
    assert.equal(mesh.isReady(p2), false, "client2 was never offered the mesh");
    assert.equal(mesh.pairCount, 0);
    assert.equal(relayedPackets(server), 6, "every packet went through the server");
    assert.ok(!one.log.has(/mesh: introduced/) && !two.log.has(/mesh: introduced/));
  });
});

Deno.test("mesh: revoking a client's certificate closes its direct pair on the peer at once, and traffic goes back through the server", async () => {
  await withLab(async (lab) => {
    const server = await lab.startServer({ server: MESH_SERVER });
    const [one, two, p1, p2] = await twoClients(lab, server);
    const mesh = introducer(server);
    await until(() => mesh.isReady(p1) && mesh.isReady(p2) || undefined, "both clients' KEY");
    await carry(two.device, one.device, ping("10.8.0.3", "10.8.0.2", 1), "the first ping, relayed 2→1");
    await one.log.waitFor(/mesh: path to client2: direct/);

    await revokeCertificate(`${lab.pki.dir}/ca`, "client2");
    await one.log.waitFor(/mesh: pair with client2 closed \(revoked\)/);
    assert.equal(mesh.pairCount, 0);
    assert.deepEqual(clientNamed(server, "client1").meshPairs, []);
    // client1's packets for 10.8.0.3 go to the server again (no route there now: counted, not lost silently).
    const relayedBefore = relayedPackets(server);
    const dropsBefore = server.handle.datapath.counters.dropRecord().no_route ?? 0;
    one.device.inject(ping("10.8.0.2", "10.8.0.3", 2));
    await until(
      () =>
        relayedPackets(server) > relayedBefore ||
        (server.handle.datapath.counters.dropRecord().no_route ?? 0) > dropsBefore ||
        server.device.take().length > 0 || undefined,
      "client1's next packet for client2 reaching the server",
    );
  });
});

Deno.test("mesh: when a client's NAT rebinds, the server's float re-introduces the pair and the peer follows to the new endpoint", async () => {
  await withLab(async (lab) => {
    const server = await lab.startServer({ server: MESH_SERVER });
    const [one, two, p1, p2] = await twoClients(lab, server);
    const mesh = introducer(server);
    await until(() => mesh.isReady(p1) && mesh.isReady(p2) || undefined, "both clients' KEY");
    await carry(one.device, two.device, ping("10.8.0.2", "10.8.0.3", 1), "the first ping, relayed");
    await until(
      () => clientNamed(server, "client1").meshPairs?.[0]?.path === "direct" || undefined,
      "client1 direct",
    );
    const oldEndpoint = clientNamed(server, "client1").meshPairs![0].endpoint;

    // No client-to-client traffic from here on: only client2's keepalives to the server reveal the move.
    two.sockets[0].rebind(parseIpv4("192.168.1.99"));
    await until(
      () => clientNamed(server, "client2").realAddress === "192.168.1.99:40000" || undefined,
      "the server seeing client2's new address",
    );
    const moved = await until(() => {
      const pair = clientNamed(server, "client1").meshPairs?.[0];
      return pair?.path === "direct" && pair.endpoint === "192.168.1.99:40000" ? pair : undefined;
    }, "client1's direct path at client2's new endpoint");
    assert.notEqual(moved.endpoint, oldEndpoint);
    const relayedBefore = relayedPackets(server);
    await carry(one.device, two.device, ping("10.8.0.2", "10.8.0.3", 2), "a direct ping to the new endpoint");
    assert.equal(relayedPackets(server), relayedBefore);
  });
});
