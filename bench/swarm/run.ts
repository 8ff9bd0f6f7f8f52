/**
 * `deno task bench:swarm`: N emulated OpenVPN clients from one process
 * against a tsvpn server, then against a stock openvpn 2.6 server with the
 * equivalent configuration (servers.ts), in namespaces this run creates and
 * removes. Root only. Prints a table per server and one `swarm:` line each.
 *
 *   deno task bench:swarm --clients 2000 --ping 100 [--rate 300] [--only tsvpn] [--json out.json] [--workers W]
 */

import { parseArgs } from "node:util";
import { requireRoot } from "../../tests/harness/netns.ts";
import { openSwarmPki } from "./pki.ts";
import { addressCount, type GeneratorPlan } from "./plan.ts";
import { formatSummaryLine, formatTable, type ServerRow } from "./report.ts";
import {
  CIPHER,
  GENERATOR_PREFIX,
  KEEPALIVE,
  SERVER_PORT,
  SERVER_UNDERLAY,
  type ServerKind,
  startServer,
  TUNNEL_ADDRESS,
} from "./servers.ts";
import { SwarmLab } from "./swarm_lab.ts";

/**
 * Source addresses by default: the server keeps an ARP entry per address, and the kernel's neighbour table
 * (shared by every namespace; gc_thresh2 = 512 by default) starts evicting live entries past 512.
 */
const MAX_ADDRESSES = 256;

const USAGE = "usage: deno task bench:swarm [--clients N] [--rate R] [--ping K] [--inflight M] " +
  "[--only tsvpn|openvpn] [--json FILE] [--pki-dir DIR] [--fresh-pki] [--hold S] [--per-address P] [--workers W]";

export interface SwarmOptions {
  clients: number;
  rate: number;
  ping: number;
  inflight: number;
  only: ServerKind | null;
  json: string | null;
  pkiDir: string;
  freshPki: boolean;
  holdSeconds: number;
  clientsPerAddress: number;
  /** Deno Workers in the generator (default: one per core). */
  workers: number;
}

function positive(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`--${name}: expected a whole number ≥ ${min}, got "${text}"`);
  }
  return n;
}

export function parseSwarmArgs(args: string[]): SwarmOptions {
  const { values } = parseArgs({
    args,
    options: {
      clients: { type: "string" },
      rate: { type: "string" },
      ping: { type: "string" },
      inflight: { type: "string" },
      only: { type: "string" },
      json: { type: "string" },
      "pki-dir": { type: "string" },
      "fresh-pki": { type: "boolean" },
      hold: { type: "string" },
      "per-address": { type: "string" },
      workers: { type: "string" },
    },
  });
  const only = values.only ?? null;
  if (only !== null && only !== "tsvpn" && only !== "openvpn") {
    throw new Error(`--only: expected tsvpn or openvpn, got "${only}"`);
  }
  const clients = positive("clients", values.clients, 1000);
  return {
    clients,
    rate: positive("rate", values.rate, 0, 0),
    ping: Math.min(clients, positive("ping", values.ping, 100, 0)),
    inflight: positive("inflight", values.inflight, 64),
    only,
    json: values.json ?? null,
    pkiDir: values["pki-dir"] ?? "/var/tmp/tsvpn-swarm-pki",
    freshPki: values["fresh-pki"] ?? false,
    holdSeconds: positive("hold", values.hold, 3, 0),
    clientsPerAddress: positive("per-address", values["per-address"], Math.ceil(clients / MAX_ADDRESSES)),
    workers: positive("workers", values.workers, navigator.hardwareConcurrency),
  };
}

export function generatorPlan(o: SwarmOptions): GeneratorPlan {
  return {
    pkiDir: o.pkiDir,
    clients: o.clients,
    rate: o.rate,
    inflight: o.inflight,
    ping: o.ping,
    server: { hostname: SERVER_UNDERLAY, port: SERVER_PORT, tunnelAddress: TUNNEL_ADDRESS },
    ciphers: [CIPHER],
    handshakeTimeoutMs: 60_000,
    keepaliveSeconds: KEEPALIVE.interval,
    holdSeconds: o.holdSeconds,
    sourcePrefix: GENERATOR_PREFIX,
    clientsPerAddress: o.clientsPerAddress,
    firstPort: 20000,
    workers: o.workers,
  };
}

async function main(): Promise<number> {
  let o: SwarmOptions;
  try {
    o = parseSwarmArgs(Deno.args);
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const root = requireRoot();
  if (root.ignore) {
    console.error(`bench:swarm ${root.reason}`);
    return 2;
  }
  if (o.freshPki) await Deno.remove(o.pkiDir, { recursive: true }).catch(() => {});
  const pki = await openSwarmPki(o.pkiDir, o.clients, (l) => console.error(l));
  const plan = generatorPlan(o);
  const dir = await Deno.makeTempDir({ prefix: "tsvpn-swarm-" });
  const rows: ServerRow[] = [];
  await using lab = new SwarmLab(dir);
  await lab.init(addressCount(plan));
  const kinds: ServerKind[] = o.only ? [o.only] : ["tsvpn", "openvpn"];
  for (const kind of kinds) {
    console.error(`swarm: ${o.clients} clients against ${kind} (logs in ${dir})`);
    const server = await startServer(kind, lab.lab, lab.server, dir, pki, o.clients);
    try {
      const run = await lab.run(server, plan, (l) => console.error(`  ${kind} ${l}`));
      rows.push({ kind, description: server.description, ...run });
    } finally {
      await server.stop();
    }
  }
  console.log(formatTable(rows, o));
  for (const row of rows) console.log(formatSummaryLine(row));
  if (o.json) {
    const host = { loadavg: Deno.loadavg(), cpus: navigator.hardwareConcurrency };
    await Deno.writeTextFile(o.json, JSON.stringify({ options: o, host, rows }, null, 2) + "\n");
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  return 0;
}

if (import.meta.main) Deno.exit(await main());
