import assert from "node:assert/strict";
import { Emitter } from "./emitter.ts";

type Events = { tick: (n: number) => void; other: (s: string) => void };

class Ticker extends Emitter<Events> {
  fire(n: number): void {
    this.emit("tick", n);
  }
}

Deno.test("Emitter calls each listener once per emission, in the order added, and off() removes it", () => {
  const t = new Ticker();
  const seen: string[] = [];
  const a = (n: number) => seen.push(`a${n}`);
  const b = (n: number) => seen.push(`b${n}`);
  t.on("tick", a).on("tick", b).on("tick", a);
  t.fire(1);
  t.off("tick", a);
  t.fire(2);
  t.off("tick", a);
  t.off("tick", b);
  t.fire(3);
  assert.deepEqual(seen, ["a1", "b1", "b2"]);
});

Deno.test("Emitter: a listener removed or added during an emission does not change that emission", () => {
  const t = new Ticker();
  const seen: string[] = [];
  const late = (n: number) => seen.push(`late${n}`);
  const b = (n: number) => seen.push(`b${n}`);
  t.on("tick", (n) => {
    seen.push(`a${n}`);
    t.off("tick", b);
    t.on("tick", late);
  });
  t.on("tick", b);
  t.fire(1);
  t.fire(2);
  assert.deepEqual(seen, ["a1", "b1", "a2", "late2"]);
});

Deno.test("Emitter: a throwing listener does not stop the others; once() resolves with the next emission", async () => {
  const t = new Ticker();
  const seen: number[] = [];
  const errors: unknown[] = [];
  const original = console.error;
  console.error = (...a: unknown[]) => errors.push(a.join(" "));
  try {
    t.on("tick", () => {
      throw new Error("listener bug");
    });
    t.on("tick", (n) => seen.push(n));
    const next = t.once("tick");
    t.fire(7);
    t.fire(8);
    assert.equal(await next, 7);
    assert.deepEqual(seen, [7, 8]);
    assert.equal(errors.length, 2);
  } finally {
    console.error = original;
  }
});
