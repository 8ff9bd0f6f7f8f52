import assert from "node:assert/strict";
import type { ControlSessionOptions } from "../control/session.ts";
import { ManualClock } from "../testing/control/clock.ts";
import { createTestPki } from "../testing/control/pki.ts";
import { FakeNetwork } from "../testing/datapath/fake_network.ts";
import { config, FakeServer, push, type Rig, start } from "../testing/client/fake_server.ts";
import { until } from "../testing/wait.ts";

Deno.test("startClient() applies the push, re-dials at once after RESTART without changing the host, and undoes everything on stop", async () => {
  const pki = await createTestPki();
  const fnet = new FakeNetwork();
  const server = new FakeServer(fnet, "10.0.0.1", pki, push);
  try {
    const r = start(await config(pki, pki.dir, ["10.0.0.1"]), fnet);
    const before = r.net.snapshot();
    const first = await r.h.waitConnected(10_000);
    assert.equal(first.remote, "10.0.0.1:1194");
    assert.equal(first.changed, true);
    const during = r.net.snapshot();
    for (
      const want of [
        "addr tun0 10.8.0.2/24 ",
        "route 0.0.0.0/1 via 10.8.0.1 dev tun0",
        "route 128.0.0.0/1 via 10.8.0.1 dev tun0",
        "route 10.20.0.0/16 via 10.8.0.1 dev tun0",
        "route 10.0.0.1/32 via 192.168.1.1 dev eth0",
      ]
    ) assert.ok(during.includes(want), `${want} missing from\n${during.join("\n")}`);
    const calls = r.net.log.length;
    const again = r.h.waitConnected(5000);
    server.restartAll();
    const second = await again;
    assert.equal(second.changed, false);
    assert.equal(r.net.log.length, calls, "a reconnect with the same push touches nothing");
    assert.equal(r.ends[0].kind, "server-restart");
    assert.ok(r.lines.some((l) => /the server sent RESTART.*reconnecting now/.test(l)), r.lines.join("\n"));
    r.h.stop();
    assert.equal(await r.h.done, 0);
    assert.deepEqual(r.net.snapshot(), before);
    assert.equal(r.h.status.state, "stopped");
    assert.equal(r.h.status.connects, 2);
  } finally {
    server.close();
    await pki.cleanup();
  }
});

Deno.test("startClient() reconnects after ping-restart and fails over to the next remote when the first stays silent", async () => {
  const pki = await createTestPki();
  const fnet = new FakeNetwork();
  const quiet = { ...push, pingRestart: 1 };
  const s1 = new FakeServer(fnet, "10.0.0.1", pki, quiet);
  const s2 = new FakeServer(fnet, "10.0.0.9", pki, quiet);
  try {
    const r = start(await config(pki, pki.dir, ["10.0.0.1", "10.0.0.9"]), fnet);
    const before = r.net.snapshot();
    await r.h.waitConnected(10_000);
    s1.silent = true;
    // The fake servers never send keepalive pings, so each connection ends by ping-restart; s1 is dead.
    const next = await r.h.waitConnected(10_000);
    assert.equal(next.remote, "10.0.0.9:1194");
    assert.equal(next.changed, true);
    assert.equal(r.ends[0].kind, "lost");
    assert.match(r.ends[0].reason, /ping-restart/);
    assert.ok(r.ends.some((e) => e.kind === "failed" && /No answer from 10\.0\.0\.1:1194/.test(e.reason)));
    const during = r.net.snapshot();
    assert.ok(during.includes("route 10.0.0.9/32 via 192.168.1.1 dev eth0"), during.join("\n"));
    assert.ok(!during.some((l) => l.includes("10.0.0.1/32")));
    r.h.stop();
    assert.equal(await r.h.done, 0);
    assert.deepEqual(r.net.snapshot(), before);
  } finally {
    s1.close();
    s2.close();
    await pki.cleanup();
  }
});

Deno.test("startClient() exits 1 with a clear message when the keys cannot be read, touching nothing", async () => {
  const pki = await createTestPki();
  try {
    const c = await config(pki, pki.dir, ["10.0.0.1"]);
    c.pki.key = { kind: "file", path: `${pki.dir}/missing.key` };
    const r = start(c, new FakeNetwork());
    const before = r.net.snapshot();
    assert.equal(await r.h.done, 1);
    assert.ok(
      r.lines.some((l) => l.includes(`Cannot read ${pki.dir}/missing.key: no such file`)),
      r.lines.join("\n"),
    );
    assert.deepEqual(r.net.snapshot(), before);
  } finally {
    await pki.cleanup();
  }
});

/** A client rig against one FakeServer at 10.0.0.1; everything is torn down afterwards. */
async function withServer(
  extra: Partial<ControlSessionOptions>,
  handshakeTimeoutMs: number,
  fn: (r: Rig, server: FakeServer) => Promise<void>,
  retryClock?: ManualClock,
): Promise<void> {
  const pki = await createTestPki();
  const fnet = new FakeNetwork();
  const server = new FakeServer(fnet, "10.0.0.1", pki, push, extra);
  try {
    await fn(start(await config(pki, pki.dir, ["10.0.0.1"]), fnet, handshakeTimeoutMs, retryClock), server);
  } finally {
    server.close();
    await pki.cleanup();
  }
}

Deno.test("startClient() treats AUTH_FAILED as a refusal: logged as an error, retried only after the 30 s floor", async () => {
  const refuse = { authorize: () => ({ ok: false as const, reason: "account disabled" }) };
  const clock = new ManualClock();
  await withServer(refuse, 4000, async (r, server) => {
    const before = r.net.snapshot();
    const end = await until(() => r.ends[0], { what: "a disconnect", timeoutMs: 10_000 });
    assert.equal(end.kind, "auth-failed");
    assert.match(end.reason, /AUTH_FAILED.*account disabled/);
    // max_delay is 0.2 s in these tests: the refusal still waits the 30 s floor.
    assert.ok(r.lines.some((l) => / ERROR .*account disabled.*in=30\.0s/.test(l)), r.lines.join("\n"));
    await until(() => clock.pending === 1, { what: "the wait before the next attempt" });
    await clock.advance(29_999);
    assert.equal(clock.pending, 1, "the wait has not ended");
    assert.equal(r.h.status.state, "waiting");
    assert.equal(server.sessions.length, 1, "no re-dial during the wait");
    await clock.advance(1);
    await until(() => server.sessions.length === 2, { what: "the re-dial after 30 s" });
    r.h.stop();
    assert.equal(await r.h.done, 0);
    assert.deepEqual(r.net.snapshot(), before);
  }, clock);
});

Deno.test("startClient() stops with exit code 1 on HALT and undoes the host changes", async () => {
  await withServer({}, 4000, async (r, server) => {
    const before = r.net.snapshot();
    await r.h.waitConnected(10_000);
    server.sessions[0].sendControlMessage("HALT");
    assert.equal(await r.h.done, 1);
    assert.equal(r.ends[0].kind, "halt");
    assert.equal(r.ends[0].reason, "the server sent HALT");
    assert.equal(server.sessions.length, 1, "no re-dial after HALT");
    assert.deepEqual(r.net.snapshot(), before);
  });
});

Deno.test("startClient() re-dials with backoff when a renegotiation times out while the tunnel is up", async () => {
  await withServer({}, 1500, async (r, server) => {
    await r.h.waitConnected(10_000);
    const again = r.h.waitConnected(10_000);
    assert.equal(server.sessions[0].renegotiate(), true);
    // The soft reset goes out in the session's flush microtask; from then on the server answers nothing.
    queueMicrotask(() => server.silent = true);
    const end = await until(() => r.ends[0], { what: "a disconnect" });
    assert.equal(end.kind, "lost");
    assert.match(
      end.reason,
      /control channel closed: TLS key negotiation for key 1 did not complete within 1\.5 s/,
    );
    assert.ok(r.lines.some((l) => /did not complete.*reconnecting to=10\.0\.0\.1:1194 in=0\.1s/.test(l)));
    server.silent = false;
    assert.equal((await again).changed, false);
    r.h.stop();
    assert.equal(await r.h.done, 0);
  });
});

Deno.test("startClient() treats a push its pull_filter rejects as a failed attempt: nothing applied, then a re-dial", async () => {
  const pki = await createTestPki();
  const fnet = new FakeNetwork();
  const server = new FakeServer(fnet, "10.0.0.1", pki, push);
  try {
    const c = await config(pki, pki.dir, ["10.0.0.1"]);
    c.pull.filter = [{ action: "accept", text: "route 10.30." }, { action: "reject", text: "route 10." }];
    const r = start(c, fnet);
    const before = r.net.snapshot();
    const end = await until(() => r.ends[0], { what: "a disconnect", timeoutMs: 10_000 });
    assert.equal(end.kind, "failed");
    assert.equal(
      end.reason,
      'pushed option "route 10.20.0.0 255.255.0.0" rejected by pull_filter reject "route 10."',
    );
    await until(() => server.sessions.length >= 2, { what: "a re-dial" });
    assert.equal(r.h.status.connects, 0);
    assert.deepEqual(r.net.snapshot(), before, "nothing of the rejected push reached the host");
    r.h.stop();
    assert.equal(await r.h.done, 0);
  } finally {
    server.close();
    await pki.cleanup();
  }
});

Deno.test("startClient() applies a push without the options its pull_filter ignores", async () => {
  const pki = await createTestPki();
  const fnet = new FakeNetwork();
  const server = new FakeServer(fnet, "10.0.0.1", pki, push);
  try {
    const c = await config(pki, pki.dir, ["10.0.0.1"]);
    c.pull.filter = [{ action: "ignore", text: "route 10.20." }, {
      action: "ignore",
      text: "redirect-gateway",
    }];
    const r = start(c, fnet);
    await r.h.waitConnected(10_000);
    const during = r.net.snapshot();
    assert.ok(during.includes("addr tun0 10.8.0.2/24 "), during.join("\n"));
    assert.ok(!during.some((l) => l.includes("10.20.0.0") || l.includes("0.0.0.0/1")), during.join("\n"));
    r.h.stop();
    assert.equal(await r.h.done, 0);
  } finally {
    server.close();
    await pki.cleanup();
  }
});
