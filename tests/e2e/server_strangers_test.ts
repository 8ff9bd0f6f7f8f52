/**
 * End-to-end: the tsvpn server against strangers, with stock openvpn 2.6
 * clients still getting in. A "mallory" namespace on the lab segment floods
 * the server (support/stranger_flood.ts): UDP hard resets from its 31
 * addresses that never answer, or TCP connections that never speak. The
 * server's counters come from its SIGUSR2 status line.
 *
 *   mallory 172.31.0.50-.80 ──┐
 *   alice   172.31.0.11 ──────┼── sw ── srv 172.31.0.1 (tsvpn, udp/tcp 1194)
 */

import assert from "node:assert/strict";
import { pause, until } from "../../src/testing/wait.ts";
import { e2eIgnore, ROOT } from "./support/lab.ts";
import { runScenario, type Scenario } from "./support/scenario.ts";

const opts = { ignore: e2eIgnore(), sanitizeResources: false, sanitizeOps: false };
const FLOOD = `${ROOT}tests/e2e/support/stranger_flood.ts`;
const MALLORY = Array.from({ length: 31 }, (_, i) => `172.31.0.${50 + i}`);

async function status(s: Scenario): Promise<string> {
  const before = (s.server.log().match(/ status /g) ?? []).length;
  s.server.proc.kill("SIGUSR2");
  const statusLines = () => s.server.log().split("\n").filter((l) => / status /.test(l));
  await until(() => statusLines().length > before, { what: "a status line after SIGUSR2", timeoutMs: 2000 });
  return statusLines().at(-1)!;
}

function counter(line: string, name: string): number {
  const m = line.match(new RegExp(`\\b${name}=(\\d+)`));
  return m ? Number(m[1]) : 0;
}

/** Adds mallory's namespace with all its addresses; returns it. */
async function mallory(s: Scenario): Promise<string> {
  const ns = await s.lab.host("mallory", `${MALLORY[0]}/24`);
  for (const a of MALLORY.slice(1)) await s.lab.exec(ns, ["ip", "addr", "add", `${a}/24`, "dev", "eth0"]);
  return ns;
}

// deno-lint-ignore no-explicit-any
async function flood(s: Scenario, ns: string, args: string[]): Promise<Record<string, any>> {
  const r = await s.lab.exec(ns, [Deno.execPath(), "run", "-A", "--unstable-net", FLOOD, ...args]);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

for (const tlsCrypt of [false, true]) {
  Deno.test({
    ...opts,
    name: `runServer() over UDP${
      tlsCrypt ? " with tls-crypt" : ""
    } answers never-answering resets statelessly (or not at all) and lets a stock openvpn client in through the reset cookie`,
    fn: () =>
      runScenario(
        { clients: [], extraNames: ["alice"], tlsCrypt, server: "  network: 10.8.0.0/24\n" },
        async (s) => {
          const ns = await mallory(s);
          // 300 resets from 30 addresses (10 each, within every per-source burst), then 100 from another one.
          const spread = await flood(s, ns, [
            "udp-resets",
            "172.31.0.1",
            "1194",
            "300",
            MALLORY.slice(1).join(","),
          ]);
          const single = await flood(s, ns, ["udp-resets", "172.31.0.1", "1194", "100", MALLORY[0]]);
          await s.connect([{ name: "alice" }]);
          assert.ok(await s.lab.pingUntil(s.ns.alice, "10.8.0.1"), "alice's tunnel carries pings");
          const line = await status(s);
          assert.equal(counter(line, "clients"), 1, line);
          assert.ok(
            counter(line, "reset_cookies_verified") >= 1,
            `alice came in through the cookie: ${line}`,
          );
          if (tlsCrypt) {
            // Without the key mallory's resets are not even answered.
            assert.equal(spread.answers + single.answers, 0);
            assert.ok(counter(line, "drop_control_malformed") >= 400, line);
          } else {
            assert.equal(spread.answers, 300, "one answer per reset, none retransmitted");
            // No amplification in bytes: each answer is the size of the reset it answers (14 B).
            assert.equal(spread.answerBytes, spread.sentBytes);
            assert.ok(
              single.answers >= 32 && single.answers <= 40,
              `one address: its burst of 32, then 8/s: ${JSON.stringify(single)}`,
            );
            assert.ok(counter(line, "drop_control_source_rate_limited") >= 60, line);
            // Every answer went to mallory except alice's (one per reset she sent).
            const toAlice = counter(line, "reset_cookies_sent") - spread.answers - single.answers;
            assert.ok(toAlice >= 1 && toAlice <= 3, line);
          }
          console.log(JSON.stringify({ tlsCrypt, spread, single, status: line.replace(/^.* status /, "") }));
        },
      ),
  });
}

Deno.test({
  ...opts,
  name:
    "runServer() over TCP refuses connections past 16 per source, closes silent ones after 5 s, and a stock openvpn client still connects",
  fn: () =>
    runScenario(
      { clients: [], extraNames: ["alice"], proto: "tcp", server: "  network: 10.8.0.0/24\n" },
      async (s) => {
        const ns = await mallory(s);
        const held = flood(s, ns, ["tcp-hold", "172.31.0.1", "1194", "40", "9000"]);
        await pause(500); // scenario timing: mallory's connections are open before alice dials
        await s.connect([{ name: "alice", proto: "tcp" }]);
        assert.ok(await s.lab.pingUntil(s.ns.alice, "10.8.0.1"), "alice's tunnel carries pings");
        const r = await held;
        const refused = r.closedAfterMs.filter((ms: number) => ms < 1000).length;
        const timedOut = r.closedAfterMs.filter((ms: number) => ms >= 4500 && ms < 8000).length;
        assert.equal(refused, 24, `closed on accept: ${JSON.stringify(r)}`);
        assert.equal(timedOut, 16, `closed by the hello deadline: ${JSON.stringify(r)}`);
        assert.equal(r.open, 0);
        const line = await status(s);
        assert.equal(counter(line, "clients"), 1, line);
        assert.equal(counter(line, "tcp_refused_per_source"), 24, line);
        assert.equal(counter(line, "tcp_hello_timeouts"), 16, line);
        console.log(JSON.stringify({ tcpHold: r, status: line.replace(/^.* status /, "") }));
      },
    ),
});
