import assert from "node:assert/strict";
import { AddressPool, type Lease } from "./address_pool.ts";
import { FreeSlotHeap } from "./free_slots.ts";
import { planLayout } from "./topology.ts";
import { mulberry32 } from "../testing/seeded_random.ts";

Deno.test("FreeSlotHeap gives the smallest key first, the lower slot on equal keys, skipping invalid entries", () => {
  const heap = new FreeSlotHeap();
  for (const [key, slot] of [[5, 1], [3, 9], [3, 2], [7, 0], [3, 4]]) heap.push(key, slot);
  const taken = new Set<number>();
  const order: number[] = [];
  for (;;) {
    const slot = heap.peek((_k, s) => !taken.has(s));
    if (slot < 0) break;
    order.push(slot);
    taken.add(slot);
  }
  assert.deepEqual(order, [2, 4, 9, 1, 0]);
  assert.equal(heap.size, 0, "every entry was dropped once invalid");
});

/**
 * The scan AddressPool used before the heap (OpenVPN's ifconfig_pool_find over every slot), kept as the
 * reference the pool must agree with.
 */
class ReferencePool {
  readonly names: (string | null)[];
  readonly inUse: boolean[];
  readonly released: number[];
  constructor(size: number, readonly duplicateNames: boolean) {
    this.names = new Array(size).fill(null);
    this.inUse = new Array(size).fill(false);
    this.released = new Array(size).fill(0);
  }
  find(name: string): number {
    let best = -1;
    let bestReleased = 0;
    for (let slot = 0; slot < this.names.length; slot++) {
      if (this.inUse[slot]) continue;
      if (this.names[slot] === name && !this.duplicateNames) return slot;
      if (this.duplicateNames) return slot;
      if (best < 0 || this.released[slot] < bestReleased) {
        best = slot;
        bestReleased = this.released[slot];
      }
    }
    return best;
  }
}

for (const duplicateNames of [false, true]) {
  Deno.test(`AddressPool hands out the same slots as the full scan did (duplicateNames ${duplicateNames})`, () => {
    const next = mulberry32(duplicateNames ? 7 : 11);
    let now = 1000;
    const clock = () => now;
    const pool = new AddressPool(planLayout({ network4: "10.8.0.0/26" }), { clock, duplicateNames });
    const ref = new ReferencePool(pool.capacity, duplicateNames);
    const held: Lease[] = [];
    for (let step = 0; step < 20_000; step++) {
      now += next() % 3; // equal release times happen too
      if (held.length > 0 && (next() % 2 === 0 || held.length === pool.capacity)) {
        const lease = held.splice(next() % held.length, 1)[0];
        assert.equal(pool.release(lease), true);
        ref.inUse[lease.slot] = false;
        ref.released[lease.slot] = now;
        continue;
      }
      const name = `c${next() % 90}`;
      const result = pool.allocate(name);
      if (!result.ok) {
        assert.ok(result.reason === "name-in-use" || result.reason === "exhausted", result.message);
        continue;
      }
      const expected = ref.find(name);
      assert.equal(result.lease.slot, expected, `step ${step}: ${name}`);
      ref.names[expected] = name;
      ref.inUse[expected] = true;
      held.push(result.lease);
    }
  });
}
