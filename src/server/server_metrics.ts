/**
 * The server's metrics (docs/observability.md has the table): what
 * `/metrics` serves, built at each scrape from the counters the parts already
 * keep — the datapath's drops and per-peer counters (plus the totals of
 * peers gone), the control listener's drops, handshake outcomes and
 * renegotiations (handshake_tally.ts), the pool, the mesh relay — and the
 * process' own memory and CPU.
 *
 * Per-client series are labelled by certificate name and bounded: only
 * connected clients, summed per name (duplicate_cn), the first
 * `clientSeries` names in connection order; how many were left out is a gauge.
 */

import type { ControlListener } from "../control/listener.ts";
import type { Datapath } from "../datapath/datapath.ts";
import { PC_BYTES_IN, PC_BYTES_OUT, PC_PACKETS_IN, PC_PACKETS_OUT } from "../datapath/peer_table.ts";
import {
  type MetricFamily,
  type MetricSample,
  type MetricsSource,
  samplesByLabel,
} from "../ops/metric_family.ts";
import { processFamilies } from "../ops/process_metrics.ts";
import type { AddressPool } from "../pool/address_pool.ts";
import { DROP_REASON_NAMES } from "../control/drop_counters.ts";
import { VERSION } from "../version.ts";
import type { ClientRegistry } from "./client_registry.ts";
import type { HandshakeTally } from "./handshake_tally.ts";

export interface ServerMetricsSources {
  datapath: Datapath;
  listener: ControlListener;
  registry: ClientRegistry;
  handshakes: HandshakeTally;
  pool: AddressPool | null;
  /** Most certificate names with their own tsvpn_client_* series. */
  clientSeries: number;
}

export class ServerMetrics implements MetricsSource {
  readonly #s: ServerMetricsSources;

  constructor(sources: ServerMetricsSources) {
    this.#s = sources;
  }

  trafficTotals(): { bytesIn: number; bytesOut: number } {
    const peers = this.#s.datapath.peers;
    return { bytesIn: peers.total(PC_BYTES_IN), bytesOut: peers.total(PC_BYTES_OUT) };
  }

  families(): MetricFamily[] {
    return [
      ...this.#sessions(),
      ...this.#traffic(),
      ...this.#drops(),
      ...this.#clients(),
      ...this.#pool(),
      ...this.#mesh(),
      ...processFamilies(),
      gauge("tsvpn_build_info", "tsvpn version; the value is 1.", [{
        labels: { version: VERSION },
        value: 1,
      }], [
        "version",
      ]),
    ];
  }

  #sessions(): MetricFamily[] {
    const h = this.#s.handshakes;
    const failed = Object.fromEntries(h.failed);
    return [
      gauge("tsvpn_clients_connected", "Clients whose data channel is up.", [{
        value: this.#s.registry.connected().length,
      }]),
      counter(
        "tsvpn_handshakes_total",
        "Control-channel handshakes by result (ok: the first data key installed).",
        [
          { labels: { result: "ok" }, value: h.succeeded },
          { labels: { result: "failed" }, value: sum(failed) },
        ],
        ["result"],
      ),
      counter(
        "tsvpn_handshake_failures_total",
        "Handshakes that ended before a data key, by why the session ended (verify, tls, timeout, auth-failed, ...).",
        samplesByLabel("reason", failed),
        ["reason"],
      ),
      counter("tsvpn_renegotiations_total", "Data keys installed after a session's first (soft resets).", [{
        value: h.renegotiations,
      }]),
    ];
  }

  #traffic(): MetricFamily[] {
    const peers = this.#s.datapath.peers;
    const dir = (inCell: number, outCell: number) => [
      { labels: { direction: "in" }, value: peers.total(inCell) },
      { labels: { direction: "out" }, value: peers.total(outCell) },
    ];
    return [
      counter(
        "tsvpn_tunnel_bytes_total",
        "Plaintext bytes through the tunnel; in: received from clients, out: sent to clients.",
        dir(PC_BYTES_IN, PC_BYTES_OUT),
        ["direction"],
      ),
      counter(
        "tsvpn_tunnel_packets_total",
        "Plaintext packets through the tunnel; in: received from clients, out: sent to clients.",
        dir(PC_PACKETS_IN, PC_PACKETS_OUT),
        ["direction"],
      ),
    ];
  }

  #drops(): MetricFamily[] {
    const control: Record<string, number> = {};
    const counts = this.#s.listener.drops.counts;
    DROP_REASON_NAMES.forEach((name, i) => control[name] = counts[i]);
    return [
      counter(
        "tsvpn_dropped_packets_total",
        "Packets dropped, by layer (data, control) and reason.",
        [
          ...samplesByLabel("reason", this.#s.datapath.counters.dropRecord()).map((s) =>
            withLayer(s, "data")
          ),
          ...samplesByLabel("reason", control).map((s) => withLayer(s, "control")),
        ],
        ["layer", "reason"],
      ),
    ];
  }

  #clients(): MetricFamily[] {
    const peers = this.#s.datapath.peers;
    const byName = new Map<string, { bytesIn: number; bytesOut: number }>();
    let omitted = 0;
    for (const rec of this.#s.registry.connected()) {
      const name = rec.name ?? "";
      let row = byName.get(name);
      if (!row) {
        if (byName.size >= this.#s.clientSeries) {
          omitted++;
          continue;
        }
        byName.set(name, row = { bytesIn: 0, bytesOut: 0 });
      }
      row.bytesIn += peers.counter(rec.peerId, PC_BYTES_IN);
      row.bytesOut += peers.counter(rec.peerId, PC_BYTES_OUT);
    }
    const samples = [...byName].flatMap(([client, row]) => [
      { labels: { client, direction: "in" }, value: row.bytesIn },
      { labels: { client, direction: "out" }, value: row.bytesOut },
    ]);
    return [
      counter(
        "tsvpn_client_bytes_total",
        "Plaintext bytes of each connected client by certificate name (since it connected); in: from it.",
        samples,
        ["client", "direction"],
      ),
      gauge(
        "tsvpn_client_series_omitted",
        "Connected sessions without tsvpn_client_* series (metrics.client_series).",
        [
          { value: omitted },
        ],
      ),
    ];
  }

  #pool(): MetricFamily[] {
    const pool = this.#s.pool;
    if (!pool) return [];
    return [
      gauge("tsvpn_pool_addresses", "Address pool slots.", [{ value: pool.capacity }]),
      gauge("tsvpn_pool_addresses_in_use", "Address pool slots leased (dynamic and static).", [{
        value: pool.inUse,
      }]),
    ];
  }

  #mesh(): MetricFamily[] {
    const mesh = this.#s.registry.mesh;
    if (!mesh) return [];
    const status = mesh.status();
    return [
      counter(
        "tsvpn_mesh_relayed_bytes_total",
        "Client-to-client bytes the server relayed between mesh members.",
        [
          { value: status.relayedBytes },
        ],
      ),
      counter(
        "tsvpn_mesh_relayed_packets_total",
        "Client-to-client packets the server relayed between mesh members.",
        [
          { value: status.relayedPackets },
        ],
      ),
      gauge(
        "tsvpn_mesh_pairs",
        "Introduced mesh pairs by path as the members last reported it (direct or relayed).",
        this.#pairPaths(),
        ["path"],
      ),
      counter("tsvpn_mesh_events_total", "Mesh introducer events (introduced, closed, table_full, ...).", [
        ...samplesByLabel("event", status.counters),
      ], ["event"]),
    ];
  }

  /** Pairs by path, each pair counted once (from the member with the lower peer id). */
  #pairPaths(): MetricSample[] {
    const mesh = this.#s.registry.mesh!;
    const paths = { direct: 0, relayed: 0 };
    for (const rec of this.#s.registry.connected()) {
      for (const p of mesh.pairsOf(rec.peerId)) if (p.peer > (rec.name ?? "")) paths[p.path]++;
    }
    return samplesByLabel("path", paths);
  }
}

function counter(
  name: string,
  help: string,
  samples: MetricFamily["samples"],
  labelNames?: string[],
): MetricFamily {
  return { name, help, type: "counter", samples, labelNames };
}

function gauge(
  name: string,
  help: string,
  samples: MetricFamily["samples"],
  labelNames?: string[],
): MetricFamily {
  return { name, help, type: "gauge", samples, labelNames };
}

function withLayer(s: MetricSample, layer: string): MetricSample {
  return { labels: { layer, ...s.labels }, value: s.value };
}

function sum(record: Record<string, number>): number {
  return Object.values(record).reduce((a, b) => a + b, 0);
}
