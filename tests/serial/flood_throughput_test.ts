/**
 * Tunnel throughput under a junk flood (issue 14), measured on real kernels
 * in namespaces (tests/e2e/support/flood_rounds.ts): alice's stock openvpn
 * client runs iperf3 through a tsvpn server while mallory sends 100 000 random
 * datagrams per second.
 *
 * Timing-sensitive, so it is in tests/serial/: `deno task test` runs this
 * folder alone after the parallel suite, never beside other tests.
 *
 * Why the baseline is the same flood at a closed port of the server's host:
 * the generator and the kernel's forwarding of its datagrams take ~0.5 of a
 * core of the 2 this rig shares with the tunnel (docs/reliability.md, "Junk
 * flood"); in a real attack they are on the attacker's machine and the
 * network's. Flooding a closed port charges that cost to the baseline too, so
 * the ratio is what tsvpn's handling of the junk costs the tunnel. Paired
 * rounds (the three runs of a round back to back, their order rotating) and
 * the median of the per-round ratios keep one slow iperf run (they swing 2x
 * on a busy host) from deciding the result. The ratio to the runs without any
 * flood (the wording) must be ≥ 70% as well; it includes the
 * generator's and the kernel's share.
 *
 * The test measures only on a host that is otherwise idle: when other
 * programs keep BUSY_HOST_CORES or more busy in every second of the
 * SETTLE_SECONDS before it is registered, it is ignored and says so. On a saturated host the server gets a fair share of a
 * core, its ~1 µs per junk datagram then comes out of the tunnel's share, and
 * the ratio falls to 0.6–0.85 (docs/reliability.md, "Junk flood", with the
 * figures); that measures the neighbours. TSVPN_FLOOD_THROUGHPUT=1 runs it
 * anyway.
 */

import assert from "node:assert/strict";
import { e2eIgnore } from "../e2e/support/lab.ts";
import { statusJson } from "../e2e/support/management.ts";
import {
  type FloodKind,
  floodRig,
  type FloodRun,
  hostBusyCores,
  MGMT,
  runFloodRound,
} from "../e2e/support/flood_rounds.ts";
import { withPair } from "../e2e/support/pair.ts";

const ROUNDS = 5;
const IPERF_SECONDS = 4;
const JUNK_RATE = 100_000;
/** Enough junk to outlast each run: iperf's omitted first second, its IPERF_SECONDS, ~2 s of start-up. */
const JUNK_COUNT = JUNK_RATE * (IPERF_SECONDS + 3);
const MIN_RATIO = 0.7;
/** Cores other programs may keep busy for the measurement to run (of this 2-core host's 2). */
const BUSY_HOST_CORES = 0.5;
const FORCED = Deno.env.get("TSVPN_FLOOD_THROUGHPUT") === "1";
/** Seconds the host gets to settle (the parallel suite's namespaces are still being torn down by the kernel). */
const SETTLE_SECONDS = 10;
/** Why the measurement cannot mean anything here, or null: the host stayed busy for SETTLE_SECONDS. */
function hostTooBusy(): string | null {
  if (FORCED || e2eIgnore()) return null;
  let least = Infinity;
  for (let i = 0; i < SETTLE_SECONDS; i++) {
    least = Math.min(least, hostBusyCores(1000));
    if (least < BUSY_HOST_CORES) return null;
  }
  return `other programs kept ≥ ${least} cores busy for ${SETTLE_SECONDS} s (limit ${BUSY_HOST_CORES})`;
}
const TOO_BUSY = hostTooBusy();

/** The middle value (the mean of the middle two for an even count). */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const runOf = (round: FloodRun[], kind: FloodKind) => round.find((x) => x.kind === kind)!;

Deno.test({
  name:
    "runServer() keeps ≥ 70% of a tunnel's TCP throughput while 100 000 random datagrams/s flood its port: " +
    "median of 5 paired rounds against the same flood at a closed port of its host and against no flood" +
    (TOO_BUSY ? ` (ignored: ${TOO_BUSY}; TSVPN_FLOOD_THROUGHPUT=1 runs it)` : ""),
  ignore: e2eIgnore() || TOO_BUSY !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withPair(async (r) => {
      const f = await floodRig(r);
      const dropsBefore = (await statusJson(r.lab, r.srv, MGMT)).drops;
      const rounds: FloodRun[][] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const o = { seconds: IPERF_SECONDS, count: JUNK_COUNT, rate: JUNK_RATE, round, dropCounters: false };
        rounds.push(await runFloodRound(r, f, o));
      }
      const dropsAfter = (await statusJson(r.lab, r.srv, MGMT)).drops;
      const mbit = (kind: FloodKind) => rounds.map((x) => runOf(x, kind).mbit);
      const paired = rounds.map((x) =>
        +(runOf(x, "serverPort").mbit / runOf(x, "closedPort").mbit).toFixed(2)
      );
      const ratio = median(paired);
      const pairedToQuiet = rounds.map((x) =>
        +(runOf(x, "serverPort").mbit / runOf(x, "quiet").mbit).toFixed(2)
      );
      const ratioToQuiet = median(pairedToQuiet);
      const flooded = rounds.map((x) => runOf(x, "serverPort"));
      const closed = rounds.map((x) => runOf(x, "closedPort"));
      const sentToServer = flooded.reduce((a, x) => a + x.junk!.sent, 0);
      const socketDrops = flooded.reduce((a, x) => a + x.socketDrops, 0);
      const counted = Object.entries(dropsAfter)
        .filter(([k]) => k !== "multicast_in_tun")
        .reduce((a, [k, v]) => a + v - (dropsBefore[k] ?? 0), 0);
      console.log(JSON.stringify({
        ratio,
        pairedRatios: paired,
        ratioToQuiet,
        pairedToQuiet,
        mbit: { quiet: mbit("quiet"), closedPort: mbit("closedPort"), serverPort: mbit("serverPort") },
        junkRates: flooded.map((x) => x.junk!.rate),
        serverSocketDrops: socketDrops,
        countedByServer: counted,
        rounds,
      }));
      // The floods really happened: at the rate, the closed port's junk dropped by the kernel, the
      // server's junk read and counted by reason (all of it but what its socket's queue dropped).
      assert.ok(median(flooded.map((x) => x.junk!.rate)) >= 0.9 * JUNK_RATE, "the generator kept the rate");
      assert.ok(
        closed.every((x) => x.noPorts > 0.5 * x.junk!.sent),
        "the closed port's junk reached the host",
      );
      assert.ok(counted >= sentToServer - socketDrops && counted <= sentToServer, `${counted} counted`);
      // The server kept up: its socket's queue overflowed for under 1% of the junk (0 in every run measured;
      // 0.4% with pacing off), so what it did not count by reason is a sliver.
      assert.ok(
        socketDrops < 0.01 * sentToServer,
        `the server's socket dropped ${socketDrops} of ${sentToServer}`,
      );
      assert.ok(
        ratio >= MIN_RATIO,
        `median of the paired ratios ${ratio} (${paired.join(", ")}) is below ${MIN_RATIO}`,
      );
      // The issue's own wording: ≥ 70% of the same run without any flood. On this rig that ratio also pays
      // for the generator and the kernel's delivery of its datagrams (about half a core of the two).
      assert.ok(
        ratioToQuiet >= MIN_RATIO,
        `median ratio to the runs without a flood ${ratioToQuiet} (${
          pairedToQuiet.join(", ")
        }) is below ${MIN_RATIO}`,
      );
    }),
});
