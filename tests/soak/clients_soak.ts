/**
 * Soak: N stock openvpn 2.6 clients, each in its own namespace, against one
 * tsvpn server for a duration (issue 14: 50 clients for one hour). Every
 * client pings the server once a second for the whole run (`ping -w`), data
 * keys are renegotiated every `renegSeconds`, and every `sampleSeconds` the
 * soak records the server's RSS (/proc) and the size of every table
 * `tsvpn status --json` shows (clients, routes, MACs, drop reasons) plus its
 * drop total.
 *
 * Pass: every client stays connected, the server's RSS at the end is within
 * 10% of its RSS after the warm-up (the largest sample of the first 10% of
 * the run, at least the first two), no table grows after the warm-up, and
 * the pings lose at most 1%.
 */

import { e2eIgnore } from "../e2e/support/lab.ts";
import { statusJson } from "../e2e/support/management.ts";
import { runScenario, type Scenario } from "../e2e/support/scenario.ts";
import { rss } from "../e2e/support/host_probes.ts";
import { pause } from "../../src/testing/wait.ts";

export interface ClientsSoakOptions {
  clients: number;
  durationMs: number;
  sampleMs: number;
  renegSeconds: number;
}

interface Sample {
  atS: number;
  rssMiB: number;
  tables: Record<string, number>;
  drops: number;
}

const MGMT = "127.0.0.1:7505";
const BATCH = 10;
const RSS_DRIFT_LIMIT = 0.1;
const PING_LOSS_LIMIT = 0.01;

async function sample(s: Scenario, started: number): Promise<Sample> {
  const snap = await statusJson(s.lab, s.srv, MGMT);
  return {
    atS: Math.round((performance.now() - started) / 1000),
    rssMiB: +(rss(s.server.proc.pid) / 2 ** 20).toFixed(1),
    tables: {
      clients: snap.clients.length,
      routes: snap.routes.length,
      macs: snap.macs.length,
      dropReasons: Object.values(snap.drops).filter((v) => v > 0).length,
    },
    drops: Object.values(snap.drops).reduce((a, b) => a + b, 0),
  };
}

/** Starts `ping -w` from every client to the server; resolves to [sent, received] summed over all. */
function pingAll(s: Scenario, names: string[], seconds: number): Promise<[number, number]> {
  const runs = names.map(async (n) => {
    const r = await s.lab.lab.exec(s.ns[n], ["ping", "-q", "-i", "1", "-w", `${seconds}`, "10.8.0.1"], {
      check: false,
      timeoutMs: (seconds + 30) * 1000,
    });
    const m = r.stdout.match(/(\d+) packets transmitted, (\d+) received/);
    return m ? [Number(m[1]), Number(m[2])] as const : [0, 0] as const;
  });
  return Promise.all(runs).then((all) =>
    all.reduce<[number, number]>(([a, b], [c, d]) => [a + c, b + d], [0, 0])
  );
}

export async function runClientsSoak(o: ClientsSoakOptions): Promise<Record<string, unknown>> {
  if (e2eIgnore()) throw new Error("the clients soak needs root, /dev/net/tun and openvpn");
  const names = Array.from({ length: o.clients }, (_, i) => `c${i + 1}`);
  let result: Record<string, unknown> = {};
  await runScenario({
    clients: [],
    extraNames: names,
    server: "  network: 10.8.0.0/24\n",
    extra: [`management: { listen: "${MGMT}" }`, `data: { reneg_seconds: ${o.renegSeconds} }`],
  }, async (s) => {
    const connectStart = performance.now();
    for (let i = 0; i < names.length; i += BATCH) {
      await s.connect(names.slice(i, i + BATCH).map((name) => ({ name })));
    }
    const connectMs = Math.round(performance.now() - connectStart);
    const started = performance.now();
    const pings = pingAll(s, names, Math.round(o.durationMs / 1000));
    const samples: Sample[] = [];
    while (performance.now() - started < o.durationMs) {
      samples.push(await sample(s, started));
      console.log(`clients soak: ${JSON.stringify(samples.at(-1))}`);
      const left = o.durationMs - (performance.now() - started);
      await pause(Math.max(0, Math.min(o.sampleMs, left))); // the sampling period itself, not a wait for a condition
    }
    samples.push(await sample(s, started));
    const [sent, received] = await pings;
    result = judge(o, samples, { connectMs, sent, received, renegotiations: renewals(s.server.log()) });
  });
  return result;
}

const renewals = (log: string) => (log.match(/data keys renewed/g) ?? []).length;

function judge(
  o: ClientsSoakOptions,
  samples: Sample[],
  extra: { connectMs: number; sent: number; received: number; renegotiations: number },
): Record<string, unknown> {
  const warmUpMs = o.durationMs / 10;
  const warm = samples.filter((x, i) => i < 2 || x.atS * 1000 <= warmUpMs);
  const base = Math.max(...warm.map((x) => x.rssMiB));
  const last = samples.at(-1)!;
  const drift = (last.rssMiB - base) / base;
  const settled = samples[warm.length - 1];
  const grown = Object.keys(last.tables).filter((k) =>
    samples.slice(warm.length).some((x) => x.tables[k] > settled.tables[k])
  );
  const loss = extra.sent === 0 ? 1 : 1 - extra.received / extra.sent;
  const failures: string[] = [];
  if (samples.some((x) => x.tables.clients !== o.clients)) {
    failures.push("a client was not connected at a sample");
  }
  if (drift > RSS_DRIFT_LIMIT) failures.push(`RSS drift ${(drift * 100).toFixed(1)}% > 10%`);
  if (grown.length > 0) failures.push(`tables grew after the warm-up: ${grown.join(", ")}`);
  if (loss > PING_LOSS_LIMIT) failures.push(`ping loss ${(loss * 100).toFixed(2)}%`);
  return {
    piece: "clients",
    ok: failures.length === 0,
    failures,
    clients: o.clients,
    durationS: Math.round(o.durationMs / 1000),
    connectAllMs: extra.connectMs,
    rssMiB: {
      warm: base,
      end: last.rssMiB,
      min: Math.min(...samples.map((x) => x.rssMiB)),
      max: Math.max(...samples.map((x) => x.rssMiB)),
    },
    rssDriftPercent: +(drift * 100).toFixed(1),
    tables: { start: samples[0].tables, end: last.tables },
    pings: { sent: extra.sent, received: extra.received, lossPercent: +(loss * 100).toFixed(2) },
    renegotiations: extra.renegotiations,
    drops: last.drops,
    samples: samples.length,
  };
}
