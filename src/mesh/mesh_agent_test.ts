import assert from "node:assert/strict";
import { parseNumericIp } from "../addr/ip.ts";
import { parsePrefix } from "../addr/prefix.ts";
import { Logger } from "../log/log.ts";
import { parseEndpoint } from "./endpoint.ts";
import { MeshAgent } from "./mesh_agent.ts";
import {
  encodeMeshMessage,
  type MeshIntro,
  type MeshKey,
  type MeshMessage,
  parseMeshMessage,
} from "./messages.ts";
import { generateMeshKeyPair } from "./pair_keys.ts";
import { StepClock } from "../testing/mesh/mesh.ts";
import { seededBytes, seededRandom } from "../testing/mesh/random.ts";

const HELLO = encodeMeshMessage({ kind: "hello", keepaliveS: 25, punchTimeoutS: 5, retryS: 30 });

function agentRig() {
  const clock = new StepClock();
  const out: MeshMessage[] = [];
  const sent: number[] = [];
  const log: string[] = [];
  const agent = new MeshAgent({
    name: "alice",
    ciphers: ["AES-256-GCM", "CHACHA20-POLY1305"],
    clock,
    random: seededBytes(5),
    sendControl: (text) => out.push(parseMeshMessage(text)),
    socket: { send: (_b, _o, len) => sent.push(len) > 0 },
    localEndpoints: () => [parseEndpoint("192.168.1.10:1194"), parseEndpoint("127.0.0.1:1194")],
    log: new Logger({ level: "debug", sink: (l) => log.push(l) }),
    backend: "noble",
  });
  const peerKey = generateMeshKeyPair(3, seededBytes(9));
  const intro = (over: Partial<MeshIntro> = {}): string =>
    encodeMeshMessage({
      kind: "intro",
      pairId: 7,
      peerName: "bob",
      cipher: "AES-256-GCM",
      epoch: 1,
      peerEpoch: 3,
      peerPublicKey: peerKey.publicKey,
      publicEndpoint: parseEndpoint("203.0.113.9:40000"),
      localEndpoints: [],
      addresses: [parseNumericIp("10.8.0.3")],
      iroutes: [parsePrefix("172.16.3.0/24")],
      ...over,
    });
  return { clock, agent, out, sent, log, intro };
}

Deno.test("MeshAgent answers HELLO with KEY: epoch 1, its public key, usable local endpoints only", () => {
  const r = agentRig();
  assert.equal(r.agent.onControlMessage(HELLO), true);
  assert.equal(r.out.length, 1);
  const key = r.out[0] as MeshKey;
  assert.equal(key.kind, "key");
  assert.equal(key.epoch, 1);
  assert.equal(key.publicKey.length, 32);
  assert.deepEqual(key.localEndpoints, [parseEndpoint("192.168.1.10:1194")], "loopback is never reported");
  r.agent.onControlMessage(HELLO);
  assert.equal(r.out.length, 1, "a repeated HELLO makes no new key");
  r.agent.renegotiated();
  assert.equal((r.out[1] as MeshKey).epoch, 2);
  assert.notDeepEqual((r.out[1] as MeshKey).publicKey, key.publicKey, "a new key with every renegotiation");
});

Deno.test("MeshAgent.onControlMessage() leaves other control messages to the caller", () => {
  const r = agentRig();
  assert.equal(r.agent.onControlMessage("PUSH_REPLY,route 10.0.0.0 255.0.0.0"), false);
  assert.equal(r.agent.onControlMessage("INFO,TSVPN_MESH_HELLO"), false);
  assert.equal(r.out.length, 0);
});

Deno.test("MeshAgent takes an INTRO: a pair, its routes, probes to the candidates, a relayed STATE", () => {
  const r = agentRig();
  r.agent.onControlMessage(HELLO);
  r.agent.onControlMessage(r.intro());
  assert.deepEqual(r.agent.peers(), [{
    pairId: 7,
    name: "bob",
    path: "relayed",
    endpoint: null,
    rttMs: null,
  }]);
  assert.equal(r.out.at(-1)!.kind, "state");
  assert.equal(r.sent.length, 1, "a probe to the one candidate");
  const bob = r.agent.table.byName("bob")!;
  assert.equal(r.agent.table.routes.route4(0xac100309), r.agent.table.slotOf(bob), "iroute 172.16.3.0/24");
  r.clock.runTo(5000, () => {});
  assert.equal(r.sent.length, 5, "probes at 0, 1, 2, 3 and 4 s, then the punch timeout");
});

Deno.test("MeshAgent refuses hostile or inconsistent server messages and changes nothing", () => {
  const r = agentRig();
  r.agent.onControlMessage(r.intro());
  assert.equal(r.agent.messageErrors, 1, "INTRO before HELLO");
  r.agent.onControlMessage(HELLO);
  const cases = [
    r.intro({ cipher: "AES-128-GCM" }),
    r.intro({ peerName: "alice" }),
    r.intro({ peerPublicKey: new Uint8Array(32) }),
    r.intro({ peerPublicKey: Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0)) }),
    "TSVPN_MESH_INTRO,v=1,pair=7",
    encodeMeshMessage({ kind: "state", pairId: 7, path: "relayed", endpoint: null, rttMs: null }),
    encodeMeshMessage({ kind: "key", epoch: 1, publicKey: new Uint8Array(32).fill(9), localEndpoints: [] }),
  ];
  for (const text of cases) assert.equal(r.agent.onControlMessage(text), true);
  assert.equal(r.agent.messageErrors, 1 + cases.length);
  assert.equal(r.agent.peers().length, 0);
  assert.equal(r.sent.length, 0, "no probe went anywhere");
  r.agent.onControlMessage(r.intro());
  r.agent.onControlMessage(r.intro({ peerName: "carol" }));
  assert.equal(r.agent.messageErrors, 2 + cases.length, "a pair cannot be renamed");
  assert.equal(r.agent.peers()[0].name, "bob");
  assert.ok(r.log.some((l) => /low-order/.test(l)));
});

Deno.test("MeshAgent ignores an INTRO made with a retired key epoch and a CLOSE for an unknown pair", () => {
  const r = agentRig();
  r.agent.onControlMessage(HELLO);
  r.agent.renegotiated();
  r.agent.renegotiated(); // epochs 1, 2, 3: only 2 and 3 are kept
  r.agent.onControlMessage(r.intro({ epoch: 1 }));
  assert.equal(r.agent.peers().length, 0);
  assert.equal(r.agent.messageErrors, 0, "not an error: a newer INTRO is on its way");
  r.agent.onControlMessage(r.intro({ epoch: 2 }));
  assert.equal(r.agent.peers().length, 1);
  r.agent.onControlMessage(encodeMeshMessage({ kind: "close", pairId: 99, reason: "killed" }));
  assert.equal(r.agent.peers().length, 1);
});

Deno.test("MeshAgent.sessionEnded() closes every pair, stops its timer and ignores later messages", () => {
  const r = agentRig();
  r.agent.onControlMessage(HELLO);
  r.agent.onControlMessage(r.intro());
  r.agent.sessionEnded();
  assert.equal(r.agent.peers().length, 0);
  assert.equal(r.agent.table.routes.size, 0);
  const sent = r.sent.length;
  r.clock.runTo(120_000, () => {});
  assert.equal(r.sent.length, sent, "no probe after the session ended");
  assert.equal(r.agent.onControlMessage(r.intro()), true);
  assert.equal(r.agent.peers().length, 0);
  assert.ok(r.log.some((l) => l.includes("pair with bob closed (our session ended)")));
});

Deno.test("MeshAgent reports an unchanged path at most once per report interval", () => {
  const r = agentRig();
  r.agent.onControlMessage(HELLO);
  r.agent.onControlMessage(r.intro());
  r.clock.runTo(3_600_000, () => {});
  const states = r.out.filter((m) => m.kind === "state");
  // relayed at the introduction; failed punches and retries for an hour change nothing worth reporting
  assert.equal(states.length, 1);
  assert.equal(states[0].kind === "state" && states[0].path, "relayed");
});

Deno.test("MeshAgent survives 3000 mutated server messages without throwing", () => {
  const r = agentRig();
  r.agent.onControlMessage(HELLO);
  const next = seededRandom(99);
  const seeds = [
    r.intro(),
    r.intro({ pairId: 8, peerName: "carol", epoch: 1, addresses: [parseNumericIp("10.8.0.3")] }),
    encodeMeshMessage({ kind: "close", pairId: 7, reason: "revoked" }),
    HELLO,
  ];
  const alphabet = "0123456789,= :./[]abcfz";
  for (let i = 0; i < 3000; i++) {
    let text = seeds[next(seeds.length)];
    for (let e = 0; e < 1 + next(3); e++) {
      const at = next(text.length);
      text = text.slice(0, at) + alphabet[next(alphabet.length)] + text.slice(at + (next(2) ? 1 : 0));
    }
    assert.equal(r.agent.onControlMessage(text), text.startsWith("TSVPN_MESH_"));
    if (i % 100 === 0) r.clock.runTo(r.clock.t + 1000, () => {});
  }
  assert.ok(r.agent.messageErrors > 1000);
  assert.ok(r.agent.table.size <= 256);
});
