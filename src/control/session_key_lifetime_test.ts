/**
 * ControlSession key lifetime on an injected clock: the replaced key is
 * retired after the transition window, and a peer that starts soft resets
 * faster than SoftResetLimit allows is slowed down (its excess resets
 * dropped and counted) while the session survives.
 */

import assert from "node:assert/strict";
import { DROP_SOFT_RESET_LIMITED } from "./drop_counters.ts";
import { ControlSession, type ControlSessionOptions } from "./session.ts";
import { SOFT_RESET_BURST, SOFT_RESET_REFILL_MS } from "./soft_reset_limit.ts";
import { ManualClock } from "../testing/control/clock.ts";
import { sharedTestPki } from "../testing/control/pki.ts";
import { pkiVerifier } from "./verifier.ts";
import { untilAdvanced } from "../testing/wait.ts";

const pki = await sharedTestPki();

interface Pair {
  clock: ManualClock;
  client: ControlSession;
  server: ControlSession;
  /** Key-ids each side installed, with the clock time. */
  keys: { client: [number, number][]; server: [number, number][] };
  retired: { client: number[]; server: number[] };
  errors: string[];
}

/** Client and server on one ManualClock, joined by a link that delivers on the next macrotask. */
function pair(
  o: { client?: Partial<ControlSessionOptions>; server?: Partial<ControlSessionOptions> } = {},
): Pair {
  const clock = new ManualClock();
  const p = {
    clock,
    keys: { client: [], server: [] },
    retired: { client: [], server: [] },
    errors: [],
  } as unknown as Pair;
  p.server = new ControlSession({
    role: "server",
    credentials: pki.server,
    verifyPeer: pkiVerifier({ ca: pki.caPem, crl: pki.crlPem, usage: "clientAuth" }),
    send: (b) => void setTimeout(() => p.client.receive(b), 0),
    clock,
    peerId: 1,
    ...o.server,
  });
  p.client = new ControlSession({
    role: "client",
    credentials: pki.client,
    verifyPeer: pkiVerifier({ ca: pki.caPem, usage: "serverAuth" }),
    send: (b) => void setTimeout(() => p.server.receive(b), 0),
    clock,
    ...o.client,
  });
  for (const side of ["client", "server"] as const) {
    p[side].on("key", (k) => p.keys[side].push([k.keyId, clock.t]));
    p[side].on("keyRetired", (e) => p.retired[side].push(e.keyId));
    p[side].on("error", (e) => p.errors.push(`${side}: ${e.reason}`));
  }
  return p;
}

/** Advances the pair's clock in `stepMs` steps until `cond` holds; fails after `maxSteps`. */
function until(clock: ManualClock, cond: () => boolean, what: string, stepMs = 1, maxSteps = 5000) {
  return untilAdvanced(clock, cond, { what, stepMs, maxSteps });
}

async function established(p: Pair): Promise<void> {
  p.client.start();
  await until(p.clock, () => p.keys.client.length === 1 && p.keys.server.length === 1, "first key");
}

function close(p: Pair): void {
  p.client.close("done", false);
  p.server.close("done", false);
}

Deno.test({
  name:
    "ControlSession retires the replaced key 60 s after the new one became active (default transition window)",
  fn: async () => {
    const p = pair();
    try {
      await established(p);
      assert.equal(p.server.renegotiate(), true);
      await until(p.clock, () => p.client.activeKeyId === 1 && p.server.activeKeyId === 1, "key 1");
      await until(p.clock, () => p.keys.client.length === 2 && p.keys.server.length === 2, "key 1 events");
      const activeAt = Math.max(p.keys.client[1][1], p.keys.server[1][1]);
      await p.clock.advance(activeAt + 59_000 - p.clock.t);
      assert.deepEqual(p.retired, { client: [], server: [] }, "both keep key 0 inside the window");
      await p.clock.advance(1_000);
      assert.deepEqual(p.retired, { client: [0], server: [0] });
      assert.deepEqual(p.errors, []);
    } finally {
      close(p);
    }
  },
});

Deno.test({
  name: "ControlSession honours a shorter transitionWindowMs",
  fn: async () => {
    const p = pair({ client: { transitionWindowMs: 5_000 }, server: { transitionWindowMs: 5_000 } });
    try {
      await established(p);
      assert.equal(p.client.renegotiate("bytes"), true);
      await until(p.clock, () => p.keys.client.length === 2 && p.keys.server.length === 2, "key 1");
      const activeAt = Math.max(p.keys.client[1][1], p.keys.server[1][1]);
      await p.clock.advance(activeAt + 4_000 - p.clock.t);
      assert.deepEqual(p.retired, { client: [], server: [] });
      await p.clock.advance(1_000);
      assert.deepEqual(p.retired, { client: [0], server: [0] });
    } finally {
      close(p);
    }
  },
});

Deno.test({
  name:
    "ControlSession drops and counts a peer's soft resets beyond the limit; the session survives and goes on",
  fn: async () => {
    // The client is the flooding peer; its short retransmission timeout resends each refused reset quickly.
    const p = pair({ client: { tlsTimeoutMs: 50 } });
    try {
      await established(p);
      const start = p.clock.t;
      for (let k = 1; k <= SOFT_RESET_BURST; k++) {
        assert.equal(p.client.renegotiate(), true);
        await until(p.clock, () => p.server.activeKeyId === k && p.client.activeKeyId === k, `key ${k}`);
      }
      assert.ok(p.clock.t - start < SOFT_RESET_REFILL_MS / 2, "the burst took less than half a refill");
      const limited = () => p.server.drops.counts[DROP_SOFT_RESET_LIMITED];
      assert.equal(limited(), 0, "the burst passes");
      // One more, at once: refused, and so is every retransmission until a token is back.
      assert.equal(p.client.renegotiate(), true);
      await until(p.clock, () => limited() >= 3, "refused retransmissions", 10, 300);
      assert.equal(p.server.activeKeyId, SOFT_RESET_BURST, "no key state was started for them");
      assert.equal(p.server.closed, false);
      // A token comes back: a later retransmission of the same reset is accepted and completes.
      const next = SOFT_RESET_BURST + 1;
      await until(
        p.clock,
        () => p.server.activeKeyId === next && p.client.activeKeyId === next,
        "key after refill",
        10,
        1000,
      );
      assert.ok(p.clock.t - start >= SOFT_RESET_REFILL_MS / 2, "accepted only after a refill");
      assert.deepEqual(p.keys.server.map((k) => k[0]), [0, 1, 2, 3, 4, 5]);
      assert.deepEqual(p.errors, []);
      assert.equal(p.client.closed || p.server.closed, false);
    } finally {
      close(p);
    }
  },
});
