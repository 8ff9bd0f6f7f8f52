/**
 * The server composition in one process: the real startServer over a fake
 * tun device, fake netlink and the in-memory network, with real tsvpn
 * clients (src/testing/server/lab.ts). These cover what otherwise only the root-only
 * e2e tests reach (tests/e2e/server_*_test.ts): pushed addresses, packets
 * both ways, refusals, client-to-client relaying, iroutes and spoofing,
 * kill, CRL changes, reaping and the status snapshot.
 */

import assert from "node:assert/strict";
import { parseIpv4 } from "../addr/ip.ts";
import { buildIcmpEcho } from "../testing/packet/builders.ts";
import { Lab, type LabClient, SERVER_ADDRESS, until } from "../testing/server/lab.ts";
import type { FakeDevice } from "../testing/datapath/fake_device.ts";
import { startManagement } from "../ops/management.ts";
import { managementRequest } from "../ops/management_client.ts";
import { revokeCertificate } from "../pki/revoke.ts";

function ping(src: string, dst: string, seq = 1): Uint8Array {
  return buildIcmpEcho({ src, dst, seq, payloadLen: 32 });
}

/** Injects `packet` into `from` and waits until `to` wrote it; returns everything `to` wrote by then. */
function carry(from: FakeDevice, to: FakeDevice, packet: Uint8Array, what: string): Promise<Uint8Array[]> {
  from.inject(packet);
  return arrives(to, packet, what);
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

/** Runs `fn` with a fresh lab (PKI with `extraClients`, fake network), closed afterwards. */
async function withLab(extraClients: string[], fn: (lab: Lab) => Promise<void>): Promise<void> {
  const lab = await Lab.create(extraClients);
  try {
    await fn(lab);
  } finally {
    await lab.close();
  }
}

async function connected(client: LabClient): Promise<void> {
  await client.handle.waitConnected(15_000);
}

Deno.test("startServer() pushes a pool address to a tsvpn client, carries packets both ways, reports it in the snapshot and undoes the host at stop", async () => {
  await withLab([], async (lab) => {
    const server = await lab.startServer();
    assert.ok(server.net.snapshot().includes("addr tsvpn0 10.8.0.1/24 "), server.net.snapshot().join("\n"));
    const client = lab.startClient("client1");
    await connected(client);
    assert.ok(client.net.snapshot().includes("addr tun0 10.8.0.2/24 "), client.net.snapshot().join("\n"));
    await server.log.waitFor(/address assigned cn=client1 peerId=0 ifconfig="10\.8\.0\.2 255\.255\.255\.0"/);
    await server.log.waitFor(/client connected cn=client1 remote=192\.168\.1\.10:40000 peerId=0/);

    const up = ping("10.8.0.2", "10.8.0.1", 1);
    assert.equal((await carry(client.device, server.device, up, "client → server device")).length, 1);
    const down = ping("10.8.0.1", "10.8.0.2", 2);
    assert.equal((await carry(server.device, client.device, down, "server device → client")).length, 1);

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
    const mem = snap.memory!;
    assert.ok(
      mem.rss > 0 && mem.heapUsed > 0 && mem.heapUsed <= mem.heapTotal && mem.external >= 0,
      JSON.stringify(mem),
    );

    client.handle.stop();
    await client.handle.done;
    await server.log.waitFor(/client disconnected cn=client1 .*reason="client sent an exit notification"/);
    assert.deepEqual(server.handle.control.snapshot().clients, []);
    await server.handle.stop("test over");
    await server.log.waitFor(/server stopped/);
    assert.deepEqual(
      server.net.snapshot(),
      server.netBefore,
      "every address and route the server added is gone",
    );
  });
});

Deno.test("startServer() refuses revoked, foreign-CA and disabled clients with the reason logged, leasing them nothing", async () => {
  await withLab(["client2"], async (lab) => {
    const server = await lab.startServer({
      server: ["  network: 10.8.0.0/24", "  clients:", "    client2: { disabled: true }"],
    });
    const revoked = lab.startClient("revoked1");
    const foreign = lab.startClient("intruder");
    const disabled = lab.startClient("client2");
    await server.log.waitFor(/client refused cn=revoked1 reason="certificate revoked/);
    await server.log.waitFor(/client refused cn=intruder reason=/);
    await server.log.waitFor(
      /client refused cn=client2 remote=192\.168\.1\.12:\d+ reason="client is disabled in the server configuration"/,
    );
    const end = await until(() => disabled.ends[0], "the disabled client's end");
    assert.equal(end.kind, "auth-failed");
    assert.match(end.reason, /client is disabled/);
    for (const refused of [revoked, foreign, disabled]) {
      refused.handle.stop();
      await refused.handle.done;
      assert.equal(refused.handle.status.connects, 0, `${refused.name} never connected`);
    }
    assert.ok(!server.log.has(/address assigned/), server.log.lines.join("\n"));
    assert.deepEqual(server.handle.control.snapshot().clients, []);
    // Nothing was leased to them: the first good client gets the first address.
    const good = lab.startClient("client1");
    await connected(good);
    await server.log.waitFor(/address assigned cn=client1 peerId=\d+ ifconfig="10\.8\.0\.2 /);
  });
});

Deno.test("startServer() with max_clients: 1 refuses a second client and keeps serving the first", async () => {
  await withLab(["client2"], async (lab) => {
    const server = await lab.startServer({ server: ["  network: 10.8.0.0/24", "  max_clients: 1"] });
    const first = lab.startClient("client1");
    await connected(first);
    const second = lab.startClient("client2");
    await server.log.waitFor(/client refused cn=client2 .*reason="server is full \(max_clients 1\)"/);
    assert.equal((await until(() => second.ends[0], "the refusal")).kind, "auth-failed");
    assert.deepEqual(server.handle.control.snapshot().clients.map((c) => c.name), ["client1"]);
    await carry(first.device, server.device, ping("10.8.0.2", "10.8.0.1"), "the first client still served");
  });
});

Deno.test("startServer() with client_to_client relays between two clients inside the process, routes an iroute to its owner and drops a spoofed source", async () => {
  await withLab(["client2"], async (lab) => {
    const server = await lab.startServer({
      server: [
        "  network: 10.8.0.0/24",
        "  client_to_client: true",
        "  clients:",
        "    client1: { iroutes: [192.168.50.0/24] }",
      ],
    });
    const one = lab.startClient("client1");
    await connected(one);
    const two = lab.startClient("client2");
    await connected(two);
    await server.log.waitFor(/route added prefix=192\.168\.50\.0\/24 via=client1/);

    await carry(
      one.device,
      two.device,
      ping("10.8.0.2", "10.8.0.3", 1),
      "client1 → client2 through the server's router",
    );
    await carry(two.device, one.device, ping("10.8.0.3", "10.8.0.2", 2), "client2 → client1");
    const behind = ping("10.8.0.3", "192.168.50.7", 3);
    await carry(two.device, one.device, behind, "client2 → the subnet behind client1");
    await carry(
      server.device,
      one.device,
      ping("10.8.0.1", "192.168.50.8", 4),
      "server host → the subnet behind client1",
    );

    // client2 claims an address behind client1: dropped and counted, delivered nowhere.
    const spoofed = ping("192.168.50.9", "10.8.0.1", 5);
    two.device.inject(spoofed);
    await until(
      () => server.handle.control.snapshot().drops.spoofed === 1 ? true : undefined,
      "the spoof drop",
    );
    assert.deepEqual(server.device.take(), [], "relayed and spoofed packets never reach the server's device");
    assert.equal(server.handle.datapath.counters.stat("client_to_client"), 3);

    const routes = server.handle.control.snapshot().routes.map((r) => `${r.virtualAddress} ${r.name}`).sort();
    assert.deepEqual(routes, ["10.8.0.2 client1", "10.8.0.3 client2", "192.168.50.0/24 client1"]);
    one.handle.stop();
    await server.log.waitFor(/route removed prefix=192\.168\.50\.0\/24/);
    await until(
      () => server.handle.control.snapshot().routes.length === 1 ? true : undefined,
      "routes released",
    );
  });
});

Deno.test("startServer() without client_to_client hands client-to-client packets to its device", async () => {
  await withLab(["client2"], async (lab) => {
    const server = await lab.startServer();
    const one = lab.startClient("client1");
    await connected(one);
    const two = lab.startClient("client2");
    await connected(two);
    await carry(one.device, server.device, ping("10.8.0.2", "10.8.0.3"), "client1 → the server's device");
    assert.equal(server.handle.datapath.counters.stat("client_to_client"), 0, "the server relays nothing");
  });
});

Deno.test("startServer() under the management interface: status 2 lists the client, kill NAME disconnects it and it comes back as a new session", async () => {
  await withLab([], async (lab) => {
    const socketPath = `${lab.pki.dir}/management.sock`;
    const server = await lab.startServer();
    const management = await startManagement(socketPath, server.handle.control, {
      log: server.log.logger("mgmt"),
    });
    lab.onClose(() => management.close());
    const client = lab.startClient("client1");
    await connected(client);

    const status = await managementRequest(socketPath, "status 2");
    assert.ok(
      status.some((l) => /^CLIENT_LIST,client1,192\.168\.1\.10:40000,10\.8\.0\.2,/.test(l)),
      status.join("\n"),
    );
    assert.ok(
      status.some((l) => /^ROUTING_TABLE,10\.8\.0\.2,client1,192\.168\.1\.10:40000,/.test(l)),
      status.join("\n"),
    );
    const before = server.handle.control.snapshot().clients[0];

    const again = client.handle.waitConnected(15_000);
    assert.deepEqual(await managementRequest(socketPath, "kill client1"), [
      "SUCCESS: common name 'client1' found, 1 client(s) killed",
    ]);
    await server.log.waitFor(/killing client cn=client1 reason="killed by the management interface"/);
    await server.log.waitFor(/client disconnected cn=client1 .*reason="killed by the management interface"/);
    assert.deepEqual(await managementRequest(socketPath, "kill nobody"), [
      "ERROR: common name 'nobody' not found",
    ]);
    await again;
    assert.equal(client.ends[0].kind, "server-restart", JSON.stringify(client.ends));
    const after = await until(() => server.handle.control.snapshot().clients[0], "the client back");
    assert.notEqual(after.clientId, before.clientId, "a new session");
    assert.equal(after.virtualAddress, "10.8.0.2", "the same address again");
  });
});

Deno.test("startServer() under the management interface: kill IP:PORT restarts the client at that address; client-kill CID HALT makes it stop for good", async () => {
  await withLab([], async (lab) => {
    const socketPath = `${lab.pki.dir}/management.sock`;
    const server = await lab.startServer();
    const management = await startManagement(socketPath, server.handle.control, {
      log: server.log.logger("mgmt"),
    });
    lab.onClose(() => management.close());
    const client = lab.startClient("client1");
    await connected(client);
    const first = server.handle.control.snapshot().clients[0];

    const again = client.handle.waitConnected(15_000);
    assert.deepEqual(await managementRequest(socketPath, "kill 192.168.1.99:40000"), [
      "ERROR: client at address 192.168.1.99:40000 not found",
    ]);
    assert.deepEqual(await managementRequest(socketPath, `kill ${first.realAddress}`), [
      `SUCCESS: 1 client(s) at address ${first.realAddress} killed`,
    ]);
    await again;
    assert.equal(client.ends[0].kind, "server-restart", JSON.stringify(client.ends));
    const second = await until(() => server.handle.control.snapshot().clients[0], "the client back");

    assert.deepEqual(await managementRequest(socketPath, `client-kill ${second.clientId! + 1000}`), [
      "ERROR: client-kill command failed",
    ]);
    assert.deepEqual(await managementRequest(socketPath, `client-kill ${second.clientId} HALT`), [
      "SUCCESS: client-kill command succeeded",
    ]);
    await until(() => client.ends.length === 2, "the client's second end");
    assert.equal(client.ends[1].kind, "halt", JSON.stringify(client.ends));
    await until(() => server.handle.control.snapshot().clients.length === 0, "no client left");
    assert.equal(client.ends.length, 2, "a halted client does not come back");
  });
});

Deno.test("startServer() with server.compat.compress pushes the framing option; a tsvpn client takes it and packets cross both ways", async () => {
  for (
    const [framing, option] of [["lzo-no", "comp-lzo no"], ["stub", "compress stub"], [
      "stub-v2",
      "compress stub-v2",
    ]]
  ) {
    await withLab([], async (lab) => {
      const server = await lab.startServer({
        server: ["  network: 10.8.0.0/24", `  compat: { compress: ${framing} }`],
      });
      const client = lab.startClient("client1");
      await connected(client);
      await client.log.waitFor(new RegExp(`compression framing from the push .*option="${option}"`));
      const up = ping("10.8.0.2", "10.8.0.1", 1);
      assert.equal((await carry(client.device, server.device, up, `${framing}: client → server`)).length, 1);
      const down = ping("10.8.0.1", "10.8.0.2", 2);
      assert.equal(
        (await carry(server.device, client.device, down, `${framing}: server → client`)).length,
        1,
      );
      assert.equal(server.handle.datapath.counters.drop("compressed"), 0);
    });
  }
});

Deno.test("startServer() drops a client whose certificate is revoked while connected (CRL file checked every second) and refuses it from then on", async () => {
  await withLab([], async (lab) => {
    const server = await lab.startServer();
    const client = lab.startClient("client1");
    await connected(client);
    await revokeCertificate(`${lab.pki.dir}/ca`, "client1");
    await server.log.waitFor(/disconnecting client cn=client1 reason="certificate revoked/);
    await server.log.waitFor(/client disconnected cn=client1 /);
    await server.log.waitFor(/client refused cn=client1 reason="certificate revoked/);
    assert.deepEqual(server.handle.control.snapshot().clients, []);
    assert.equal(await server.handle.control.reloadCrl(), 1, "reload-crl reports the one disconnect");
  });
});

Deno.test("startServer() reaps a client that went silent after twice the keepalive timeout and hands its address out again", async () => {
  await withLab(["client2"], async (lab) => {
    let skewMs = 0;
    const server = await lab.startServer({
      keepalive: "{ interval: 1, timeout: 2 }",
      // A /29 whose other client addresses are reserved: 10.8.0.2 is the only dynamic one.
      server: [
        "  network: 10.8.0.0/29",
        "  clients:",
        ...[3, 4, 5, 6].map((n) => `    r${n}: { address: 10.8.0.${n} }`),
      ],
      options: { now: () => Date.now() + skewMs },
    });
    const gone = lab.startClient("client1");
    await connected(gone);
    // Killed with -9: nothing leaves or reaches it any more, and it never dials again.
    for (const socket of gone.sockets) socket.muted = true;
    gone.handle.stop();
    assert.equal(
      server.handle.control.snapshot().clients.length,
      1,
      "a silent client stays until the timeout",
    );
    // The datapath's clock jumps past 2 × timeout; its next tick (at most 1 s away) reaps the client.
    skewMs = 5000;
    await server.log.waitFor(
      /client disconnected cn=client1 .*reason="no packet from the client for 4 s \(ping-restart\)"/,
    );
    assert.deepEqual(server.handle.control.snapshot().clients, []);
    assert.deepEqual(server.handle.control.snapshot().routes, []);
    const next = lab.startClient("client2");
    await connected(next);
    await server.log.waitFor(/address assigned cn=client2 peerId=\d+ ifconfig="10\.8\.0\.2 /);
  });
});

Deno.test("startServer() over TCP (loopback) serves a tsvpn client: address pushed, packets both ways, listed with its TCP remote", async () => {
  await withLab([], async (lab) => {
    const server = await lab.startServer({ proto: "tcp" });
    const client = lab.startClient("client1", { tcpPort: server.handle.localPort });
    await connected(client);
    await carry(
      client.device,
      server.device,
      ping("10.8.0.2", "10.8.0.1", 1),
      "client → server device over TCP",
    );
    await carry(
      server.device,
      client.device,
      ping("10.8.0.1", "10.8.0.2", 2),
      "server device → client over TCP",
    );
    const snap = server.handle.control.snapshot();
    assert.equal(snap.listen, `tcp:127.0.0.1:${server.handle.localPort}`);
    assert.match(snap.clients[0]?.realAddress ?? "", /^127\.0\.0\.1:\d+$/);
  });
});

Deno.test("startServer() follows a client whose address changed (NAT rebinding): data and control move to the new endpoint", async () => {
  await withLab([], async (lab) => {
    const server = await lab.startServer({ extra: ["data: { reneg_seconds: 2 }"] });
    const client = lab.startClient("client1");
    await connected(client);
    client.sockets[0].rebind(parseIpv4("192.168.1.99"));
    await carry(
      client.device,
      server.device,
      ping("10.8.0.2", "10.8.0.1", 1),
      "a packet from the new address",
    );
    const row = await until(() => {
      const c = server.handle.control.snapshot().clients[0];
      return c?.realAddress === "192.168.1.99:40000" ? c : undefined;
    }, "the snapshot naming the new address");
    assert.equal(row.virtualAddress, "10.8.0.2");
    await carry(server.device, client.device, ping("10.8.0.1", "10.8.0.2", 2), "a packet to the new address");
    // The control channel followed too: the server's soft reset (reneg_seconds 2) reaches the new address.
    await server.log.waitFor(/data keys renewed cn=client1 keyId=1/);
    await carry(server.device, client.device, ping("10.8.0.1", "10.8.0.2", 3), "a packet under the new key");
  });
});

Deno.test("startServer() with pool_persist saves the leases at stop and gives a client its remembered address after a restart", async () => {
  await withLab(["client2"], async (lab) => {
    const setup = { server: ["  network: 10.8.0.0/24", `  pool_persist: ${lab.pki.dir}/pool.json`] };
    const first = await lab.startServer(setup);
    const two = lab.startClient("client2");
    await connected(two);
    const one = lab.startClient("client1");
    await connected(one);
    await first.log.waitFor(/address assigned cn=client1 peerId=\d+ ifconfig="10\.8\.0\.3 /);
    for (const client of [one, two]) client.handle.stop();
    await Promise.all([one.handle.done, two.handle.done]);
    await first.handle.stop("restart");
    const saved = JSON.parse(await Deno.readTextFile(`${lab.pki.dir}/pool.json`));
    assert.deepEqual(
      saved.leases.map((l: { name: string; ipv4: string }) => `${l.name} ${l.ipv4}`).sort(),
      ["client1 10.8.0.3", "client2 10.8.0.2"],
    );

    const second = await lab.startServer(setup);
    await second.log.waitFor(/address pool restored .*applied=2 skipped=0/);
    await connected(lab.startClient("client1"));
    await second.log.waitFor(/address assigned cn=client1 peerId=\d+ ifconfig="10\.8\.0\.3 /);
  });
});
