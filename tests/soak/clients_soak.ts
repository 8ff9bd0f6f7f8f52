/**
 * Soak: N stock openvpn 2.6 clients, each in its own namespace, against one
 * tsvpn server for a duration (issue 14: 50 clients for one hour). Every
 * client pings the server once a second for the whole run (`ping -w`), data
 * keys are renegotiated every `renegSeconds`, and every `sampleSeconds` the
 * soak records the server's RSS (/proc), the size of every table
 * `tsvpn status --json` shows (clients, routes, MACs, drop reasons, and the
 * server's own tables under `internals`), its V8 heap in use and its drop
 * total; the server runs with `--trace-gc`, which gives the V8 heap after
 * every full collection. What passes: clients_judge.ts.
 */

import { e2eIgnore } from "../e2e/support/lab.ts";
import { statusJson } from "../e2e/support/management.ts";
import { runScenario, type Scenario } from "../e2e/support/scenario.ts";
import { rss } from "../e2e/support/host_probes.ts";
import { pause } from "../../src/testing/wait.ts";
import { fullGcPoints, judge, type Sample } from "./clients_judge.ts";

export interface ClientsSoakOptions {
  clients: number;
  durationMs: number;
  sampleMs: number;
  renegSeconds: number;
  /** More V8 flags for the server (e.g. the shipped executable's). @default [] */
  serverV8Flags?: string[];
}

const MGMT = "127.0.0.1:7505";
const BATCH = 10;
/** The server's V8 flags: full collections logged, scavenges not. */
const GC_TRACE = ["--trace-gc", "--trace-gc-ignore-scavenger"];

async function sample(
  s: Scenario,
  started: number,
): Promise<{ sample: Sample; caps: Record<string, number> }> {
  const snap = await statusJson(s.lab, s.srv, MGMT);
  const internals = snap.internals;
  if (!internals) throw new Error("the server's status has no internals");
  return {
    sample: {
      atS: Math.round((performance.now() - started) / 1000),
      rssMiB: +(rss(s.server.proc.pid) / 2 ** 20).toFixed(1),
      heapUsedMiB: +(internals.memory.heapUsed / 2 ** 20).toFixed(1),
      tables: {
        clients: snap.clients.length,
        routes: snap.routes.length,
        macs: snap.macs.length,
        dropReasons: Object.values(snap.drops).filter((v) => v > 0).length,
        ...internals.tables,
      },
      drops: Object.values(snap.drops).reduce((a, b) => a + b, 0),
    },
    caps: internals.caps,
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
  const v8Flags = [...GC_TRACE, ...o.serverV8Flags ?? []];
  let result: Record<string, unknown> = {};
  await runScenario({
    clients: [],
    extraNames: names,
    server: "  network: 10.8.0.0/24\n",
    extra: [`management: { listen: "${MGMT}" }`, `data: { reneg_seconds: ${o.renegSeconds} }`],
    serverV8Flags: v8Flags,
  }, async (s) => {
    const serverUp = performance.now(); // the server started a moment before: its trace's clock starts about here
    const connectStart = performance.now();
    for (let i = 0; i < names.length; i += BATCH) {
      await s.connect(names.slice(i, i + BATCH).map((name) => ({ name })));
    }
    const connectMs = Math.round(performance.now() - connectStart);
    const started = performance.now();
    const pings = pingAll(s, names, Math.round(o.durationMs / 1000));
    const samples: Sample[] = [];
    let caps: Record<string, number> = {};
    const take = async () => {
      const got = await sample(s, started);
      samples.push(got.sample);
      caps = got.caps;
      console.log(`clients soak: ${JSON.stringify(got.sample)}`);
    };
    while (performance.now() - started < o.durationMs) {
      await take();
      const left = o.durationMs - (performance.now() - started);
      await pause(Math.max(0, Math.min(o.sampleMs, left))); // the sampling period itself, not a wait for a condition
    }
    await take();
    const [sent, received] = await pings;
    const log = s.server.log();
    const shiftS = Math.round((started - serverUp) / 1000);
    const gcs = fullGcPoints(log).map((g) => ({ atS: g.atS - shiftS, heapAfterMiB: g.heapAfterMiB }));
    console.log(`clients soak: heap after full GC ${JSON.stringify(gcs)}`);
    result = judge(samples, gcs, {
      clients: o.clients,
      durationMs: o.durationMs,
      connectMs,
      sent,
      received,
      renegotiations: renewals(log),
      caps,
    });
    result.serverV8Flags = v8Flags;
  });
  return result;
}

const renewals = (log: string) => (log.match(/data keys renewed/g) ?? []).length;
