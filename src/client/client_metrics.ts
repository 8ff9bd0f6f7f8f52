/**
 * The client's metrics (`metrics.listen`, docs/observability.md): whether the
 * tunnel is up, connections made and how they ended, plaintext traffic both
 * ways (totals survive reconnects), data-channel drops, the mesh's direct-path
 * bytes, and the process' memory and CPU.
 */

import type { ClientConfig } from "../config/schema.ts";
import type { Datapath } from "../datapath/datapath.ts";
import { firstLine } from "../log/first_line.ts";
import type { Logger } from "../log/log.ts";
import { PC_BYTES_IN, PC_BYTES_OUT, PC_PACKETS_IN, PC_PACKETS_OUT } from "../datapath/peer_table.ts";
import { MS_BYTES_IN, MS_BYTES_OUT } from "../mesh/direct_path.ts";
import { type MetricFamily, type MetricsSource, samplesByLabel } from "../ops/metric_family.ts";
import { type MetricsHttp, startMetricsHttp } from "../ops/metrics_http.ts";
import { processFamilies } from "../ops/process_metrics.ts";
import { ClientMesh } from "./client_mesh.ts";
import type { ConnectionEnd } from "./connection.ts";

/** What the metrics read from a running client (MeteredClient). */
export interface MeteredClient {
  readonly status: { readonly state: string; readonly connects: number };
  readonly datapath: Datapath | null;
  readonly done: Promise<number>;
  on(event: "disconnected", fn: (e: ConnectionEnd) => void): unknown;
  stop(reason: string): void;
}

export class ClientMetrics implements MetricsSource {
  readonly #handle: MeteredClient;
  readonly #ends = new Map<string, number>();

  constructor(handle: MeteredClient) {
    this.#handle = handle;
    handle.on("disconnected", (e) => this.#ends.set(e.kind, (this.#ends.get(e.kind) ?? 0) + 1));
  }

  trafficTotals(): { bytesIn: number; bytesOut: number } {
    const peers = this.#handle.datapath?.peers;
    return { bytesIn: peers?.total(PC_BYTES_IN) ?? 0, bytesOut: peers?.total(PC_BYTES_OUT) ?? 0 };
  }

  families(): MetricFamily[] {
    const status = this.#handle.status;
    const dp = this.#handle.datapath;
    return [
      gauge(
        "tsvpn_connected",
        "1 while the tunnel to the server is up.",
        status.state === "connected" ? 1 : 0,
      ),
      {
        name: "tsvpn_connections_total",
        help: "Connections to a server that got a working tunnel.",
        type: "counter",
        samples: [{ value: status.connects }],
      },
      {
        name: "tsvpn_connection_ends_total",
        help: "Connection attempts and connections that ended, by kind (failed, lost, server-restart, ...).",
        type: "counter",
        labelNames: ["kind"],
        samples: samplesByLabel("kind", Object.fromEntries(this.#ends)),
      },
      ...(dp ? traffic(dp) : []),
      ...processFamilies(),
    ];
  }
}

function traffic(dp: Datapath): MetricFamily[] {
  const peers = dp.peers;
  const dir = (inCell: number, outCell: number) => [
    { labels: { direction: "in" }, value: peers.total(inCell) },
    { labels: { direction: "out" }, value: peers.total(outCell) },
  ];
  const families: MetricFamily[] = [
    {
      name: "tsvpn_tunnel_bytes_total",
      help: "Plaintext bytes through the tunnel to the server; in: received from it, out: sent to it.",
      type: "counter",
      labelNames: ["direction"],
      samples: dir(PC_BYTES_IN, PC_BYTES_OUT),
    },
    {
      name: "tsvpn_tunnel_packets_total",
      help: "Plaintext packets through the tunnel to the server; in: received from it, out: sent to it.",
      type: "counter",
      labelNames: ["direction"],
      samples: dir(PC_PACKETS_IN, PC_PACKETS_OUT),
    },
    {
      name: "tsvpn_dropped_packets_total",
      help: "Packets dropped, by layer and reason.",
      type: "counter",
      labelNames: ["layer", "reason"],
      samples: Object.entries(dp.counters.dropRecord()).map(([reason, value]) => ({
        labels: { layer: "data", reason },
        value,
      })),
    },
  ];
  const mesh = ClientMesh.of(dp);
  if (mesh) {
    const stats = mesh.agent.direct.stats;
    families.push({
      name: "tsvpn_mesh_direct_bytes_total",
      help:
        "Bytes on direct mesh paths to other clients (this connection); relayed bytes are counted by the server.",
      type: "counter",
      labelNames: ["direction"],
      samples: [
        { labels: { direction: "in" }, value: stats[MS_BYTES_IN] },
        { labels: { direction: "out" }, value: stats[MS_BYTES_OUT] },
      ],
    });
  }
  return families;
}

function gauge(name: string, help: string, value: number): MetricFamily {
  return { name, help, type: "gauge", samples: [{ value }] };
}

/**
 * Serves `config.metrics` (if any) for `handle` until the client is done; the
 * promise settles once the listener is closed (a SIGHUP restart binds the port
 * again after it). Null, with the reason logged and the client told to stop,
 * when it cannot listen.
 */
export function serveClientMetrics(
  config: ClientConfig,
  handle: MeteredClient,
  log: Logger,
): Promise<void> | null {
  const m = config.metrics;
  if (!m) return Promise.resolve();
  let http: MetricsHttp;
  try {
    http = startMetricsHttp({
      host: m.listen.host,
      port: m.listen.port,
      source: new ClientMetrics(handle),
      log: log.child("metrics"),
    });
  } catch (e) {
    log.error(
      `client could not start: metrics listener on ${m.listen.host}:${m.listen.port}: ${firstLine(e)}`,
    );
    handle.stop("metrics listener failed");
    return null;
  }
  return handle.done.then(() => http.close(), () => http.close());
}
