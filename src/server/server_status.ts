/**
 * What the server reports about itself: the snapshot the management
 * interface and the status file format (src/ops/server_control.ts), and the
 * status log lines (SIGUSR2, and at stop): the client count, the drop
 * counters and the statistics that are not zero, then each client and route.
 */

import { formatIpv4, formatIpv6 } from "../addr/ip.ts";
import { formatMac } from "../addr/mac.ts";
import type { ServerConfig } from "../config/schema.ts";
import type { ControlListener } from "../control/listener.ts";
import type { Datapath } from "../datapath/datapath.ts";
import { PC_BYTES_IN, PC_BYTES_OUT, PC_PACKETS_IN, PC_PACKETS_OUT } from "../datapath/peer_table.ts";
import type { Logger } from "../log/log.ts";
import type {
  ClientSnapshot,
  InternalsSnapshot,
  MacSnapshot,
  MemorySnapshot,
  RouteSnapshot,
  ServerSnapshot,
} from "../ops/server_control.ts";
import { VERSION } from "../version.ts";
import type { ClientRecord } from "./client_record.ts";
import type { ClientRegistry } from "./client_registry.ts";
import type { ServerTransport } from "./server_transport.ts";

export interface StatusSources {
  config: ServerConfig;
  datapath: Datapath;
  listener: ControlListener;
  registry: ClientRegistry;
  transport: ServerTransport;
  /** Milliseconds since the epoch. */
  now: () => number;
  /** @default Deno.memoryUsage */
  memoryUsage?: () => Deno.MemoryUsage;
  /** The memory and table sizes (server_internals.ts); the snapshot has no `internals` without it. */
  internals?: () => InternalsSnapshot;
}

export class ServerStatus {
  readonly #s: StatusSources;

  constructor(sources: StatusSources) {
    this.#s = sources;
  }

  snapshot(): ServerSnapshot {
    const { config, datapath } = this.#s;
    const now = this.#s.now();
    const connected = new Map<number, ClientRecord>();
    for (const rec of this.#s.registry.connected()) connected.set(rec.peerId, rec);
    const mesh = this.#s.registry.mesh;
    return {
      version: VERSION,
      time: Math.floor(now / 1000),
      mode: config.dev.type,
      topology: config.dev.type === "tun" ? config.server.topology : "subnet",
      device: datapath.device.name,
      listen: this.#s.transport.describe(),
      clients: [...connected.values()].map((rec) => this.#client(rec)),
      routes: datapath.modeName === "router" ? this.#routes(connected) : [],
      macs: datapath.modeName === "switch" ? this.#macs(connected, now) : [],
      drops: this.#drops(),
      globalStats: { "Max bcast/mcast queue length": 0 },
      ...(mesh ? { mesh: mesh.status() } : {}),
      memory: this.#memory(),
      ...(this.#s.internals ? { internals: this.#s.internals() } : {}),
    };
  }

  #memory(): MemorySnapshot {
    const m = (this.#s.memoryUsage ?? Deno.memoryUsage)();
    return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external };
  }

  /** Logs the client count, non-zero drop counters and statistics. */
  log(log: Logger): void {
    const snapshot = this.snapshot();
    const fields: Record<string, number> = { clients: snapshot.clients.length };
    for (const [k, v] of Object.entries(snapshot.drops)) if (v > 0) fields[`drop_${k}`] = v;
    const stats = [
      this.#s.datapath.counters.statRecord(),
      this.#s.listener.stats.record(),
      this.#s.transport.statRecord(),
    ];
    for (const record of stats) for (const [k, v] of Object.entries(record)) if (v > 0) fields[k] = v;
    log.info("status", fields);
    // As OpenVPN's SIGUSR2 dump: then one line per client and per route.
    for (const c of snapshot.clients) {
      log.info("status: client", {
        cn: c.name,
        real: c.realAddress,
        virtual: [c.virtualAddress, c.virtualAddress6].filter((a) => a !== "").join(",") || "-",
        bytesIn: c.bytesIn,
        bytesOut: c.bytesOut,
        since: new Date(c.connectedSince * 1000).toISOString(),
      });
    }
    for (const r of snapshot.routes) log.info("status: route", { route: r.virtualAddress, cn: r.name });
  }

  #client(rec: ClientRecord): ClientSnapshot {
    const peers = this.#s.datapath.peers;
    const id = rec.peerId;
    return {
      name: rec.name ?? "",
      realAddress: rec.ctx.remote,
      virtualAddress: rec.lease?.ipv4 != null ? formatIpv4(rec.lease.ipv4) : "",
      virtualAddress6: rec.lease?.ipv6 ? formatIpv6(rec.lease.ipv6) : "",
      peerId: id,
      clientId: rec.ctx.peerId,
      ...(rec.session.peer?.username ? { username: rec.session.peer.username } : {}),
      cipher: rec.cipher,
      connectedSince: Math.floor(rec.connectedSince / 1000),
      bytesIn: peers.counter(id, PC_BYTES_IN),
      bytesOut: peers.counter(id, PC_BYTES_OUT),
      packetsIn: peers.counter(id, PC_PACKETS_IN),
      packetsOut: peers.counter(id, PC_PACKETS_OUT),
      lastActivity: Math.floor(peers.lastRx[id] / 1000),
      ...this.#meshPairs(id),
    };
  }

  #meshPairs(peerId: number): Pick<ClientSnapshot, "meshPairs"> {
    const mesh = this.#s.registry.mesh;
    if (!mesh) return {};
    const meshPairs = mesh.pairsOf(peerId).map((p) => ({
      peer: p.peer,
      pairId: p.pairId,
      path: p.path,
      endpoint: p.endpoint,
      rttMs: p.rttMs,
    }));
    return { meshPairs };
  }

  #routes(connected: Map<number, ClientRecord>): RouteSnapshot[] {
    const peers = this.#s.datapath.peers;
    return this.#s.datapath.routes.entries().map((e) => {
      const rec = connected.get(e.owner);
      const text = e.prefix.family === 4 ? formatIpv4(e.prefix.addr) : formatIpv6(e.prefix.addr);
      const full = e.prefix.family === 4 ? 32 : 128;
      return {
        virtualAddress: e.prefix.bits === full ? text : `${text}/${e.prefix.bits}`,
        name: rec?.name ?? "",
        realAddress: rec?.ctx.remote ?? "",
        lastRef: Math.floor(peers.lastRx[e.owner] / 1000),
      };
    });
  }

  #macs(connected: Map<number, ClientRecord>, now: number): MacSnapshot[] {
    return this.#s.datapath.macs.entries().map((m) => ({
      mac: formatMac(m.mac),
      port: m.port === 0 ? "tap" : connected.get(m.port - 1)?.name ?? String(m.port - 1),
      ageSeconds: Math.max(0, Math.floor((now - m.lastSeen) / 1000)),
    }));
  }

  /**
   * Datapath drops by their own names; control-channel drops prefixed, since
   * both layers have reasons such as "replay" and "malformed".
   */
  #drops(): Record<string, number> {
    const drops = this.#s.datapath.counters.dropRecord();
    for (const [k, v] of Object.entries(this.#s.listener.drops.snapshot())) drops[`control_${k}`] = v;
    return drops;
  }
}
