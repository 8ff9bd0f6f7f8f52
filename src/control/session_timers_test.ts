import assert from "node:assert/strict";
import { KeySlots } from "./key_state.ts";
import type { PendingClose } from "./session_close.ts";
import { SessionTimers } from "./session_timers.ts";
import { ManualClock } from "../testing/control/clock.ts";

/** Timers over real key slots; each hook records what passed and when, and reacts as the session would. */
function rig() {
  const clock = new ManualClock(0);
  const events: string[] = [];
  const state = { closing: null as PendingClose | null, pushRequestAt: Infinity, flushes: 0 };
  const keys = new KeySlots({
    role: "client",
    clock,
    random: (n) => new Uint8Array(n),
    maxPayload: 1000,
    handshakeWindowMs: 10_000,
    renegotiateMs: 30_000,
    transitionWindowMs: 4_000,
    onRetired: (keyId) => events.push(`retired ${keyId}@${clock.t}`),
  });
  const timers: SessionTimers = new SessionTimers(clock, keys, {
    isClosed: () => false,
    pendingClose: () => state.closing,
    pushRequestAt: () => state.pushRequestAt,
    expiredClosingGrace: () => events.push(`closing@${clock.t}`),
    expiredHandshakeWindow: (ks) => {
      events.push(`handshake ${ks.keyId}@${clock.t}`);
      ks.phase = "failed";
    },
    expiredTransitionWindow: (ks) => keys.retire(ks),
    expiredKeyLifetime: () => {
      events.push(`lifetime@${clock.t}`);
      keys.activate(keys.open(keys.nextKeyId));
      timers.arm();
    },
    expiredPushRequest: () => {
      events.push(`push@${clock.t}`);
      state.pushRequestAt = clock.t + 2000;
    },
    flush: () => {
      state.flushes++;
      timers.arm();
    },
  });
  return { clock, keys, timers, events, state };
}

Deno.test("SessionTimers runs the key deadlines from one timer and calls the hook named after each", async () => {
  const r = rig();
  r.keys.activate(r.keys.open(0));
  r.timers.arm();
  assert.equal(r.clock.pending, 1);
  await r.clock.advance(30_000);
  assert.deepEqual(r.events, ["lifetime@30000"]);
  assert.equal(r.clock.pending, 1, "still one timer");
  await r.clock.advance(4_000);
  assert.deepEqual(r.events, ["lifetime@30000", "retired 0@34000"]);
  assert.equal(r.clock.pending, 1, "the next lifetime is armed");
  r.keys.open(r.keys.nextKeyId);
  r.timers.arm();
  await r.clock.advance(10_000);
  assert.deepEqual(r.events.slice(2), ["handshake 2@44000"]);
});

Deno.test("SessionTimers repeats the client's PUSH_REQUEST and ends a close once its deadline passes", async () => {
  const r = rig();
  r.state.pushRequestAt = 2000;
  r.timers.arm();
  await r.clock.advance(4500);
  assert.deepEqual(r.events, ["push@2000", "push@4000"]);
  r.state.pushRequestAt = Infinity;
  r.state.closing = { end: { kind: "local", reason: "bye" }, deadline: 6000, sent: true, untilAcked: false };
  r.timers.arm();
  await r.clock.advance(2000);
  assert.deepEqual(r.events.slice(2), ["closing@6000"]);
  r.state.closing.untilAcked = true;
  r.state.closing.deadline = 99_000;
  r.timers.arm();
  assert.deepEqual(
    r.events.slice(3),
    ["closing@6500"],
    "nothing unacknowledged: an exit notification ends at once",
  );
});

Deno.test("SessionTimers.scheduleFlush() coalesces into one flush; flushSoon() flushes again a macrotask later", async () => {
  const r = rig();
  r.timers.scheduleFlush();
  r.timers.scheduleFlush();
  await Promise.resolve();
  assert.equal(r.state.flushes, 1);
  r.timers.flushSoon();
  await Promise.resolve();
  assert.equal(r.state.flushes, 2);
  await r.clock.advance(0);
  assert.equal(r.state.flushes, 3);
  r.timers.stop();
  assert.equal(r.clock.pending, 0);
});
