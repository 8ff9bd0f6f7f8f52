import assert from "node:assert/strict";
import {
  AUTH_RETRY_FLOOR_MS,
  backoffDelayMs,
  connected,
  INITIAL_RECONNECT_STATE,
  nextAttempt,
  orderRemotes,
  type ReconnectState,
  STABLE_MS,
} from "./backoff.ts";

const S = { initialDelay: 1, maxDelay: 60 };
const low = () => 0;
const high = () => 0.999999;

Deno.test("backoffDelayMs() doubles per failed pass and stays within initial and max delay", () => {
  assert.equal(backoffDelayMs(0, S, high), 1000);
  assert.equal(backoffDelayMs(1, S, high), 1000);
  assert.equal(backoffDelayMs(2, S, high), 2000);
  assert.equal(backoffDelayMs(3, S, high), 4000);
  assert.equal(backoffDelayMs(3, S, low), 2000);
  assert.equal(backoffDelayMs(7, S, high), 60000);
  assert.equal(backoffDelayMs(7, S, low), 30000);
  assert.equal(backoffDelayMs(1000, S, high), 60000);
  for (let p = 0; p < 20; p++) {
    for (const r of [0, 0.25, 0.5, 0.75, 0.9999]) {
      const d = backoffDelayMs(p, S, () => r);
      assert.ok(d >= 1000 && d <= 60000, `pass ${p} random ${r} gave ${d}`);
    }
  }
});

Deno.test("backoffDelayMs() jitter spreads the delays of equal failures", () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const seen = new Set<number>();
  for (let i = 0; i < 50; i++) seen.add(backoffDelayMs(5, S, rnd));
  assert.ok(seen.size > 20, `only ${seen.size} distinct delays`);
});

Deno.test("nextAttempt() cycles through remotes, then backs off after a failed pass", () => {
  let st: ReconnectState = INITIAL_RECONNECT_STATE;
  const delays: number[] = [];
  const order: number[] = [st.remote];
  for (let i = 0; i < 9; i++) {
    const d = nextAttempt(st, { kind: "failed" }, 3, S, high);
    st = d.state;
    delays.push(d.delayMs);
    order.push(st.remote);
  }
  assert.deepEqual(order, [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]);
  assert.deepEqual(delays, [1000, 1000, 1000, 1000, 1000, 2000, 1000, 1000, 4000]);
});

Deno.test("nextAttempt() re-dials at once after a server restart and resets the backoff", () => {
  const st = { remote: 1, failedInPass: 1, failedPasses: 4 };
  const d = nextAttempt(st, { kind: "server-restart", upForMs: 5 }, 3, S, high);
  assert.equal(d.delayMs, 0);
  assert.deepEqual(d.state, { remote: 1, failedInPass: 0, failedPasses: 0 });
});

Deno.test("nextAttempt() re-dials the same remote after a lost connection, forgetting failures once stable", () => {
  const st = connected({ remote: 2, failedInPass: 2, failedPasses: 3 });
  const flapping = nextAttempt(st, { kind: "lost", upForMs: 1000 }, 3, S, high);
  assert.equal(flapping.state.remote, 2);
  assert.equal(flapping.delayMs, 4000);
  const stable = nextAttempt(st, { kind: "lost", upForMs: STABLE_MS }, 3, S, high);
  assert.equal(stable.state.remote, 2);
  assert.equal(stable.delayMs, 1000);
  assert.equal(stable.state.failedPasses, 0);
});

Deno.test("nextAttempt() never retries an authentication refusal in a tight loop", () => {
  let st: ReconnectState = INITIAL_RECONNECT_STATE;
  for (let i = 0; i < 5; i++) {
    const d = nextAttempt(st, { kind: "auth-failed" }, 1, { initialDelay: 0, maxDelay: 1 }, low);
    assert.ok(d.delayMs >= AUTH_RETRY_FLOOR_MS);
    st = d.state;
  }
  assert.equal(
    nextAttempt(st, { kind: "auth-failed" }, 1, { initialDelay: 1, maxDelay: 300 }, low).delayMs,
    300000,
  );
});

Deno.test("orderRemotes() keeps the configured order unless shuffling, and shuffles deterministically", () => {
  const rs = [1, 2, 3, 4].map((i) => ({ host: `h${i}`, port: 1194, proto: "udp" as const }));
  assert.deepEqual(orderRemotes(rs, false, low).map((r) => r.host), ["h1", "h2", "h3", "h4"]);
  const shuffled = orderRemotes(rs, true, low).map((r) => r.host);
  assert.deepEqual(shuffled, ["h2", "h3", "h4", "h1"]);
  assert.deepEqual([...shuffled].sort(), ["h1", "h2", "h3", "h4"]);
});
