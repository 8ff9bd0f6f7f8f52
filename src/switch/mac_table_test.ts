import assert from "node:assert/strict";
import { parseMac } from "../addr/mac.ts";
import { buildEthernet } from "../packet/test_builders.ts";
import {
  LEARN_FULL,
  LEARN_MOVED,
  LEARN_NEW,
  LEARN_REFRESHED,
  LEARN_REJECTED,
  MacTable,
  NO_PORT,
} from "./mac_table.ts";

const A = parseMac("02:00:00:00:00:0a");
const B = parseMac("02:00:00:00:00:0b");
const C = parseMac("fe:ff:ff:ff:ff:fc");

Deno.test("MacTable.learn() reports new, refreshed and moved MACs and lookup() finds them", () => {
  const t = new MacTable();
  assert.equal(t.lookup(A), NO_PORT);
  assert.equal(t.learn(A, 0, 1000), LEARN_NEW);
  assert.equal(t.learn(B, 7, 1000), LEARN_NEW);
  assert.equal(t.learn(C, 9, 1000), LEARN_NEW);
  assert.equal(t.learn(A, 0, 2000), LEARN_REFRESHED);
  assert.equal(t.lookup(A), 0);
  assert.equal(t.lookup(B), 7);
  assert.equal(t.lookup(C), 9);
  assert.equal(t.learn(B, 8, 3000), LEARN_MOVED);
  assert.equal(t.lookup(B), 8);
  assert.equal(t.moves, 1);
  assert.equal(t.size, 3);
});

Deno.test("MacTable.learn() rejects group source addresses and invalid ports", () => {
  const t = new MacTable();
  assert.equal(t.learn(parseMac("01:00:5e:00:00:01"), 3, 0), LEARN_REJECTED);
  assert.equal(t.learn(parseMac("ff:ff:ff:ff:ff:ff"), 3, 0), LEARN_REJECTED);
  assert.equal(t.learn(A, -1, 0), LEARN_REJECTED);
  assert.equal(t.learn(A, 1.5, 0), LEARN_REJECTED);
  assert.equal(t.size, 0);
});

Deno.test("MacTable.learnAt() and lookupAt() read MACs straight from a frame", () => {
  const t = new MacTable();
  const frame = buildEthernet({ dst: "02:00:00:00:00:0b", src: "02:00:00:00:00:0a" });
  assert.equal(t.learnAt(frame, 6, 4, 0), LEARN_NEW);
  assert.equal(t.lookup(A), 4);
  assert.equal(t.lookupAt(frame, 0), NO_PORT);
  t.learn(B, 5, 0);
  assert.equal(t.lookupAt(frame, 0), 5);
});

Deno.test("MacTable.sweep() ages out entries older than maxAgeMs with the injected clock", () => {
  const t = new MacTable({ maxAgeMs: 300_000 });
  t.learn(A, 1, 0);
  t.learn(B, 2, 100_000);
  assert.equal(t.sweep(300_000), 0, "exactly max age is still fresh");
  assert.equal(t.sweep(300_001), 1);
  assert.equal(t.lookup(A), NO_PORT);
  assert.equal(t.lookup(B), 2);
  t.learn(B, 2, 350_000); // refreshed
  assert.equal(t.sweep(600_000), 0);
  assert.equal(t.sweep(650_001), 1);
  assert.equal(t.size, 0);
});

Deno.test("MacTable.removeByPort() forgets only that port's MACs", () => {
  const t = new MacTable();
  for (let i = 0; i < 300; i++) t.learn(0x020000000000 + i, i % 3, 0);
  assert.equal(t.removeByPort(1), 100);
  assert.equal(t.removeByPort(1), 0);
  assert.equal(t.removeByPort(42), 0);
  assert.equal(t.size, 200);
  for (let i = 0; i < 300; i++) assert.equal(t.lookup(0x020000000000 + i), i % 3 === 1 ? NO_PORT : i % 3);
  t.learn(A, 2, 0);
  t.learn(A, 1, 0); // moved: now counted under port 1
  assert.equal(t.removeByPort(1), 1);
  assert.equal(t.lookup(A), NO_PORT);
});

Deno.test("MacTable refuses new MACs when full and learns again after removal", () => {
  const t = new MacTable({ maxEntries: 2 });
  assert.equal(t.learn(A, 1, 0), LEARN_NEW);
  assert.equal(t.learn(B, 1, 0), LEARN_NEW);
  assert.equal(t.learn(C, 1, 0), LEARN_FULL);
  assert.equal(t.lookup(C), NO_PORT);
  assert.equal(t.learn(A, 2, 0), LEARN_MOVED, "known MACs still move when full");
  assert.equal(t.delete(B), true);
  assert.equal(t.delete(B), false);
  assert.equal(t.learn(C, 1, 0), LEARN_NEW);
  assert.throws(() => new MacTable({ maxEntries: 0 }), RangeError);
  assert.throws(() => new MacTable({ maxAgeMs: 0 }), RangeError);
});

Deno.test("MacTable onMoved is rate-limited and reports suppressed moves", () => {
  const events: [string, number, number, number][] = [];
  const t = new MacTable({
    movedEventIntervalMs: 1000,
    onMoved: (mac, from, to, suppressed) =>
      events.push([mac === A ? "A" : String(mac), from, to, suppressed]),
  });
  t.learn(A, 1, 0);
  t.learn(A, 2, 10); // reported
  t.learn(A, 1, 20); // suppressed
  t.learn(A, 2, 30); // suppressed
  t.learn(A, 1, 1010); // reported with 2 suppressed
  t.learn(A, 1, 1020); // refresh, not a move
  assert.deepEqual(events, [["A", 1, 2, 0], ["A", 2, 1, 2]]);
  assert.equal(t.moves, 4);
});

Deno.test("MacTable.entries() lists MACs with port and last-seen time", () => {
  const t = new MacTable();
  t.learn(B, 3, 50);
  t.learn(A, 0, 40);
  assert.deepEqual(t.entries(), [{ mac: A, port: 0, lastSeen: 40 }, { mac: B, port: 3, lastSeen: 50 }]);
  t.clear();
  assert.equal(t.size, 0);
  assert.equal(t.lookup(A), NO_PORT);
});

Deno.test("MacTable agrees with a plain Map over seeded random learn/lookup/remove/sweep", () => {
  let seed = 5;
  const r = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
  const t = new MacTable({ maxEntries: 4096, maxAgeMs: 5000 });
  const ref = new Map<number, { port: number; seen: number }>();
  // Few distinct MACs with colliding low bits so probe runs and backward shifts happen.
  const mac = () => ((r() % 64) * 0x10000 + (r() % 64)) * 0x100 * 2 + (r() % 2) * 0x1000000000;
  let now = 0;
  for (let op = 0; op < 20000; op++) {
    now += r() % 20;
    const k = r() % 20;
    if (k < 12) {
      const m = mac();
      const port = r() % 6;
      const prev = ref.get(m);
      const expected = prev === undefined ? LEARN_NEW : prev.port === port ? LEARN_REFRESHED : LEARN_MOVED;
      assert.equal(t.learn(m, port, now), expected, `op ${op}`);
      ref.set(m, { port, seen: now });
    } else if (k < 14) {
      const port = r() % 6;
      let n = 0;
      for (const [m, e] of ref) if (e.port === port) (ref.delete(m), n++);
      assert.equal(t.removeByPort(port), n, `op ${op} removeByPort`);
    } else if (k < 15) {
      let n = 0;
      for (const [m, e] of ref) if (e.seen < now - 5000) (ref.delete(m), n++);
      assert.equal(t.sweep(now), n, `op ${op} sweep`);
    } else if (k < 16) {
      const m = mac();
      assert.equal(t.delete(m), ref.delete(m));
    }
    const probe = mac();
    assert.equal(t.lookup(probe), ref.get(probe)?.port ?? NO_PORT, `op ${op} lookup`);
    assert.equal(t.size, ref.size);
  }
});

Deno.test("MacTable.learnAt() and lookupAt() allocate nothing after warm-up", () => {
  const t = new MacTable();
  const frames = new Uint8Array(1024 * 12);
  let seed = 3;
  for (let i = 0; i < frames.length; i++) {
    frames[i] = (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) >>> 24;
  }
  for (let i = 0; i < frames.length; i += 6) frames[i] &= 0xfe; // unicast sources
  const sink = new Float64Array(1);
  const round = (n: number): number => {
    const before = Deno.memoryUsage().heapUsed;
    for (let i = 0; i < n; i++) {
      const p = (i & 1023) * 12;
      sink[0] += t.learnAt(frames, p + 6, 1 + (i & 7), i) + t.lookupAt(frames, p);
    }
    return Deno.memoryUsage().heapUsed - before;
  };
  round(500_000);
  const deltas = [round(300_000), round(300_000), round(300_000), round(300_000), round(300_000)].sort((
    a,
    b,
  ) => a - b);
  assert.ok(
    deltas[2] < 64 * 1024,
    `heap grew by ${deltas.join(", ")} bytes per 300k frames (sink ${sink[0]})`,
  );
});
