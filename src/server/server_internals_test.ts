/**
 * The status document's `internals` (server_internals.ts) on the real server
 * with real tsvpn clients over the in-memory network: renegotiations leave
 * every table where it was (issue 14: no growth while the same clients stay).
 */

import assert from "node:assert/strict";
import { TimerCountingClock } from "../control/clock.ts";
import type { InternalsSnapshot } from "../ops/server_control.ts";
import { Lab, type LabServer } from "../testing/server/lab.ts";
import { until } from "../testing/wait.ts";

const renewals = (server: LabServer) =>
  server.log.lines.filter((l) => l.includes("data keys renewed")).length;
const internals = (server: LabServer): InternalsSnapshot => server.handle.control.snapshot().internals!;

/** The tables once no key is negotiating and no replaced key is left: one key per session. */
async function atRest(server: LabServer, sessions: number, what: string): Promise<Record<string, number>> {
  return await until(() => {
    const t = internals(server).tables;
    return t.keyStates === sessions && t.dataKeys === sessions && t;
  }, { what, timeoutMs: 20_000, intervalMs: 20, detail: () => JSON.stringify(internals(server).tables) });
}

Deno.test("server internals: renegotiations leave every table the size it was", async () => {
  const lab = await Lab.create(["client2"]);
  try {
    // New keys every 2 s (the tsvpn clients accept a soft reset every 2 s) and a 1 s transition window: the
    // replaced key is gone a second before the next renegotiation starts.
    const server = await lab.startServer({ extra: ["data: { reneg_seconds: 2, transition_window: 1 }"] });
    const clients = [lab.startClient("client1"), lab.startClient("client2")];
    await Promise.all(clients.map((c) => c.handle.waitConnected(15_000)));
    await until(() => renewals(server) >= 2, { what: "2 renegotiations (warm-up)", timeoutMs: 30_000 });
    const before = await atRest(server, 2, "the tables at rest after the warm-up");
    assert.equal(before.controlSessions, 2);
    assert.equal(before.registryRecords, 2);
    assert.equal(before.datapathPeers, 2);
    assert.equal(before.poolLeases, 2);
    assert.ok(before.opensslAeads >= 4, "two directions of each session's data key, at least");
    assert.ok(before.tlsChannels >= 2 && before.controlTimers >= 2, JSON.stringify(before));
    assert.deepEqual(internals(server).tls, { engine: "openssl", reason: "libssl.so.3" });
    // Clients and server share this process (and the counts): the clients' channels keep their SSL objects,
    // the server's two TLS 1.3 sessions at rest hold none.
    assert.ok(before.tlsChannels - before.opensslSsl >= 2, JSON.stringify(before));
    const target = renewals(server) + 8;
    await until(() => renewals(server) >= target, { what: "8 more renegotiations", timeoutMs: 60_000 });
    const after = await atRest(server, 2, "the tables at rest after 8 more renegotiations");
    assert.deepEqual(after, before);
    const memory = internals(server).memory;
    assert.ok(
      memory.rss > 0 && memory.heapUsed > 0 && memory.heapTotal >= memory.heapUsed,
      JSON.stringify(memory),
    );
  } finally {
    await lab.close();
  }
});

Deno.test("server internals: a client reconnecting from new ports leaves no reply links behind", async () => {
  const lab = await Lab.create();
  try {
    const server = await lab.startServer();
    const client = lab.startClient("client1");
    await client.handle.waitConnected(15_000);
    const reconnect = async (i: number) => {
      // A kill makes the client reconnect, from a fresh port (the lab opens a socket per connection).
      assert.equal(await server.handle.control.kill("client1", "test"), 1);
      await until(
        () =>
          client.handle.status.connects === i + 1 && server.handle.control.snapshot().clients.length === 1,
        {
          what: `reconnection ${i}`,
          timeoutMs: 15_000,
        },
      );
    };
    for (let i = 1; i <= 24; i++) await reconnect(i);
    // The killed sessions close within their grace (≈ 2 s); their links stay until the next new link.
    await until(() => internals(server).tables.controlSessions === 1, {
      what: "the killed sessions closed",
      timeoutMs: 30_000,
      detail: () => JSON.stringify(internals(server).tables),
    });
    assert.equal(internals(server).tables.linkReplies, 25);
    await reconnect(25);
    assert.equal(client.sockets.length, 26, "a new endpoint per connection");
    const t = internals(server).tables;
    // Kept before: all 26 endpoints (until 8192); now the new one and the killed session's, still closing.
    assert.ok(t.linkReplies <= 2, JSON.stringify(t));
  } finally {
    await lab.close();
  }
});

Deno.test("TimerCountingClock counts timers until they fire or are cleared", async () => {
  const clock = new TimerCountingClock({
    now: () => 0,
    setTimer: (fn, ms) => setTimeout(fn, ms) as unknown as number,
    clearTimer: (id) => clearTimeout(id),
  });
  let fired = 0;
  clock.setTimer(() => fired++, 0);
  const cleared = clock.setTimer(() => fired++, 60_000);
  assert.equal(clock.pending, 2);
  clock.clearTimer(cleared);
  clock.clearTimer(cleared);
  assert.equal(clock.pending, 1);
  await until(() => fired === 1, { what: "the 0 ms timer" });
  assert.equal(clock.pending, 0);
});
