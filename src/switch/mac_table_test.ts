import assert from "node:assert/strict";
import { parseMac } from "../addr/mac.ts";
import { buildEthernet } from "../testing/packet/builders.ts";
import { macHash, macHashKey } from "./mac_hash.ts";
import {
  LEARN_FULL,
  LEARN_MOVED,
  LEARN_NEW,
  LEARN_OWNED,
  LEARN_PORT_FULL,
  LEARN_REFRESHED,
  LEARN_REJECTED,
  MacTable,
  NO_PORT,
} from "./mac_table.ts";

const A = parseMac("02:00:00:00:00:0a");
const B = parseMac("02:00:00:00:00:0b");
const C = parseMac("fe:ff:ff:ff:ff:fc");

Deno.test("MacTable.learn() reports new, refreshed and moved MACs and lookup() finds them", () => {
  const t = new MacTable({ maxAgeMs: 1000 });
  assert.equal(t.lookup(A), NO_PORT);
  assert.equal(t.learn(A, 0, 1000), LEARN_NEW);
  assert.equal(t.learn(B, 7, 1000), LEARN_NEW);
  assert.equal(t.learn(C, 9, 1000), LEARN_NEW);
  assert.equal(t.learn(A, 0, 2000), LEARN_REFRESHED);
  assert.equal(t.lookup(A), 0);
  assert.equal(t.lookup(B), 7);
  assert.equal(t.lookup(C), 9);
  assert.equal(t.learn(B, 8, 3000), LEARN_MOVED, "B was last seen 2 s ago, older than maxAgeMs");
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
  assert.equal(t.learn(A, 1, 400_000), LEARN_MOVED, "stale: now counted under port 1");
  assert.equal(t.removeByPort(1), 1);
  assert.equal(t.lookup(A), NO_PORT);
});

Deno.test("MacTable refuses new MACs when full and learns again after removal", () => {
  const t = new MacTable({ maxEntries: 2 });
  assert.equal(t.learn(A, 1, 0), LEARN_NEW);
  assert.equal(t.learn(B, 1, 0), LEARN_NEW);
  assert.equal(t.learn(C, 1, 0), LEARN_FULL);
  assert.equal(t.lookup(C), NO_PORT);
  assert.equal(t.learn(A, 2, 300_001), LEARN_MOVED, "known stale MACs still move when full");
  assert.equal(t.delete(B), true);
  assert.equal(t.delete(B), false);
  assert.equal(t.learn(C, 1, 0), LEARN_NEW);
  assert.throws(() => new MacTable({ maxEntries: 0 }), RangeError);
  assert.throws(() => new MacTable({ maxAgeMs: 0 }), RangeError);
});

Deno.test("MacTable onMoved is rate-limited and reports suppressed moves", () => {
  const events: [string, number, number, number][] = [];
  const t = new MacTable({
    maxAgeMs: 5,
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

/** Runs seeded random operations on `t` and on a plain Map model of the same rules. */
function checkAgainstMap(t: MacTable, seed: number): void {
  const r = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
  const ref = new Map<number, { port: number; seen: number }>();
  const count = (port: number) => [...ref.values()].filter((e) => e.port === port).length;
  const full = (port: number) => port !== 0 && count(port) >= t.maxPerPort;
  // Few distinct MACs so entries are relearned, moved, refused and removed often.
  const mac = () => ((r() % 64) * 0x10000 + (r() % 64)) * 0x100 * 2 + (r() % 2) * 0x1000000000;
  let now = 0;
  for (let op = 0; op < 20000; op++) {
    now += r() % 20;
    const k = r() % 20;
    if (k < 12) {
      const m = mac();
      const port = r() % 6;
      const prev = ref.get(m);
      let expected;
      if (prev === undefined) {
        expected = full(port) ? LEARN_PORT_FULL : ref.size >= t.maxEntries ? LEARN_FULL : LEARN_NEW;
      } else if (prev.port === port) expected = LEARN_REFRESHED;
      else if (now - prev.seen <= t.maxAgeMs) expected = LEARN_OWNED;
      else expected = full(port) ? LEARN_PORT_FULL : LEARN_MOVED;
      assert.equal(t.learn(m, port, now), expected, `op ${op}`);
      if (expected >= 0) ref.set(m, { port, seen: now });
    } else if (k < 14) {
      const port = r() % 6;
      let n = 0;
      for (const [m, e] of ref) if (e.port === port) (ref.delete(m), n++);
      assert.equal(t.removeByPort(port), n, `op ${op} removeByPort`);
    } else if (k < 15) {
      let n = 0;
      for (const [m, e] of ref) if (e.seen < now - t.maxAgeMs) (ref.delete(m), n++);
      assert.equal(t.sweep(now), n, `op ${op} sweep`);
    } else if (k < 16) {
      const m = mac();
      assert.equal(t.delete(m), ref.delete(m));
    }
    const probe = mac();
    assert.equal(t.lookup(probe), ref.get(probe)?.port ?? NO_PORT, `op ${op} lookup`);
    assert.equal(t.size, ref.size);
  }
}

Deno.test("MacTable agrees with a plain Map over seeded random learn/lookup/remove/sweep", async (t) => {
  await t.step("a tiny table (probe runs wrap around, constant backward shifts)", () => {
    checkAgainstMap(new MacTable({ maxEntries: 6, maxPerPort: 3, maxAgeMs: 500 }), 5);
  });
  await t.step("a larger table with the per-port cap reached", () => {
    checkAgainstMap(new MacTable({ maxEntries: 300, maxPerPort: 40, maxAgeMs: 5000 }), 7);
  });
});

Deno.test("MacTable caps the MACs of a client port at maxPerPort, but not the tap device's", () => {
  const t = new MacTable({ maxPerPort: 256 });
  for (let i = 0; i < 256; i++) assert.equal(t.learn(0x020000000000 + i, 3, 0), LEARN_NEW);
  assert.equal(t.learn(0x020000001000, 3, 0), LEARN_PORT_FULL);
  assert.equal(t.lookup(0x020000001000), NO_PORT);
  assert.equal(t.learn(0x020000000005, 3, 1), LEARN_REFRESHED, "known MACs are still refreshed");
  assert.equal(t.countOf(3), 256);
  for (let i = 0; i < 300; i++) assert.equal(t.learn(0x040000000000 + i, 0, 0), LEARN_NEW, "tap device");
  assert.equal(t.learn(0x020000002000, 4, 0), LEARN_NEW, "other clients have their own budget");
  t.delete(0x020000000000);
  assert.equal(t.learn(0x020000001000, 3, 0), LEARN_NEW, "room again after a removal");
  const small = new MacTable({ maxPerPort: 2 });
  small.learn(A, 1, 0);
  small.learn(B, 1, 0);
  assert.equal(small.learn(C, 1, 0), LEARN_PORT_FULL);
  small.learn(C, 2, 0);
  assert.equal(small.learn(C, 1, 400_000), LEARN_PORT_FULL, "a stale MAC does not move to a full port");
  assert.equal(small.lookup(C), 2);
  assert.throws(() => new MacTable({ maxPerPort: 0 }), RangeError);
});

Deno.test("MacTable does not let another port take over a MAC whose owner was seen within maxAgeMs", () => {
  const t = new MacTable({ maxAgeMs: 300_000 });
  const gateway = parseMac("02:00:00:00:00:01");
  assert.equal(t.learn(gateway, 0, 0), LEARN_NEW, "learned from the tap device (the LAN)");
  assert.equal(t.learn(gateway, 5, 1000), LEARN_OWNED, "a client claiming the gateway's MAC");
  assert.equal(t.lookup(gateway), 0);
  assert.equal(t.learn(A, 5, 1000), LEARN_NEW);
  assert.equal(t.learn(A, 6, 2000), LEARN_OWNED, "another client claiming A");
  assert.equal(t.learn(A, 0, 2000), LEARN_OWNED, "the tap device claiming a client's MAC");
  assert.equal(t.lookup(A), 5);
  assert.equal(t.learn(A, 6, 301_000), LEARN_OWNED, "refused claims did not refresh the owner's entry");
  assert.equal(t.learn(A, 6, 301_001), LEARN_MOVED, "the owner went silent for maxAgeMs");
  assert.equal(t.lookup(A), 6);
  assert.equal(t.moves, 1);
  // A client that reconnects: its old session's port is released with its MACs.
  t.learn(B, 7, 400_000);
  t.removeByPort(7);
  assert.equal(t.learn(B, 8, 400_001), LEARN_NEW);
});

Deno.test("MacTable buckets depend on its hash key: MACs chosen to collide under one key spread under another", () => {
  const known = macHashKey(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
  const secret = macHashKey(Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9));
  const slots = 131072; // the default table: 65536 entries, twice as many slots
  // What a flooding client would do if it knew the key: MACs sharing one home bucket.
  const colliding: number[] = [];
  for (let lo = 0; colliding.length < 200 && lo < 1 << 30; lo++) {
    if ((macHash(known, 0x0200, lo) & (slots - 1)) === 77) colliding.push(0x020000000000 + lo);
  }
  assert.equal(colliding.length, 200);
  const exposed = new MacTable({ hashKey: known });
  const keyed = new MacTable({ hashKey: secret });
  for (const m of colliding) {
    exposed.learn(m, 0, 0);
    keyed.learn(m, 0, 0);
  }
  assert.equal(exposed.longestProbe(), 199, "one probe run of 200 under the known key");
  assert.ok(keyed.longestProbe() <= 3, `longest probe ${keyed.longestProbe()} under a secret key`);
  for (const m of colliding) assert.equal(keyed.lookup(m), 0);
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
