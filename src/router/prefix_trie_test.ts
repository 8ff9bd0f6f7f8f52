import assert from "node:assert/strict";
import { parseIpv4, parseIpv6 } from "../addr/ip.ts";
import { parsePrefix } from "../addr/prefix.ts";
import { NO_MATCH, PrefixTrie } from "./prefix_trie.ts";
import { SlowPrefixTable } from "../testing/router/slow_prefix_table.ts";

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0);
  };
}

function ins(t: PrefixTrie, text: string, value: number): number {
  const p = parsePrefix(text, { strict: false });
  return p.family === 4 ? t.insert(p.addr, p.bits, value) : t.insert(p.addr, p.bits, value);
}

function rem(t: PrefixTrie, text: string): number {
  const p = parsePrefix(text, { strict: false });
  return p.family === 4 ? t.remove(p.addr, p.bits) : t.remove(p.addr, p.bits);
}

const v4 = (t: PrefixTrie, ip: string) => t.lookup4(parseIpv4(ip));
const v6 = (t: PrefixTrie, ip: string) => t.lookup6(parseIpv6(ip));

// -- Edge cases (in the spirit of the kernel's allowedips selftest) --

Deno.test("PrefixTrie.lookup4() returns the longest matching prefix among overlapping ones", () => {
  const t = new PrefixTrie(4);
  ins(t, "192.168.4.0/24", 1);
  ins(t, "192.168.4.4/32", 2);
  ins(t, "192.168.0.0/16", 3);
  ins(t, "192.95.5.64/27", 4);
  ins(t, "192.95.5.65/32", 5);
  ins(t, "0.0.0.0/0", 6);
  assert.equal(v4(t, "192.168.4.20"), 1);
  assert.equal(v4(t, "192.168.4.4"), 2);
  assert.equal(v4(t, "192.168.200.182"), 3);
  assert.equal(v4(t, "192.95.5.68"), 4);
  assert.equal(v4(t, "192.95.5.65"), 5);
  assert.equal(v4(t, "8.8.8.8"), 6);
  assert.equal(v4(t, "255.255.255.255"), 6);
  assert.equal(t.size, 6);
});

Deno.test("PrefixTrie handles /0 and /32 alone and together", () => {
  const t = new PrefixTrie(4);
  assert.equal(v4(t, "1.2.3.4"), NO_MATCH);
  ins(t, "0.0.0.0/0", 9);
  assert.equal(t.lookup4(parseIpv4("200.1.1.1") | 0), 9, "int32 form of an address above 2^31");
  assert.equal(t.lookup4At(new Uint8Array([0, 200, 1, 1, 1]), 1), 9);
  assert.equal(v4(t, "0.0.0.0"), 9);
  assert.equal(v4(t, "255.255.255.255"), 9);
  ins(t, "255.255.255.255/32", 7);
  ins(t, "0.0.0.0/32", 8);
  assert.equal(v4(t, "255.255.255.255"), 7);
  assert.equal(v4(t, "0.0.0.0"), 8);
  assert.equal(v4(t, "0.0.0.1"), 9);
  assert.equal(rem(t, "0.0.0.0/0"), 9);
  assert.equal(v4(t, "0.0.0.1"), NO_MATCH);
  assert.equal(v4(t, "255.255.255.255"), 7);
  assert.equal(t.get(0, 32), 8);
  assert.equal(t.get(0, 0), NO_MATCH);
});

Deno.test("PrefixTrie.insert() ignores host bits and replaces an existing value", () => {
  const t = new PrefixTrie(4);
  assert.equal(ins(t, "10.8.0.77/24", 1), NO_MATCH);
  assert.equal(ins(t, "10.8.0.0/24", 2), 1);
  assert.equal(t.size, 1);
  assert.equal(v4(t, "10.8.0.1"), 2);
  assert.deepEqual(t.entriesOf(1), []);
  assert.equal(t.entriesOf(2).length, 1);
});

Deno.test("PrefixTrie.remove() splices out branch nodes and keeps other routes", () => {
  const t = new PrefixTrie(4);
  ins(t, "10.0.0.0/24", 1);
  ins(t, "10.0.1.0/24", 2); // creates a branch at /23
  ins(t, "10.0.2.0/24", 3);
  const nodes = t.nodeCount;
  assert.equal(rem(t, "10.0.1.0/24"), 2);
  assert.equal(rem(t, "10.0.1.0/24"), NO_MATCH);
  assert.equal(v4(t, "10.0.1.1"), NO_MATCH);
  assert.equal(v4(t, "10.0.0.1"), 1);
  assert.equal(v4(t, "10.0.2.1"), 3);
  assert.ok(t.nodeCount < nodes);
  assert.equal(rem(t, "10.0.0.0/24"), 1);
  assert.equal(rem(t, "10.0.2.0/24"), 3);
  assert.equal(t.nodeCount, 0);
  assert.equal(t.size, 0);
  assert.equal(rem(t, "10.0.2.0/23"), NO_MATCH);
});

Deno.test("PrefixTrie.remove() of a prefix with children keeps the children reachable", () => {
  const t = new PrefixTrie(4);
  ins(t, "10.0.0.0/8", 1);
  ins(t, "10.1.0.0/16", 2);
  ins(t, "10.2.0.0/16", 3);
  assert.equal(rem(t, "10.0.0.0/8"), 1);
  assert.equal(v4(t, "10.1.2.3"), 2);
  assert.equal(v4(t, "10.2.2.3"), 3);
  assert.equal(v4(t, "10.3.2.3"), NO_MATCH);
  ins(t, "10.0.0.0/8", 4);
  assert.equal(v4(t, "10.3.2.3"), 4);
});

Deno.test("PrefixTrie.removeByValue() removes only that value's prefixes", () => {
  const t = new PrefixTrie(4);
  ins(t, "10.8.0.6/32", 5);
  ins(t, "192.168.10.0/24", 5);
  ins(t, "192.168.0.0/16", 6);
  ins(t, "10.8.0.10/32", 6);
  assert.equal(t.removeByValue(5), 2);
  assert.equal(t.removeByValue(5), 0);
  assert.equal(v4(t, "10.8.0.6"), NO_MATCH);
  assert.equal(v4(t, "192.168.10.1"), 6);
  assert.equal(v4(t, "10.8.0.10"), 6);
  assert.equal(t.size, 2);
});

Deno.test("PrefixTrie.entries() lists prefixes in address order", () => {
  const t = new PrefixTrie(4);
  ins(t, "10.8.0.0/24", 1);
  ins(t, "10.0.0.0/8", 2);
  ins(t, "10.8.0.6/32", 3);
  ins(t, "1.0.0.0/8", 4);
  const got = t.entries().map((e) => `${e.words[0].toString(16)}/${e.bits}=${e.value}`);
  assert.deepEqual(got, ["1000000/8=4", "a000000/8=2", "a080000/24=1", "a080006/32=3"]);
});

Deno.test("PrefixTrie rejects bad arguments with RangeError", () => {
  const t4 = new PrefixTrie(4);
  const t6 = new PrefixTrie(6);
  assert.throws(() => t4.insert(0, 33, 1), { message: "IPv4 prefix length must be 0..32, got 33" });
  assert.throws(() => t4.insert(0, 8, -1), RangeError);
  assert.throws(() => t4.insert(0, 8, 1.5), RangeError);
  assert.throws(() => t6.insert(0, 8, 1), RangeError);
  assert.throws(() => t6.insert([0, 0, 0, 0], 129, 1), RangeError);
  assert.throws(() => t4.insert([0, 0], 8, 1), RangeError);
  assert.throws(() => new PrefixTrie(5 as 4), RangeError);
});

Deno.test("PrefixTrie.lookup6() matches /0, /64, /128 and word-boundary prefixes", () => {
  const t = new PrefixTrie(6);
  ins(t, "::/0", 1);
  ins(t, "fd00:8::/64", 2);
  ins(t, "fd00:8::1000/128", 3);
  ins(t, "fd00:8::/33", 4);
  ins(t, "fd00:8:0:0:8000::/65", 5);
  ins(t, "2001:db8::/32", 6);
  assert.equal(v6(t, "fd00:8::1000"), 3);
  assert.equal(v6(t, "fd00:8::1001"), 2);
  assert.equal(v6(t, "fd00:8::8000:0:0:1"), 5);
  assert.equal(v6(t, "fd00:8:1::1"), 4);
  assert.equal(v6(t, "fd00:8000::1"), 1);
  assert.equal(v6(t, "2001:db8:ffff::1"), 6);
  assert.equal(v6(t, "::"), 1);
  const bytes = new Uint8Array(20);
  for (let i = 0; i < 16; i++) bytes[4 + i] = i === 0 ? 0xfd : i === 3 ? 8 : i === 14 ? 0x10 : 0;
  assert.equal(t.lookup6At(bytes, 4), 3);
  const words = new Uint32Array(6);
  words.set(parseIpv6("2001:db8::5"), 2);
  assert.equal(t.lookup6(words, 2), 6);
  assert.equal(rem(t, "::/0"), 1);
  assert.equal(v6(t, "::"), NO_MATCH);
  assert.equal(rem(t, "fd00:8::1000/128"), 3);
  assert.equal(v6(t, "fd00:8::1000"), 2);
});

// -- Differential tests against the linear reference --

function randomPrefix4(r: () => number): [number, number] {
  // Bias towards shared leading bits so prefixes overlap and nest.
  const bits = r() % 33;
  const addr = (0x0a000000 | (r() & (r() % 2 ? 0x00ffffff : 0x000f0f0f))) >>> 0;
  return [addr, bits];
}

Deno.test("PrefixTrie (IPv4) agrees with SlowPrefixTable over thousands of seeded random operations", () => {
  for (const seed of [1, 2, 3]) {
    const r = rng(seed);
    const trie = new PrefixTrie(4);
    const slow = new SlowPrefixTable();
    const inserted: [number, number][] = [];
    for (let op = 0; op < 3000; op++) {
      const kind = r() % 10;
      if (kind < 6 || inserted.length === 0) {
        const [addr, bits] = randomPrefix4(r);
        const value = r() % 40;
        assert.equal(
          trie.insert(addr, bits, value),
          slow.insert([addr], bits, value),
          `seed ${seed} op ${op} insert`,
        );
        inserted.push([addr, bits]);
      } else if (kind < 9) {
        const [addr, bits] = inserted[r() % inserted.length];
        assert.equal(trie.remove(addr, bits), slow.remove([addr], bits), `seed ${seed} op ${op} remove`);
      } else {
        const value = r() % 40;
        assert.equal(
          trie.removeByValue(value),
          slow.removeByValue(value),
          `seed ${seed} op ${op} removeByValue`,
        );
      }
      for (let q = 0; q < 8; q++) {
        const probe = q % 2 === 0 ? (0x0a000000 | (r() & 0x00ffffff)) >>> 0 : r();
        assert.equal(trie.lookup4(probe), slow.lookup([probe]), `seed ${seed} op ${op} lookup ${probe}`);
      }
      assert.equal(trie.size, slow.size);
    }
    const dump = trie.entries().map((e) => `${e.words.join(".")}/${e.bits}=${e.value}`).sort();
    assert.deepEqual(dump, slow.dump());
  }
});

Deno.test("PrefixTrie (IPv4) agrees with SlowPrefixTable for prefixes around the /16 jump-table boundary", () => {
  const r = rng(77);
  const trie = new PrefixTrie(4);
  const slow = new SlowPrefixTable();
  const inserted: [number, number][] = [];
  for (let op = 0; op < 2500; op++) {
    if (r() % 3 !== 0 || inserted.length === 0) {
      const bits = 10 + (r() % 13);
      const addr = (0xac100000 | (r() & 0x000fffff)) >>> 0;
      const value = r() % 25;
      assert.equal(trie.insert(addr, bits, value), slow.insert([addr], bits, value));
      inserted.push([addr, bits]);
    } else if (r() % 4 !== 0) {
      const [addr, bits] = inserted[r() % inserted.length];
      assert.equal(trie.remove(addr, bits), slow.remove([addr], bits));
    } else {
      const value = r() % 25;
      assert.equal(trie.removeByValue(value), slow.removeByValue(value));
    }
    for (let q = 0; q < 8; q++) {
      const probe = (0xac100000 | (r() & 0x000fffff)) >>> 0;
      assert.equal(trie.lookup4(probe), slow.lookup([probe]), `op ${op}`);
    }
  }
  trie.clear();
  assert.equal(trie.size, 0);
  assert.equal(trie.lookup4(0xac100001), NO_MATCH);
});

Deno.test("PrefixTrie (IPv6) agrees with SlowPrefixTable over thousands of seeded random operations", () => {
  const r = rng(42);
  const trie = new PrefixTrie(6);
  const slow = new SlowPrefixTable();
  const inserted: [number[], number][] = [];
  const randomAddr =
    (): number[] => [0xfd000000 | (r() & 0xff), r() & 0x000f000f, r() % 3 === 0 ? 0 : r(), r() & 0xffff];
  for (let op = 0; op < 3000; op++) {
    const kind = r() % 10;
    if (kind < 6 || inserted.length === 0) {
      const addr = randomAddr();
      const bits = r() % 129;
      const value = r() % 30;
      assert.equal(trie.insert(addr, bits, value), slow.insert(addr, bits, value), `op ${op} insert`);
      inserted.push([addr, bits]);
    } else if (kind < 9) {
      const [addr, bits] = inserted[r() % inserted.length];
      assert.equal(trie.remove(addr, bits), slow.remove(addr, bits), `op ${op} remove`);
    } else {
      const value = r() % 30;
      assert.equal(trie.removeByValue(value), slow.removeByValue(value), `op ${op} removeByValue`);
    }
    for (let q = 0; q < 6; q++) {
      const probe = q % 3 === 0 && inserted.length > 0 ? inserted[r() % inserted.length][0] : randomAddr();
      assert.equal(trie.lookup6(Uint32Array.from(probe)), slow.lookup(probe), `op ${op} lookup`);
    }
    assert.equal(trie.size, slow.size);
  }
});

Deno.test("PrefixTrie.lookup4() and lookup6() allocate nothing after warm-up", () => {
  const t4 = new PrefixTrie(4);
  const t6 = new PrefixTrie(6);
  const r = rng(7);
  for (let i = 0; i < 10000; i++) {
    t4.insert(r(), 16 + (r() % 17), i);
    t6.insert([0xfd000000, r(), r(), r()], 64 + (r() % 65), i);
  }
  // Int32 probes: a u32 ≥ 2^31 would be a heap number and could be boxed at a non-inlined call.
  const probes = new Int32Array(4096).map(() => r() | 0);
  const words = new Uint32Array(probes.buffer);
  // A typed-array accumulator: a captured `let` holding a large number would box on every add.
  const sink = new Float64Array(1);
  const round = (n: number): number => {
    const before = Deno.memoryUsage().heapUsed;
    for (let i = 0; i < n; i++) sink[0] += t4.lookup4(probes[i & 4095]) + t6.lookup6(words, i & 4092);
    return Deno.memoryUsage().heapUsed - before;
  };
  round(1_000_000);
  // One boxed number per lookup would be ≥ 16 MB per round; background JIT work
  // can add a little to one round, so judge the median of several.
  const deltas = [round(500_000), round(500_000), round(500_000), round(500_000), round(500_000)].sort((
    a,
    b,
  ) => a - b);
  assert.ok(
    deltas[2] < 64 * 1024,
    `heap grew by ${deltas.join(", ")} bytes per 500k lookups (sink ${sink[0]})`,
  );
});
