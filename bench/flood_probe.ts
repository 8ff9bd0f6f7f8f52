/**
 * Where a tunnel's throughput goes under a junk flood (root; namespaces on
 * the e2e switch, tests/e2e/support/lab.ts):
 *
 *   deno run -A --unstable-net bench/flood_probe.ts [--rounds K] [--seconds S] [--count N] [--rate R]
 *   (N defaults to R × (S + 3), so the flood outlasts each iperf run and its omitted first second)
 *
 * The rig of tests/e2e/faults_test.ts: a tsvpn server (tls-crypt) in "srv",
 * alice's stock openvpn client in "cli", "mallory" flooding. K rounds of
 * three `iperf3 -t S` runs through alice's tunnel, in turn: no flood, N junk
 * datagrams at R/s to a closed port of the server's host (the kernel drops
 * them), the same at the server's port. Per run, one JSON line with what
 * each party spent: Mbit/s and TCP retransmits; CPU seconds of the server,
 * the openvpn client and the generator; the host's busy and softirq cores;
 * the srv namespace's UDP counters (RcvbufErrors, NoPorts) and the server
 * socket's own drop count (/proc/net/udp); the server's drop counters.
 */

import { parseArgs } from "node:util";
import { floodRig, type FloodRun, runFloodRound } from "../tests/e2e/support/flood_rounds.ts";
import { withPair } from "../tests/e2e/support/pair.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "4" },
    count: { type: "string" },
    rate: { type: "string", default: "100000" },
  },
});

await withPair(async (r) => {
  const f = await floodRig(r);
  const runs: FloodRun[] = [];
  for (let round = 1; round <= Number(args.values.rounds); round++) {
    const done = await runFloodRound(r, f, {
      seconds: Number(args.values.seconds),
      count: Number(args.values.count ?? Number(args.values.rate) * (Number(args.values.seconds) + 3)),
      rate: Number(args.values.rate),
      round,
    });
    for (const run of done) console.log(JSON.stringify({ round, ...run }));
    runs.push(...done);
  }
});
