/**
 * The tap switch's learning guards on the wire (issue 11): a tsvpn server with
 * `dev: tap` and `server.max_macs_per_client: 2`, two stock openvpn 2.6 tap
 * clients (alice, bob) in their own namespaces.
 *
 *     srv: tsvpn0 10.8.0.1/24 (tap port) ── tsvpn switch ──┬── alice: tap0 (MAC A1)
 *                                                            │     ├─ macvlan → ns m2 (MAC M2, 10.8.0.202)
 *                                                            │     ├─ macvlan → ns m3 (MAC M3, 10.8.0.203)
 *                                                            │     └─ macvlan → ns m4 (MAC M4, 10.8.0.204)
 *                                                            └── bob: tap0 (MAC B1, later set to A1)
 *
 * The hosts behind alice are macvlan devices on her tap0, each moved into a
 * namespace of its own, so each sources frames from its own MAC through
 * alice's openvpn port while alice's tap0 keeps working; own namespaces keep
 * their ARP apart from alice's. Counters and the MAC table come from
 * `tsvpn status --json` over the management interface.
 */

import assert from "node:assert/strict";
import { until } from "../../src/testing/wait.ts";
import { e2eIgnore, type E2eLab } from "./support/lab.ts";
import { statusJson } from "./support/management.ts";
import { inet, runScenario, type Scenario } from "./support/scenario.ts";

const opts = { ignore: e2eIgnore(), sanitizeResources: false, sanitizeOps: false };
const MGMT = "127.0.0.1:7505";
const SERVER_HOST = "10.8.0.1";
/** Locally administered MACs for the hosts behind alice (2nd, 3rd, 4th MAC on her port). */
const BEHIND = [
  { label: "m2", mac: "02:5e:00:00:00:02", address: "10.8.0.202/24" },
  { label: "m3", mac: "02:5e:00:00:00:03", address: "10.8.0.203/24" },
  { label: "m4", mac: "02:5e:00:00:00:04", address: "10.8.0.204/24" },
];

async function linkMac(lab: E2eLab, ns: string, dev: string): Promise<string> {
  const r = await lab.exec(ns, ["ip", "-j", "link", "show", "dev", dev]);
  return (JSON.parse(r.stdout) as { address: string }[])[0].address;
}

async function txPackets(lab: E2eLab, ns: string, dev: string): Promise<number> {
  const r = await lab.exec(ns, ["ip", "-j", "-s", "link", "show", "dev", dev]);
  return (JSON.parse(r.stdout) as { stats64: { tx: { packets: number } } }[])[0].stats64.tx.packets;
}

/** Sends `count` pings 0.2 s apart and returns how many were answered. */
async function pingReplies(lab: E2eLab, ns: string, target: string, count: number): Promise<number> {
  const r = await lab.exec(ns, ["ping", "-c", String(count), "-i", "0.2", "-W", "1", target], false);
  const m = r.stdout.match(/(\d+) received/);
  return m ? Number(m[1]) : 0;
}

/** A namespace behind `parentNs`'s tap0: a macvlan on tap0 with its own MAC and address, moved there. */
async function hostBehind(lab: E2eLab, parentNs: string, h: (typeof BEHIND)[number]): Promise<string> {
  const ns = await lab.lab.addNamespace(h.label);
  const dev = `mv-${h.label}`;
  await lab.exec(parentNs, [
    ...["ip", "link", "add", "link", "tap0", "name", dev, "address", h.mac],
    ...["type", "macvlan", "mode", "bridge"],
  ]);
  await lab.exec(parentNs, ["ip", "link", "set", dev, "netns", ns]);
  await lab.exec(ns, ["ip", "addr", "add", h.address, "dev", dev]);
  await lab.exec(ns, ["ip", "link", "set", dev, "up"]);
  return ns;
}

/** The MACs the server's switch holds for `port` (a client name), sorted. */
async function macsOf(s: Scenario, port: string): Promise<string[]> {
  const snap = await statusJson(s.lab, s.srv, MGMT);
  return snap.macs.filter((m) => m.port === port).map((m) => m.mac).sort();
}

async function tapAddress(s: Scenario, name: string): Promise<string> {
  return inet(await s.lab.addresses(s.ns[name], "tap0"))[0].split("/")[0];
}

/**
 * Step 2: alice's port already holds A1; m2 becomes her 2nd MAC and works,
 * m3 and m4 (3rd and 4th) are refused and counted as mac_limit, and her first
 * two MACs keep working.
 */
async function checkMacCap(s: Scenario, a1: string, bob: string, alice: string): Promise<void> {
  const { lab, ns, srv } = s;
  const m2 = await hostBehind(lab, ns.alice, BEHIND[0]);
  assert.ok(await lab.pingUntil(m2, SERVER_HOST), "alice's 2nd MAC (m2) reaches the server host");
  const [m3, m4] = await Promise.all([
    hostBehind(lab, ns.alice, BEHIND[1]),
    hostBehind(lab, ns.alice, BEHIND[2]),
  ]);
  const beyond = await Promise.all([lab.pingFails(m3, SERVER_HOST, 3), lab.pingFails(m4, SERVER_HOST, 3)]);
  assert.deepEqual(beyond, [true, true], "frames from alice's 3rd and 4th MACs are dropped");
  const still = await Promise.all([
    lab.pingUntil(ns.alice, bob),
    lab.pingUntil(srv, alice),
    lab.pingUntil(m2, SERVER_HOST),
  ]);
  assert.deepEqual(still, [true, true, true], "alice's first two MACs keep working");
  const snap = await statusJson(lab, srv, MGMT);
  assert.ok((snap.drops.mac_limit ?? 0) > 0, `mac_limit counted: ${JSON.stringify(snap.drops)}`);
  const aliceMacs = snap.macs.filter((m) => m.port === "alice").map((m) => m.mac).sort();
  assert.deepEqual(aliceMacs, [a1, BEHIND[0].mac].sort(), "the switch holds exactly alice's first two MACs");
}

/**
 * Step 3: bob sets his tap0 MAC to alice's live A1 and keeps sending; his
 * frames are dropped (mac_takeover) and the server host's pings to alice's
 * address still reach alice. Had the switch moved A1 to bob's port, they would
 * land at bob, whose kernel drops them (not his address, no forwarding).
 */
async function checkNoTakeover(s: Scenario, a1: string, b1: string, alice: string): Promise<void> {
  const { lab, ns, srv } = s;
  await lab.exec(ns.bob, ["ip", "link", "set", "dev", "tap0", "address", a1]);
  await lab.exec(ns.bob, ["ip", "neigh", "flush", "dev", "tap0"]);
  const sentBefore = await txPackets(lab, ns.bob, "tap0");
  const claim = lab.exec(ns.bob, ["ping", "-c", "25", "-i", "0.2", "-W", "1", SERVER_HOST], false);
  await until(async () => await txPackets(lab, ns.bob, "tap0") >= sentBefore + 2, {
    timeoutMs: 5000,
    what: "bob's frames from A1",
    intervalMs: 50,
  });
  const replies = await pingReplies(lab, srv, alice, 8);
  assert.equal(
    replies,
    8,
    "every ping from the server host to alice's address reaches alice while bob claims her MAC",
  );
  const snap = await statusJson(lab, srv, MGMT);
  assert.ok((snap.drops.mac_takeover ?? 0) > 0, `mac_takeover counted: ${JSON.stringify(snap.drops)}`);
  const owners = Object.fromEntries(snap.macs.map((m) => [m.mac, m.port]));
  assert.equal(owners[a1], "alice", "A1 stays on alice's port");
  assert.equal(owners[b1], "bob", "bob keeps only his own MAC");
  const bobPing = await claim;
  assert.match(bobPing.stdout, / 0 received/, "bob's frames from alice's MAC never got through");
}

Deno.test({
  ...opts,
  name:
    "tap switch on the wire: a client's MACs beyond max_macs_per_client are dropped (mac_limit) and a live client's MAC is not taken over (mac_takeover)",
  fn: () =>
    runScenario({
      clients: [{ name: "alice" }, { name: "bob" }],
      dev: "tap",
      server: "  network: 10.8.0.0/24\n  client_to_client: true\n  max_macs_per_client: 2\n",
      extra: [`management: { listen: "${MGMT}" }`],
    }, async (s) => {
      const { lab, ns } = s;
      const [alice, bob] = await Promise.all([tapAddress(s, "alice"), tapAddress(s, "bob")]);
      const [a1, b1] = await Promise.all([linkMac(lab, ns.alice, "tap0"), linkMac(lab, ns.bob, "tap0")]);
      // Step 1: the baseline through the switch.
      const r = await Promise.all([lab.pingUntil(ns.alice, bob), lab.pingUntil(ns.bob, alice)]);
      assert.deepEqual(r, [true, true], "alice and bob ping each other through the switch");
      assert.deepEqual(await macsOf(s, "alice"), [a1], "alice's port holds only her tap0's MAC");
      await checkMacCap(s, a1, bob, alice);
      await checkNoTakeover(s, a1, b1, alice);
    }),
});
