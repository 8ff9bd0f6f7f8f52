import assert from "node:assert/strict";
import { parseIpv4 } from "../addr/ip.ts";
import type { NatBehaviour } from "../testing/mesh/nat.ts";
import { MeshRig } from "../testing/mesh/mesh.ts";

/** alice and bob, each behind their own NAT of the given behaviour. */
function twoHomes(a: NatBehaviour, b: NatBehaviour, settings = {}) {
  const rig = new MeshRig(settings);
  const natA = rig.net.nat(parseIpv4("198.51.100.1"), a);
  const natB = rig.net.nat(parseIpv4("203.0.113.1"), b);
  const alice = rig.addClient({ name: "alice", vpn: "10.8.0.2", address: "192.168.1.10", nat: natA });
  const bob = rig.addClient({
    name: "bob",
    vpn: "10.8.0.3",
    address: "192.168.2.10",
    nat: natB,
    iroutes: ["172.16.3.0/24"],
  });
  return { rig, natA, natB, alice, bob };
}

function explain(rig: MeshRig): string {
  return [...rig.serverLog, ...rig.clients.flatMap((c) => c.log), ...rig.net.trace.slice(-40)].join("\n");
}

Deno.test("mesh: two clients behind endpoint-independent NATs go direct after the first relayed packet", () => {
  const { rig, alice, bob } = twoHomes("cone", "cone");
  assert.equal(rig.sendIp(alice, "10.8.0.3"), "relayed", "no pair before traffic");
  assert.equal(bob.tun.at(-1)!.via, "relayed");
  rig.run(100);
  assert.equal(alice.pathTo("bob"), "direct", explain(rig));
  assert.equal(bob.pathTo("alice"), "direct", explain(rig));
  assert.equal(rig.sendIp(alice, "10.8.0.3"), "direct");
  assert.deepEqual(bob.tun.at(-1), { src: "10.8.0.2", dst: "10.8.0.3", via: "direct" });
  assert.equal(rig.sendIp(bob, "10.8.0.2"), "direct");
  assert.equal(rig.sendIp(alice, "172.16.3.9"), "direct", "the peer's iroutes go direct too");
  assert.equal(rig.sendIp(alice, "10.8.0.99"), "no-route");
});

Deno.test("mesh: the server's status lists each member's pair with path, endpoint and RTT", () => {
  const { rig, alice, bob } = twoHomes("cone", "cone");
  rig.sendIp(alice, "10.8.0.3");
  rig.run(100);
  const [pa] = rig.server.pairsOf(alice.session);
  assert.equal(pa.peer, "bob");
  assert.equal(pa.path, "direct");
  assert.equal(pa.endpoint, "203.0.113.1:20000", "bob's public mapping, as alice reaches it");
  assert.equal(typeof pa.rttMs, "number");
  assert.equal(rig.server.pairsOf(bob.session)[0].endpoint, "198.51.100.1:20000");
});

Deno.test("mesh: behind symmetric NATs no direct path forms; the pair stays relayed after punch_timeout and retries", () => {
  const { rig, alice, bob, natA, natB } = twoHomes("symmetric", "symmetric");
  rig.sendIp(alice, "10.8.0.3");
  rig.run(4900);
  assert.equal(alice.pathTo("bob"), "relayed");
  rig.run(200);
  assert.ok(
    alice.log.some((l) =>
      /path to bob: relayed through the server \(no answer within 5000 ms; retrying in 30 s\)/.test(l)
    ),
    explain(rig),
  );
  assert.equal(rig.sendIp(alice, "10.8.0.3"), "relayed");
  assert.equal(rig.sendIp(bob, "10.8.0.2"), "relayed");
  assert.ok(natA.filtered > 0 && natB.filtered > 0, "probes were refused by the NATs");
  const filtered = natA.filtered + natB.filtered;
  rig.run(30_000);
  assert.ok(natA.filtered + natB.filtered > filtered, "retried after 30 s");
  assert.equal(alice.pathTo("bob"), "relayed");
  assert.equal(rig.server.pairsOf(alice.session)[0].path, "relayed");
});

Deno.test("mesh: symmetric NAT against a full-cone NAT connects through a peer-reflexive endpoint", () => {
  const { rig, alice, bob } = twoHomes("symmetric", "full-cone");
  rig.sendIp(alice, "10.8.0.3");
  rig.run(2000);
  assert.equal(alice.pathTo("bob"), "direct", explain(rig));
  assert.equal(bob.pathTo("alice"), "direct", explain(rig));
  const bobView = bob.agent.peers()[0].endpoint!;
  assert.notEqual(
    bobView.port,
    20000,
    "bob reaches alice at the port her NAT opened towards him, not the server's",
  );
  assert.equal(rig.sendIp(bob, "10.8.0.2"), "direct");
  assert.equal(alice.tun.at(-1)!.via, "direct");
});

Deno.test("mesh: symmetric NAT against a port-restricted cone stays relayed", () => {
  const { rig, alice } = twoHomes("symmetric", "cone");
  rig.sendIp(alice, "10.8.0.3");
  rig.run(6000);
  assert.equal(alice.pathTo("bob"), "relayed", explain(rig));
});

Deno.test("mesh: two clients on one LAN behind the same NAT meet on their local endpoints", () => {
  const rig = new MeshRig();
  const nat = rig.net.nat(parseIpv4("198.51.100.1"), "symmetric");
  const alice = rig.addClient({ name: "alice", vpn: "10.8.0.2", address: "192.168.1.10", nat });
  const bob = rig.addClient({ name: "bob", vpn: "10.8.0.3", address: "192.168.1.20", nat });
  rig.sendIp(bob, "10.8.0.2");
  rig.run(100);
  assert.equal(alice.agent.peers()[0].endpoint?.port, 1194);
  assert.equal(alice.pathTo("bob"), "direct", explain(rig));
  assert.equal(rig.sendIp(alice, "10.8.0.3"), "direct");
});

Deno.test("mesh: keepalives hold a direct path through NAT flow timeouts; without them the path goes dark", () => {
  const held = twoHomes("cone", "cone");
  held.rig.sendIp(held.alice, "10.8.0.3");
  held.rig.run(600_000); // ten idle minutes; the NATs forget a flow after 30 s without packets
  assert.equal(held.rig.sendIp(held.bob, "10.8.0.2"), "direct");
  assert.deepEqual(
    held.alice.tun.at(-1),
    { src: "10.8.0.3", dst: "10.8.0.2", via: "direct" },
    explain(held.rig),
  );
  assert.equal(
    held.alice.log.filter((l) => l.includes("path to bob")).length,
    1,
    "one path change in ten minutes",
  );

  const lapsed = twoHomes("cone", "cone", { keepaliveS: 60 });
  lapsed.rig.sendIp(lapsed.alice, "10.8.0.3");
  lapsed.rig.run(45_000);
  const delivered = lapsed.alice.tun.length;
  assert.equal(lapsed.rig.sendIp(lapsed.bob, "10.8.0.2"), "direct", "bob still believes in the path");
  assert.equal(lapsed.alice.tun.length, delivered, "but alice's NAT forgot the flow: the packet is lost");
});

Deno.test("mesh: a rebinding seen by the peer (it is not behind a filtering NAT) is followed at once", () => {
  const rig = new MeshRig();
  const natA = rig.net.nat(parseIpv4("198.51.100.1"), "cone");
  const alice = rig.addClient({ name: "alice", vpn: "10.8.0.2", address: "192.168.1.10", nat: natA });
  const bob = rig.addClient({ name: "bob", vpn: "10.8.0.3", address: "203.0.113.7" });
  rig.sendIp(alice, "10.8.0.3");
  rig.run(100);
  const before = bob.agent.peers()[0].endpoint!.port;
  natA.rebind();
  assert.equal(rig.sendIp(alice, "10.8.0.3"), "direct");
  assert.equal(bob.tun.at(-1)!.via, "direct", "authenticated, so delivered from the new endpoint");
  rig.run(100);
  const after = bob.agent.peers()[0].endpoint!.port;
  assert.notEqual(after, before, explain(rig));
  assert.ok(
    bob.log.some((l) => /path to alice: direct via 198\.51\.100\.1:\d+ \(endpoint changed\)/.test(l)),
  );
  assert.equal(rig.sendIp(bob, "10.8.0.2"), "direct");
  assert.deepEqual(alice.tun.at(-1), { src: "10.8.0.3", dst: "10.8.0.2", via: "direct" });
});

Deno.test("mesh: behind filtering NATs a rebinding is healed by the server's new endpoint (re-probe)", () => {
  const { rig, alice, bob, natA } = twoHomes("cone", "cone");
  rig.sendIp(alice, "10.8.0.3");
  rig.run(100);
  natA.rebind();
  rig.run(10_000); // alice's next packet to the server shows her new public port; the server tells bob
  const now = bob.agent.peers()[0].endpoint;
  assert.ok(now !== null && now.port !== 20000, explain(rig));
  assert.equal(rig.server.pairsOf(bob.session)[0].endpoint, `198.51.100.1:${now.port}`);
  assert.equal(rig.sendIp(bob, "10.8.0.2"), "direct");
  assert.deepEqual(alice.tun.at(-1), { src: "10.8.0.3", dst: "10.8.0.2", via: "direct" });
  assert.equal(rig.sendIp(alice, "10.8.0.3"), "direct");
  assert.deepEqual(bob.tun.at(-1), { src: "10.8.0.2", dst: "10.8.0.3", via: "direct" });
});

Deno.test("mesh: a direct path that goes dark under traffic falls back to the relay within seconds", () => {
  const { rig, alice, bob } = twoHomes("cone", "cone");
  rig.sendIp(alice, "10.8.0.3");
  rig.run(100);
  rig.net.lose = (d) => d.bytes.length > 2; // every mesh datagram now vanishes; server pings still pass
  for (let t = 0; t < 12; t++) {
    rig.sendIp(alice, "10.8.0.3");
    rig.run(1000);
  }
  assert.equal(alice.pathTo("bob"), "relayed", explain(rig));
  assert.ok(alice.log.some((l) => l.includes("direct path stopped answering")));
  assert.equal(rig.sendIp(alice, "10.8.0.3"), "relayed");
  assert.equal(bob.tun.at(-1)!.via, "relayed");
});
