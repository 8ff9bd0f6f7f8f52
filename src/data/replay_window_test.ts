import assert from "node:assert/strict";
import {
  REPLAY_DUPLICATE,
  REPLAY_INVALID,
  REPLAY_OK,
  REPLAY_TOO_OLD,
  ReplayWindow,
} from "./replay_window.ts";

function accept(w: ReplayWindow, id: number): number {
  const v = w.check(id);
  if (v === REPLAY_OK) w.commit(id);
  return v;
}

Deno.test("ReplayWindow.check() accepts in-order ids and commit() advances highest", () => {
  const w = new ReplayWindow();
  for (let id = 1; id <= 5000; id++) assert.equal(accept(w, id), REPLAY_OK);
  assert.equal(w.highest, 5000);
});

Deno.test("ReplayWindow.check() rejects a duplicate", () => {
  const w = new ReplayWindow();
  accept(w, 1);
  accept(w, 2);
  assert.equal(w.check(2), REPLAY_DUPLICATE);
  assert.equal(w.check(1), REPLAY_DUPLICATE);
});

Deno.test("ReplayWindow.check() accepts reordering within the window once", () => {
  const w = new ReplayWindow(64);
  accept(w, 100);
  for (const id of [99, 37, 50, 98]) assert.equal(accept(w, id), REPLAY_OK, `id ${id}`);
  for (const id of [99, 37, 50, 98, 100]) assert.equal(w.check(id), REPLAY_DUPLICATE, `id ${id}`);
  assert.equal(w.check(36), REPLAY_TOO_OLD, "exactly size behind");
  assert.equal(w.highest, 100);
});

Deno.test("ReplayWindow.check() rejects ids older than the window", () => {
  const w = new ReplayWindow(1024);
  accept(w, 5000);
  assert.equal(w.check(5000 - 1023), REPLAY_OK);
  assert.equal(w.check(5000 - 1024), REPLAY_TOO_OLD);
  assert.equal(w.check(1), REPLAY_TOO_OLD);
});

Deno.test("ReplayWindow.check() treats id 0 and non-u32 values as invalid", () => {
  const w = new ReplayWindow();
  for (const id of [0, -1, 2 ** 32, 1.5, NaN]) assert.equal(w.check(id), REPLAY_INVALID, `id ${id}`);
  w.commit(0);
  assert.equal(w.highest, 0);
});

Deno.test("ReplayWindow.commit() after a huge forward jump forgets the old window", () => {
  const w = new ReplayWindow(128);
  for (let id = 1; id <= 200; id++) accept(w, id);
  accept(w, 0xfffffff0);
  assert.equal(w.highest, 0xfffffff0);
  assert.equal(w.check(0xfffffff0), REPLAY_DUPLICATE);
  assert.equal(w.check(0xfffffff0 - 1), REPLAY_OK, "nothing stale left in the ring");
  assert.equal(w.check(200), REPLAY_TOO_OLD);
  assert.equal(accept(w, 0xffffffff), REPLAY_OK, "the largest u32 id is valid");
  assert.equal(w.check(0xffffffff), REPLAY_DUPLICATE);
});

Deno.test("ReplayWindow.check() alone never changes state", () => {
  const w = new ReplayWindow();
  accept(w, 10);
  for (let id = 11; id < 5000; id += 7) w.check(id);
  assert.equal(w.highest, 10);
  assert.equal(w.check(11), REPLAY_OK);
});

Deno.test("ReplayWindow agrees with a Set-based model on seeded random traffic", () => {
  for (const size of [32, 64, 1024, 96]) {
    let seed = size;
    const rnd = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const w = new ReplayWindow(size);
    const seen = new Set<number>();
    let highest = 0;
    let base = 1;
    for (let i = 0; i < 20000; i++) {
      const r = rnd();
      let id: number;
      if (r < 0.6) id = base++;
      else if (r < 0.9) id = Math.max(1, highest - Math.floor(rnd() * size * 1.5));
      else if (r < 0.99) id = highest + 1 + Math.floor(rnd() * size * 3);
      else id = Math.min(0xffffffff, highest + Math.floor(rnd() * 2 ** 20));
      const expected = id > highest
        ? REPLAY_OK
        : highest - id >= size
        ? REPLAY_TOO_OLD
        : seen.has(id)
        ? REPLAY_DUPLICATE
        : REPLAY_OK;
      assert.equal(w.check(id), expected, `size ${size} step ${i} id ${id} highest ${highest}`);
      if (expected === REPLAY_OK && rnd() < 0.9) {
        w.commit(id);
        seen.add(id);
        if (id > highest) highest = id;
        if (base <= highest - size) base = highest - Math.floor(size / 2);
      }
    }
  }
});

Deno.test("ReplayWindow constructor rejects sizes that are not a multiple of 32", () => {
  for (const s of [0, 31, 33, 100, 2 ** 21]) assert.throws(() => new ReplayWindow(s), RangeError);
});

Deno.test("ReplayWindow.reset() forgets every id", () => {
  const w = new ReplayWindow();
  accept(w, 7);
  w.reset();
  assert.equal(w.highest, 0);
  assert.equal(w.check(7), REPLAY_OK);
});
