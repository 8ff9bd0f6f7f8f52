import assert from "node:assert/strict";
import { type Endpoint, formatEndpoint, parseEndpoint } from "./endpoint.ts";
import { type PathChange, PathMachine, type PathTimings } from "./path.ts";

const PUBLIC = parseEndpoint("198.51.100.7:40001");
const LAN = parseEndpoint("192.168.1.20:1194");
const ROAMED = parseEndpoint("203.0.113.9:50000");

function rig(timings: Partial<PathTimings> = {}) {
  const probes: { to: string; id: number; at: number }[] = [];
  const changes: PathChange[] = [];
  let id = 100;
  let now = 0;
  const path = new PathMachine({
    timings,
    randomId: () => ++id,
    hooks: {
      sendProbe: (to, probeId) => probes.push({ to: formatEndpoint(to), id: probeId, at: now }),
      changed: (c) => changes.push(c),
    },
  });
  /** Moves the clock to `t`, ticking at every deadline on the way (as the owner's timer would). */
  const runTo = (t: number) => {
    for (let i = 0; i < 10_000 && path.nextDeadline() <= t; i++) {
      now = Math.max(now, path.nextDeadline());
      path.tick(now);
    }
    now = t;
    path.tick(now);
  };
  const lastProbeTo = (e: Endpoint) => probes.findLast((p) => p.to === formatEndpoint(e))!;
  return { path, probes, changes, runTo, lastProbeTo, at: () => now };
}

Deno.test("PathMachine.start() probes every candidate at once and resends each second", () => {
  const r = rig();
  r.path.start([PUBLIC, LAN, PUBLIC], 0);
  assert.deepEqual(r.probes.map((p) => [p.to, p.at]), [[formatEndpoint(PUBLIC), 0], [
    formatEndpoint(LAN),
    0,
  ]]);
  assert.equal(r.path.state, "punching");
  r.runTo(2500);
  assert.equal(r.probes.length, 6, "rounds at 0, 1000 and 2000 ms");
  assert.equal(new Set(r.probes.map((p) => p.id)).size, 6, "every probe has its own id");
});

Deno.test("PathMachine: the first answered probe picks the direct path and gives the RTT", () => {
  const r = rig();
  r.path.start([PUBLIC, LAN], 0);
  r.runTo(1030);
  assert.equal(r.path.onReply(r.lastProbeTo(LAN).id, LAN, PUBLIC, 1030), true);
  assert.deepEqual(r.path.snapshot(), {
    path: "direct",
    state: "direct",
    endpoint: LAN,
    rttMs: 30,
    observed: PUBLIC,
  });
  assert.equal(r.changes.length, 1);
  assert.equal(r.changes[0].path, "direct");
  // A later answer to the same round is stale: it neither moves the path nor counts.
  assert.equal(r.path.onReply(r.lastProbeTo(PUBLIC).id, PUBLIC, null, 1040), false);
  assert.deepEqual(r.path.endpoint, LAN);
});

Deno.test("PathMachine.onReply() ignores ids it never sent, id 0 and answers older than two punch timeouts", () => {
  const r = rig();
  r.path.start([PUBLIC], 0);
  const sent = r.probes[0].id;
  assert.equal(r.path.onReply(sent + 1000, PUBLIC, null, 10), false);
  assert.equal(r.path.onReply(0, PUBLIC, null, 10), false);
  assert.equal(r.path.state, "punching");
  const late = rig();
  late.path.start([PUBLIC], 0);
  late.runTo(10_001);
  assert.equal(late.path.onReply(late.probes[0].id, PUBLIC, null, 10_001), false);
  assert.equal(late.path.state, "relayed");
});

Deno.test("PathMachine: no answer within the punch timeout leaves the pair relayed, retried with backoff", () => {
  const r = rig({ punchTimeoutMs: 5000, retryMs: 30_000, retryMaxMs: 60_000 });
  r.path.start([PUBLIC], 0);
  r.runTo(4999);
  assert.equal(r.path.state, "punching");
  r.runTo(5000);
  assert.equal(r.path.state, "relayed");
  assert.match(r.changes[0].reason, /no answer within 5000 ms; retrying in 30 s/);
  const before = r.probes.length;
  r.runTo(34_999);
  assert.equal(r.probes.length, before, "quiet until the retry");
  r.runTo(35_000);
  assert.equal(r.path.state, "punching");
  r.runTo(40_000);
  assert.equal(r.path.state, "relayed");
  assert.equal(r.path.nextDeadline(), 100_000, "the second retry waits 60 s");
  r.runTo(100_000 + 5000);
  assert.equal(r.path.nextDeadline(), 165_000, "capped at retryMaxMs");
});

Deno.test("PathMachine keeps a direct path alive with a probe every keepalive interval", () => {
  const r = rig({ keepaliveMs: 25_000 });
  r.path.start([PUBLIC], 0);
  r.path.onReply(r.probes[0].id, PUBLIC, null, 20);
  let answeredAt = 20;
  for (let k = 1; k <= 4; k++) {
    const t = answeredAt + 25_000;
    r.runTo(t - 1);
    assert.notEqual(r.lastProbeTo(PUBLIC).at, t - 1);
    r.runTo(t);
    const probe = r.lastProbeTo(PUBLIC);
    assert.equal(probe.at, t, `keepalive ${k} at ${t}`);
    assert.equal(r.path.onReply(probe.id, PUBLIC, null, t + 15), true);
    r.runTo(t + 15);
    answeredAt = t + 15;
  }
  assert.equal(r.path.state, "direct");
  assert.equal(r.path.snapshot().rttMs, 15);
  assert.equal(r.changes.length, 1, "keepalives are not path changes");
});

Deno.test("PathMachine: a direct path that stops answering is lost, re-punched, then relayed", () => {
  const r = rig();
  r.path.start([PUBLIC, LAN], 0);
  r.path.onReply(r.probes[0].id, PUBLIC, null, 5);
  r.runTo(25_005);
  assert.equal(r.path.state, "direct", "data keeps flowing while the keepalive waits for its answer");
  r.runTo(30_005);
  assert.equal(r.path.state, "punching");
  assert.equal(r.changes[1].reason, "direct path stopped answering");
  assert.equal(r.path.snapshot().path, "relayed");
  assert.ok(r.probes.some((p) => p.at === 30_005 && p.to === formatEndpoint(LAN)), "every candidate again");
  r.runTo(35_005);
  assert.equal(r.path.state, "relayed");
});

Deno.test("PathMachine re-probes when a valid packet arrives from a new endpoint, and moves on its answer", () => {
  const r = rig();
  r.path.start([PUBLIC], 0);
  r.path.onReply(r.probes[0].id, PUBLIC, null, 5);
  r.path.onAuthenticated(PUBLIC, 100);
  assert.equal(r.probes.length, 1, "packets from the selected endpoint change nothing");
  r.path.onAuthenticated(ROAMED, 200);
  assert.deepEqual(r.probes.slice(1).map((p) => p.to), [formatEndpoint(ROAMED), formatEndpoint(PUBLIC)]);
  assert.deepEqual(r.path.endpoint, PUBLIC, "still sending to the old endpoint until an answer");
  r.path.onReply(r.lastProbeTo(ROAMED).id, ROAMED, null, 230);
  assert.deepEqual(r.path.endpoint, ROAMED);
  assert.equal(r.changes.at(-1)!.reason, "endpoint changed");
  assert.deepEqual(r.changes.at(-1)!.previous, PUBLIC);
});

Deno.test("PathMachine.reprobe() probes the server's new candidates, and the current endpoint while direct", () => {
  const r = rig();
  r.path.start([PUBLIC], 0);
  r.runTo(6000);
  assert.equal(r.path.state, "relayed");
  r.path.reprobe([ROAMED], 6000);
  assert.equal(r.path.state, "punching");
  assert.deepEqual(r.probes.filter((p) => p.at === 6000).map((p) => p.to), [formatEndpoint(ROAMED)]);
  r.path.onReply(r.lastProbeTo(ROAMED).id, ROAMED, null, 6010);
  r.runTo(7000);
  r.path.reprobe([LAN], 7000);
  assert.deepEqual(r.probes.filter((p) => p.at === 7000).map((p) => p.to), [
    formatEndpoint(LAN),
    formatEndpoint(ROAMED),
  ]);
  assert.deepEqual(r.path.endpoint, ROAMED, "data stays on the current endpoint while re-probing");
});

Deno.test("PathMachine: a packet from the peer while relayed starts a round at once", () => {
  const r = rig();
  r.path.start([PUBLIC], 0);
  r.runTo(7000);
  r.path.onAuthenticated(ROAMED, 7000);
  assert.equal(r.path.state, "punching");
  assert.deepEqual(
    new Set(r.probes.filter((p) => p.at === 7000).map((p) => p.to)),
    new Set([
      formatEndpoint(PUBLIC),
      formatEndpoint(ROAMED),
    ]),
  );
});

Deno.test("PathMachine.close() stops every probe and timer", () => {
  const r = rig();
  r.path.start([PUBLIC], 0);
  const id = r.probes[0].id;
  r.path.close();
  assert.equal(r.path.nextDeadline(), Infinity);
  r.runTo(100_000);
  assert.equal(r.probes.length, 1);
  assert.equal(r.path.onReply(id, PUBLIC, null, 10), false);
  r.path.onAuthenticated(PUBLIC, 10);
  assert.equal(r.path.state, "closed");
});

Deno.test("PathMachine never probes unusable candidates", () => {
  const r = rig();
  r.path.start([parseEndpoint("127.0.0.1:5"), parseEndpoint("0.0.0.0:5")], 0);
  assert.equal(r.probes.length, 0);
  assert.equal(r.path.state, "relayed");
  r.path.onAuthenticated(parseEndpoint("224.0.0.1:5"), 1);
  assert.equal(r.probes.length, 0);
});
