/**
 * End-to-end floods while a legit stock openvpn 2.6 client connects (issue
 * 14): the client's connect time is measured and must stay under 5 s.
 *
 * Hard-reset flood: mallory sends P_CONTROL_HARD_RESET_CLIENT_V2 at 2000/s for
 * FLOOD_MS from 150 addresses (support/reset_flood.ts), never answering —
 * plain resets against a server without tls-auth, and tls-crypt-wrapped ones
 * from a holder of the key against a tls-crypt server. Amplification is
 * measured at mallory (bytes out, bytes back, per source) and from the
 * server's counters (stateless answers and drops by reason, SIGUSR2).
 *
 * Half-open TCP flood: mallory keeps 1000 connections open that never send a
 * byte (support/half_open_flood.ts), from 64 addresses (an nft snat rule in
 * mallory's namespace spreads them round robin, ≤ 16 per address: the server
 * admits 16 per source), reopening each one the server closes.
 *
 *   mallory 172.31.0.100-.249 ──┐
 *   alice   172.31.0.11 ────────┼── sw ── srv 172.31.0.1 (tsvpn, udp/tcp 1194)
 */

import assert from "node:assert/strict";
import { until } from "../../src/testing/wait.ts";
import { e2eIgnore, type LoggedProcess, ROOT } from "./support/lab.ts";
import { runScenario, type Scenario, type ScenarioOptions } from "./support/scenario.ts";
import { counter, statusLine } from "./support/status_line.ts";
import { udpCounters } from "./support/host_probes.ts";

const opts = { ignore: e2eIgnore(), sanitizeResources: false, sanitizeOps: false };
const RESET_FLOOD = `${ROOT}tests/e2e/support/reset_flood.ts`;
const HALF_OPEN_FLOOD = `${ROOT}tests/e2e/support/half_open_flood.ts`;
const CONNECT_LIMIT_MS = 5000;
const FLOOD_MS = 12_000;
const FLOOD_RATE = 2000;
const RESET_SOURCES = Array.from({ length: 150 }, (_, i) => `172.31.0.${100 + i}`);
const HALF_OPEN = 1000;
const HALF_OPEN_SOURCES = RESET_SOURCES.slice(0, 64);

/**
 * The connect-time bound: 5 s (issue 14), or twice the flood-free baseline on a host so loaded that a connect
 * without any flood already takes over 2.5 s (`deno task test` runs files in parallel on 2 cores; the bound is
 * about the server under a flood, not about the host).
 */
const connectLimit = (baselineMs: number) => Math.max(CONNECT_LIMIT_MS, 2 * baselineMs);

/** Mallory's namespace with `addresses` on its eth0. */
async function mallory(s: Scenario, addresses: string[]): Promise<string> {
  const ns = await s.lab.host("mallory", `${addresses[0]}/24`);
  for (const a of addresses.slice(1)) await s.lab.exec(ns, ["ip", "addr", "add", `${a}/24`, "dev", "eth0"]);
  return ns;
}

/**
 * Hosts for alice (who connects under the flood) and bob (who connects before it, for the same host's
 * baseline), made before the server starts so that connecting is all the timed part does.
 */
const clientHosts: ScenarioOptions["before"] = async (s) => {
  s.ns.alice = await s.lab.host("alice", "172.31.0.11/24");
  s.ns.bob = await s.lab.host("bob", "172.31.0.12/24");
};

/**
 * Starts `name`'s stock openvpn client (the profile written first) and returns the ms from its start to
 * "Initialization Sequence Completed" (the log is polled every 50 ms).
 */
async function timedConnect(
  s: Scenario,
  name: string,
  proto: "udp" | "tcp",
  tlsCrypt: boolean,
): Promise<number> {
  const profile = await s.pki.profile(name, "172.31.0.1:1194", { proto, tlsCrypt });
  const started = performance.now();
  const client = s.lab.startClient(s.ns[name], name, profile);
  s.clients[name] = client;
  await client.waitFor(/Initialization Sequence Completed/, 25_000);
  return Math.round(performance.now() - started);
}

/** Waits until the server has handled `n` resets from the flood (answered or rate-limited). */
function floodReached(s: Scenario, n: number): Promise<unknown> {
  const handled = (line: string) =>
    counter(line, "reset_cookies_sent") + counter(line, "drop_control_rate_limited") +
    counter(line, "drop_control_source_rate_limited");
  return until(async () => handled(await statusLine(s.server)) >= n, {
    what: `the server handling ${n} flood resets`,
    timeoutMs: 20_000,
    intervalMs: 100,
  });
}

/** Starts reset_flood.ts in mallory's namespace (tls-crypt-wrapped with the server's key when asked). */
async function startResetFlood(s: Scenario, ns: string, tlsCrypt: boolean): Promise<LoggedProcess> {
  const args = ["172.31.0.1", "1194", `${FLOOD_MS}`, `${FLOOD_RATE}`, RESET_SOURCES.join(",")];
  const flood = s.lab.spawnLogged(ns, `reset-flood-${tlsCrypt}`, [
    Deno.execPath(),
    "run",
    "-A",
    "--unstable-net",
    RESET_FLOOD,
    ...args,
    ...(tlsCrypt ? [s.pki.tlsCrypt] : []),
  ]);
  await flood.waitFor(/flooding/, 15_000);
  return flood;
}

/**
 * What left and reached mallory's host, from its kernel's counters: the generator, busy sending, does not
 * read every answer before it closes its sockets (those count as NoPorts or InErrors).
 */
async function malloryKernel(
  s: Scenario,
  ns: string,
  before: Record<string, number>,
  m: { resetBytes: number; answerSize: number },
) {
  const after = await udpCounters(s.lab, ns);
  const delta = (k: string) => after[k] - before[k];
  const arrived = delta("InDatagrams") + delta("NoPorts") + delta("InErrors");
  return {
    sent: delta("OutDatagrams"),
    arrived,
    sentBytes: delta("OutDatagrams") * m.resetBytes,
    arrivedBytes: arrived * m.answerSize,
  };
}

for (const tlsCrypt of [false, true]) {
  const kind = tlsCrypt ? "tls-crypt resets from a holder of the key" : "plain resets, no tls-auth";
  Deno.test({
    ...opts,
    name:
      `runServer() under a hard-reset flood (${kind}, ${FLOOD_RATE}/s from ${RESET_SOURCES.length} addresses) ` +
      `lets a stock openvpn client in within ${CONNECT_LIMIT_MS / 1000} s and answers each reset at most ` +
      `once, within the per-source rate`,
    fn: () =>
      runScenario(
        {
          clients: [],
          extraNames: ["alice", "bob"],
          tlsCrypt,
          server: "  network: 10.8.0.0/24\n",
          before: clientHosts,
        },
        async (s) => {
          const baselineMs = await timedConnect(s, "bob", "udp", tlsCrypt);
          const ns = await mallory(s, RESET_SOURCES);
          const udpBefore = await udpCounters(s.lab, ns);
          const lineBefore = await statusLine(s.server);
          const flood = await startResetFlood(s, ns, tlsCrypt);
          await floodReached(s, 2000);
          const connectMs = await timedConnect(s, "alice", "udp", tlsCrypt);
          assert.ok(await s.lab.pingUntil(s.ns.alice, "10.8.0.1"), "alice's tunnel carries pings");
          const m = JSON.parse((await flood.waitFor(/^\{.*\}$/m, FLOOD_MS + 30_000))[0]);
          const line = await statusLine(s.server);
          const delta0 = (name: string) => counter(line, name) - counter(lineBefore, name);
          const answered = delta0("reset_cookies_sent");
          const limited = delta0("drop_control_rate_limited") + delta0("drop_control_source_rate_limited");
          const kernel = await malloryKernel(s, ns, udpBefore, m);
          const arrived = kernel.arrived;
          const toAlice = answered - arrived;
          console.log(JSON.stringify({
            tlsCrypt,
            baselineMs,
            connectMs,
            kernel,
            mallory: m,
            bytesRatio: +(kernel.arrivedBytes / kernel.sentBytes).toFixed(3),
            perResetRatio: +(m.answerSize / m.resetBytes).toFixed(3),
            server: { answered, limited, toAlice, status: line.replace(/^.* status /, "") },
          }));
          assert.ok(
            connectMs < connectLimit(baselineMs),
            `alice connected in ${connectMs} ms (bob without the flood: ${baselineMs} ms):\n${s.clients.alice.log()}`,
          );
          assert.equal(counter(line, "clients"), 2, line);
          assert.ok(
            delta0("reset_cookies_verified") >= 1,
            `alice came in through the cookie: ${line}`,
          );
          assert.ok(toAlice >= 1 && toAlice <= 3, `answers beyond mallory's: ${toAlice} (${line})`);
          // Every reset mallory sent reached a verdict: answered once, or dropped by a rate limit (alice's
          // resets may be among the limited ones).
          assert.equal(kernel.sent, m.sent);
          assert.ok(arrived + limited <= m.sent + 3 && arrived + limited >= 0.95 * m.sent, line);
          // No amplification in packets: at most one answer per reset, never retransmitted, and no source
          // more than its burst (32) and rate (8/s) allow; every answer the fixed size of one datagram.
          assert.ok(arrived <= m.sent && m.worstSource.answers <= m.worstSource.sent);
          const perSourceCap = 32 + Math.ceil(8 * (m.ms + 1000) / 1000);
          assert.ok(m.maxAnswersPerSource <= perSourceCap, `${m.maxAnswersPerSource} answers to one source`);
          assert.equal(m.answerBytes, m.answers * m.answerSize);
          // No amplification in bytes either: an answer is exactly the size of the reset it answers (14 B
          // plain, 54 B with tls-crypt), so no source gets back more bytes than it sent.
          assert.equal(m.answerSize, m.resetBytes);
          assert.ok(kernel.arrivedBytes <= kernel.sentBytes, JSON.stringify(kernel));
          assert.ok(m.worstSource.answerBytes <= m.worstSource.sentBytes, JSON.stringify(m.worstSource));
        },
      ),
  });
}

Deno.test({
  ...opts,
  name: `runServer() over TCP with ${HALF_OPEN} half-open connections from ${HALF_OPEN_SOURCES.length} ` +
    `addresses held open lets a stock openvpn client in within ${CONNECT_LIMIT_MS / 1000} s`,
  fn: () =>
    runScenario(
      {
        clients: [],
        extraNames: ["alice", "bob"],
        proto: "tcp",
        server: "  network: 10.8.0.0/24\n",
        before: clientHosts,
      },
      async (s) => {
        const baselineMs = await timedConnect(s, "bob", "tcp", false);
        const ns = await mallory(s, HALF_OPEN_SOURCES);
        const map = HALF_OPEN_SOURCES.map((a, i) => `${i} : ${a}`).join(", ");
        const rule =
          `ip daddr 172.31.0.1 tcp dport 1194 snat to numgen inc mod ${HALF_OPEN_SOURCES.length} ` +
          `map { ${map} }`;
        await s.lab.exec(ns, ["nft", "add", "table", "ip", "mallory"]);
        await s.lab.exec(ns, [
          "nft",
          "add chain ip mallory post { type nat hook postrouting priority srcnat; policy accept; }",
        ]);
        await s.lab.exec(ns, ["nft", `add rule ip mallory post ${rule}`]);
        const flood = s.lab.spawnLogged(ns, "half-open", [
          Deno.execPath(),
          "run",
          "-A",
          "--unstable-net",
          HALF_OPEN_FLOOD,
          "172.31.0.1",
          "1194",
          `${HALF_OPEN}`,
          `${FLOOD_MS}`,
        ]);
        await flood.waitFor(new RegExp(`holding ${HALF_OPEN}`), 20_000);
        const connectMs = await timedConnect(s, "alice", "tcp", false);
        assert.ok(await s.lab.pingUntil(s.ns.alice, "10.8.0.1"), "alice's tunnel carries pings");
        const held = JSON.parse((await flood.waitFor(/^\{.*\}$/m, FLOOD_MS + 30_000))[0]);
        const line = await statusLine(s.server);
        console.log(
          JSON.stringify({ baselineMs, connectMs, mallory: held, status: line.replace(/^.* status /, "") }),
        );
        assert.ok(
          connectMs < connectLimit(baselineMs),
          `alice connected in ${connectMs} ms (bob ${baselineMs} ms)`,
        );
        assert.equal(counter(line, "clients"), 2, line);
        assert.ok(held.peakOpen >= HALF_OPEN, `mallory held ${held.peakOpen} connections at once`);
        // Spread over 64 addresses (≤ 16 each when first held); a reopened connection goes to the next address
        // in the round-robin, not to the one the server just freed, so a few land on a source still holding 16
        // and are refused: a handful, never a share of the flood. The silent ones were closed at the hello deadline.
        assert.ok(counter(line, "tcp_refused_per_source") < held.opened / 20, line);
        assert.ok(counter(line, "tcp_hello_timeouts") >= HALF_OPEN, line);
      },
    ),
});
