import assert from "node:assert/strict";
import { HostTable } from "./host_table.ts";

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

Deno.test("HostTable.get4() finds set keys, including 0 and 0xffffffff", () => {
  const t = new HostTable(4);
  assert.equal(t.get4(0), -1);
  assert.equal(t.set([0], 1), -1);
  assert.equal(t.set([0xffffffff], 2), -1);
  assert.equal(t.set([0x0a080006], 3), -1);
  assert.equal(t.set([0x0a080006], 4), 3);
  assert.equal(t.get4(0), 1);
  assert.equal(t.get4(0xffffffff), 2);
  assert.equal(t.get4(0x0a080006), 4);
  assert.equal(t.get([0x0a080006]), 4);
  assert.equal(t.size, 3);
  assert.deepEqual(t.keysOf(3), []);
  assert.deepEqual(t.keysOf(4).map((k) => k[0]), [0x0a080006]);
});

Deno.test("HostTable agrees with a Map through growth, deletes and deleteByValue (seeded random)", () => {
  for (const family of [4, 6] as const) {
    const r = lcg(family);
    const t = new HostTable(family);
    const ref = new Map<string, number>();
    const keys: number[][] = [];
    const mk = (): number[] => family === 4 ? [r() & 0x0000ffff] : [0xfd000000, 0, r() & 3, r() & 0x3ff];
    for (let op = 0; op < 6000; op++) {
      const k = r() % 10;
      if (k < 6 || keys.length === 0) {
        const key = mk();
        const value = r() % 50;
        const prev = ref.get(key.join(",")) ?? -1;
        assert.equal(t.set(key, value), prev);
        ref.set(key.join(","), value);
        keys.push(key);
      } else if (k < 9) {
        const key = keys[r() % keys.length];
        const prev = ref.get(key.join(",")) ?? -1;
        assert.equal(t.delete(key), prev);
        ref.delete(key.join(","));
      } else {
        const value = r() % 50;
        let n = 0;
        for (const [key, v] of ref) if (v === value) (ref.delete(key), n++);
        assert.equal(t.deleteByValue(value), n);
      }
      assert.equal(t.size, ref.size);
      for (let q = 0; q < 4; q++) {
        const key = q % 2 === 0 && keys.length > 0 ? keys[r() % keys.length] : mk();
        const want = ref.get(key.join(",")) ?? -1;
        const got = family === 4 ? t.get4(key[0]) : t.get6(key[0], key[1], key[2], key[3]);
        assert.equal(got, want, `family ${family} op ${op}`);
      }
    }
    let seen = 0;
    t.forEach((k, v) => {
      assert.equal(ref.get([...k].join(",")), v);
      seen++;
    });
    assert.equal(seen, ref.size);
    t.clear();
    assert.equal(t.size, 0);
  }
});
