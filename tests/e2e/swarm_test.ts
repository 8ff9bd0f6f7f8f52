/**
 * The swarm generator (bench/swarm, `deno task bench:swarm`) in CI size: 100
 * emulated clients, each with its own certificate, source address and port,
 * connect to a real tsvpn server in a namespace, get their pushed addresses,
 * and echo requests sent inside 25 random tunnels to the server's tunnel
 * address come back, with the clients split over two generator workers.
 * Keeps the bench from rotting; figures are not asserted.
 */

import assert from "node:assert/strict";
import { openSwarmPki } from "../../bench/swarm/pki.ts";
import { generatorPlan, parseSwarmArgs } from "../../bench/swarm/run.ts";
import { addressCount } from "../../bench/swarm/plan.ts";
import { startServer } from "../../bench/swarm/servers.ts";
import { SwarmLab } from "../../bench/swarm/swarm_lab.ts";
import { e2eIgnore } from "./support/lab.ts";

const CLIENTS = 100;
const PINGED = 25;
/** Client i runs in worker i % WORKERS: every worker's clients must connect and answer. */
const WORKERS = 2;

Deno.test({
  name: "swarm: 100 emulated clients connect to one tsvpn server and pings through 25 tunnels answer",
  ignore: e2eIgnore(),
  sanitizeResources: false,
  sanitizeOps: false,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn-swarm-e2e-" });
  try {
    const args = `--clients ${CLIENTS} --ping ${PINGED} --hold 0 --workers ${WORKERS}`;
    const options = parseSwarmArgs(args.split(" "));
    const plan = { ...generatorPlan(options), pkiDir: `${dir}/pki` };
    const pki = await openSwarmPki(plan.pkiDir, CLIENTS);
    await using lab = new SwarmLab(dir);
    await lab.init(addressCount(plan));
    const server = await startServer("tsvpn", lab.lab, lab.server, dir, pki, CLIENTS);
    try {
      const { result, server: figures } = await lab.run(server, plan);
      const why = JSON.stringify(result.failures);
      assert.equal(result.workers, WORKERS, "generator workers");
      assert.equal(result.connected, CLIENTS, `clients connected (failures: ${why})`);
      assert.equal(result.upAtEnd, CLIENTS, "clients still up when the pings started");
      assert.equal(result.pinged, PINGED);
      assert.equal(result.pingsAnswered, PINGED, "tunnels whose echo request got a reply");
      assert.ok(figures.survived, "the server is still running");
      assert.ok(figures.rssConnectedMib > 0, "the server's RSS was sampled");
    } finally {
      await server.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
