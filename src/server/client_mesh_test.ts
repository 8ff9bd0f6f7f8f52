/**
 * ClientMesh (the server's mesh wiring) over registry-shaped records: what it
 * reads from each session (peer-info capability, `mesh: false`, the UDP
 * endpoint, addresses) decides who is offered the mesh and introduced. The
 * capable side of the protocol is a real MeshAgent fed over the records'
 * control messages.
 */

import assert from "node:assert/strict";
import { parseConfig } from "../config/load.ts";
import type { ServerConfig } from "../config/schema.ts";
import type { ControlSession } from "../control/session.ts";
import { EndpointSlots } from "../device/datagram_socket.ts";
import { MeshAgent } from "../mesh/mesh_agent.ts";
import { ManualClock } from "../testing/control/clock.ts";
import { seededBytes } from "../testing/mesh/random.ts";
import { Logger } from "../log/log.ts";
import { ClientMesh } from "./client_mesh.ts";
import type { ClientRecord } from "./client_record.ts";

const CONFIG = parseConfig(
  [
    "mode: server",
    "pki: { ca: ca.crt, cert: s.crt, key: s.key }",
    "server:",
    "  network: 10.8.0.0/24",
    "  client_to_client: true",
    "  mesh: { enabled: true }",
    "  clients:",
    "    carol: { mesh: false }",
  ].join("\n"),
  "s.yaml",
) as ServerConfig;

const quiet = new Logger({ level: "error", sink: () => {} });

interface Member {
  rec: ClientRecord;
  /** Every control message the server sent this member. */
  sent: string[];
  agent: MeshAgent | null;
}

/** A record attached at `peerId`, announcing IV_TSVPN when `tsvpn`; a capable one answers through a MeshAgent. */
function member(
  mesh: () => ClientMesh,
  name: string,
  peerId: number,
  tsvpn: boolean,
  clock: ManualClock,
): Member {
  const peerInfo = new Map([
    ["IV_CIPHERS", "AES-256-GCM"],
    ...(tsvpn ? [["IV_TSVPN", "1"] as [string, string]] : []),
  ]);
  const endpoint = new EndpointSlots(1);
  endpoint.setIpv4(0, 0xc0000200 + peerId, 1194);
  const m: Member = { rec: null!, sent: [], agent: null };
  if (tsvpn) {
    m.agent = new MeshAgent({
      name,
      ciphers: ["AES-256-GCM"],
      clock,
      random: seededBytes(peerId),
      sendControl: (text) => mesh().message(m.rec, text),
      socket: { send: () => true },
    });
  }
  const session = {
    peer: { commonName: name, peerInfo },
    sendControlMessage: (text: string) => {
      m.sent.push(text);
      m.agent?.onControlMessage(text);
    },
  } as unknown as ControlSession;
  m.rec = {
    session,
    endpoint,
    name,
    peerId,
    lease: { ipv4: 0x0a080002 + peerId, ipv6: null },
    override: CONFIG.server.clients.get(name) ?? null,
    attached: true,
    released: false,
    cipher: "AES-256-GCM",
  } as unknown as ClientRecord;
  return m;
}

function setUp(specs: [string, boolean][]): { mesh: ClientMesh; members: Member[]; clock: ManualClock } {
  const clock = new ManualClock();
  const members: Member[] = [];
  const mesh: ClientMesh = new ClientMesh({
    config: CONFIG,
    capacity: 16,
    recordOf: (id) => members.find((m) => m.rec.peerId === id)?.rec ?? null,
    log: quiet,
  });
  specs.forEach(([name, tsvpn], i) => members.push(member(() => mesh, name, i, tsvpn, clock)));
  for (const m of members) mesh.keyInstalled(m.rec, false);
  return { mesh, members, clock };
}

const kinds = (m: Member) => m.sent.map((t) => t.split(",")[0]);

Deno.test("ClientMesh introduces two IV_TSVPN clients on their first relayed packet, once", () => {
  const { mesh, members: [alice, bob] } = setUp([["alice", true], ["bob", true]]);
  assert.ok(mesh.introducer.isReady(0) && mesh.introducer.isReady(1), "HELLO answered with KEY");
  assert.equal(mesh.introducer.pairCount, 0, "no introduction before a relayed packet");
  for (let i = 0; i < 5; i++) mesh.introducer.onRelayed(0, 1, 100);
  assert.deepEqual(kinds(alice), ["TSVPN_MESH_HELLO", "TSVPN_MESH_INTRO"]);
  assert.deepEqual(kinds(bob), ["TSVPN_MESH_HELLO", "TSVPN_MESH_INTRO"]);
  assert.deepEqual(mesh.status().relayedPackets, 5);
  assert.equal(mesh.pairsOf(0)[0].peer, "bob");
  // kill: the peer hears CLOSE with the reason, the pair is gone.
  mesh.left(bob.rec, "killed");
  assert.match(alice.sent.at(-1)!, /^TSVPN_MESH_CLOSE,v=1,pair=\d+,reason=killed$/);
  assert.deepEqual(mesh.pairsOf(0), []);
  alice.agent!.sessionEnded();
});

Deno.test("ClientMesh never sends a mesh message to a stock client (no IV_TSVPN) nor introduces it", () => {
  const { mesh, members: [alice, stock] } = setUp([["alice", true], ["stock", false]]);
  for (let i = 0; i < 5; i++) {
    mesh.introducer.onRelayed(0, 1, 100);
    mesh.introducer.onRelayed(1, 0, 100);
  }
  assert.deepEqual(stock.sent, [], "a stock client is never sent anything");
  assert.deepEqual(kinds(alice), ["TSVPN_MESH_HELLO"]);
  assert.equal(mesh.introducer.pairCount, 0);
  // A stock client's stray TSVPN_MESH_ text is refused, not acted on.
  assert.equal(mesh.message(stock.rec, "TSVPN_MESH_STATE,v=1,pair=1,path=relayed"), true);
  assert.equal(mesh.status().counters.message_errors, 1);
  alice.agent!.sessionEnded();
});

Deno.test("ClientMesh keeps a client with server.clients.NAME.mesh: false out of the mesh", () => {
  const { mesh, members: [alice, carol] } = setUp([["alice", true], ["carol", true]]);
  mesh.introducer.onRelayed(0, 1, 100);
  assert.deepEqual(carol.sent, []);
  assert.equal(mesh.introducer.isReady(1), false);
  assert.equal(mesh.introducer.pairCount, 0);
  alice.agent!.sessionEnded();
  carol.agent!.sessionEnded();
});
