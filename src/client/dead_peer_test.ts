import assert from "node:assert/strict";
import type { PushOptions } from "../control/push_options.ts";
import { createTestPki } from "../testing/control/pki.ts";
import { FakeNetwork } from "../testing/datapath/fake_network.ts";
import { config, FakeServer, push, type Rig, start } from "../testing/client/fake_server.ts";
import { until } from "../testing/wait.ts";
import { deadPeerTimeoutMs, isPeerDead, PING_SLACK_SECONDS } from "./dead_peer.ts";

Deno.test("deadPeerTimeoutMs() is WireGuard's 15 s, never shorter than the server's ping plus slack, off without pings", () => {
  assert.equal(deadPeerTimeoutMs(15, 10), 15_000);
  assert.equal(
    deadPeerTimeoutMs(15, 20),
    (20 + PING_SLACK_SECONDS) * 1000,
    "a slow-pinging server is not dead",
  );
  assert.equal(deadPeerTimeoutMs(40, 10), 40_000);
  assert.equal(deadPeerTimeoutMs(0, 10), 0, "dead_peer_timeout: 0 turns it off");
  assert.equal(deadPeerTimeoutMs(15, 0), 0, "a server that does not ping is never taken for dead");
});

Deno.test("isPeerDead() needs a send after the last authenticated packet and the full silence", () => {
  const t = 1_000_000;
  assert.equal(isPeerDead(t + 15_000, t, t + 1, 15_000), true);
  assert.equal(isPeerDead(t + 14_999, t, t + 1, 15_000), false, "not yet silent for the timeout");
  assert.equal(isPeerDead(t + 60_000, t, t, 15_000), false, "nothing sent since: no answer was expected");
  assert.equal(isPeerDead(t + 60_000, t + 1, t, 15_000), false);
  assert.equal(isPeerDead(t + 60_000, t, t + 1, 0), false, "off");
});

/** A client connected to a FakeServer pushing `ping`, its datapath on a clock the test moves. */
async function withPingingServer(
  pushed: PushOptions,
  deadPeerTimeout: number,
  keepalive: { interval: number; timeout: number } | null,
  fn: (r: Rig, server: FakeServer, advance: (ms: number) => void) => Promise<void>,
): Promise<void> {
  const pki = await createTestPki();
  const fnet = new FakeNetwork();
  const server = new FakeServer(fnet, "10.0.0.1", pki, pushed);
  let t = 5_000_000;
  try {
    const c = await config(pki, pki.dir, ["10.0.0.1"]);
    c.deadPeerTimeout = deadPeerTimeout;
    c.keepalive = keepalive;
    const r = start(c, fnet, 4000, undefined, { now: () => t });
    await r.h.waitConnected(10_000);
    await fn(r, server, (ms) => t += ms);
    r.h.stop();
    assert.equal(await r.h.done, 0);
  } finally {
    server.close();
    await pki.cleanup();
  }
}

Deno.test("startClient() re-dials at once when the server answers nothing for the dead-peer timeout after the client sent", async () => {
  // ping 1 → the timeout is max(2, 1 + 5) = 6 s; ping-restart (none pushed) would never fire.
  await withPingingServer({ ...push, ping: 1 }, 2, null, async (r, server, advance) => {
    const again = r.h.waitConnected(10_000);
    server.silent = true;
    advance(5_999);
    // The next tick pings (1 s since the last send) but 5.999 s of silence is not enough.
    const sent = server.dataPackets;
    await until(() => server.dataPackets > sent, { what: "a keepalive ping at 5.999 s" });
    assert.equal(r.ends.length, 0, "not dead before the timeout");
    // Forged data packets (P_DATA_V2, peer-id 0, random tag) from the server's address do not count as
    // a sign of life: only packets that open under the data key move the last-received time.
    const forged = Uint8Array.from({ length: 80 }, (_, i) => (i * 37 + 11) & 0xff);
    forged.set([9 << 3, 0, 0, 0]);
    for (let i = 0; i < 5; i++) server.sendRaw(forged);
    server.silent = false;
    advance(1);
    const end = await until(() => r.ends[0], { what: "the dead-peer disconnect" });
    assert.equal(end.kind, "lost");
    assert.equal(end.kind === "lost" && end.deadPeer, true);
    assert.equal(end.reason, "nothing authenticated from the server for 6 s after sending (dead peer)");
    assert.ok(r.lines.some((l) => /\(dead peer\); reconnecting now/.test(l)), r.lines.join("\n"));
    assert.equal((await again).changed, false, "the same push: the host is not touched");
    assert.equal(server.sessions.length, 2);
  });
});

Deno.test("startClient() keeps a silent tunnel up when dead_peer_timeout is 0 or the server does not ping", async () => {
  // The client pings every second either way (pushed ping 1, or its own keepalive when the push has none).
  const own = { interval: 1, timeout: 100_000 };
  const cases = [
    { pushed: { ...push, ping: 1 }, timeout: 0, keepalive: null },
    { pushed: push, timeout: 15, keepalive: own },
  ];
  for (const { pushed, timeout, keepalive } of cases) {
    await withPingingServer(pushed, timeout, keepalive, async (r, server, advance) => {
      server.silent = true;
      advance(120_000);
      const sent = server.dataPackets;
      // The dead-peer check runs right after the tick that sends this ping.
      await until(() => server.dataPackets > sent, { what: "a keepalive ping" });
      assert.equal(r.ends.length, 0, `no disconnect (ping ${pushed.ping}, dead_peer_timeout ${timeout})`);
      assert.equal(r.h.status.state, "connected");
    });
  }
});
