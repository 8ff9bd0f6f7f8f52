import assert from "node:assert/strict";
import { ManualClock } from "./control/clock.ts";
import { holds, settledWithin, until, untilAdvanced, within } from "./wait.ts";

Deno.test("until() returns the first truthy probe value as soon as it appears", async () => {
  let calls = 0;
  const v = await until(() => ++calls === 3 && "ready", { what: "third call", intervalMs: 1 });
  assert.equal(v, "ready");
  assert.equal(calls, 3);
});

Deno.test("until() accepts an async probe", async () => {
  let n = 0;
  assert.equal(await until(() => Promise.resolve(++n >= 2 ? n : 0), { what: "two", intervalMs: 1 }), 2);
});

Deno.test("until() throws naming what it waited for, with the detail, after the deadline", async () => {
  const started = performance.now();
  await assert.rejects(
    until(() => false, { what: "the moon", timeoutMs: 50, intervalMs: 5, detail: () => "log tail" }),
    /timed out after 50 ms waiting for: the moon\nlog tail/,
  );
  assert.ok(performance.now() - started >= 50);
});

Deno.test("until() fails at once when the probe throws", async () => {
  await assert.rejects(
    until(() => {
      throw new Error("probe broke");
    }, { what: "x", timeoutMs: 10_000 }),
    /probe broke/,
  );
});

Deno.test("within() passes a value through and clears its timer", async () => {
  assert.equal(await within(Promise.resolve(7), 10_000, "seven"), 7);
});

Deno.test("within() rejects naming what it waited for", async () => {
  await assert.rejects(
    within(new Promise(() => {}), 20, "a reply"),
    /timed out after 20 ms waiting for: a reply/,
  );
});

Deno.test("within() passes a rejection through", async () => {
  await assert.rejects(within(Promise.reject(new Error("boom")), 10_000, "x"), /boom/);
});

Deno.test("settledWithin() returns the value, or the fallback after the deadline", async () => {
  assert.equal(await settledWithin(Promise.resolve("yes"), 10_000, "no"), "yes");
  assert.equal(await settledWithin(new Promise(() => {}), 10, "no"), "no");
});

Deno.test("untilAdvanced() moves the injected clock only as far as the condition needs", async () => {
  const clock = new ManualClock(0);
  let fired = false;
  clock.setTimer(() => fired = true, 250);
  assert.equal(await untilAdvanced(clock, () => fired, { what: "timer", stepMs: 10 }), true);
  assert.equal(clock.t, 250);
});

Deno.test("untilAdvanced() throws naming what did not happen", async () => {
  const clock = new ManualClock(0);
  await assert.rejects(
    untilAdvanced(clock, () => false, { what: "nothing", stepMs: 5, maxSteps: 4 }),
    /nothing did not happen within 4 steps of 5 ms/,
  );
  assert.equal(clock.t, 20);
});

Deno.test("holds() lets the period pass while the condition stays true", async () => {
  const started = performance.now();
  await holds(() => true, 40, "always");
  assert.ok(performance.now() - started >= 40);
});

Deno.test("holds() fails as soon as the condition breaks, naming it", async () => {
  let n = 0;
  const started = performance.now();
  await assert.rejects(
    holds(() => ++n < 3, 10_000, "n stays small", 1),
    /stopped holding after \d+ ms: n stays small/,
  );
  assert.ok(performance.now() - started < 5000);
});
