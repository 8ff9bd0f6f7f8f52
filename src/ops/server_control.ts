/**
 * What the management interface and status writers need from a running
 * server. The server implements it; `src/ops/` formats and serves it. Values
 * are plain data (a snapshot), so formatting code is tested without a server.
 */

export interface ClientSnapshot {
  /** Certificate common name. */
  name: string;
  /** Real (underlay) endpoint, "1.2.3.4:5678" or "[::1]:5678". */
  realAddress: string;
  /** Virtual addresses assigned to the client (IPv4 and/or IPv6), "" when none. */
  virtualAddress: string;
  virtualAddress6: string;
  peerId: number;
  cipher: string;
  /** Seconds since the epoch. */
  connectedSince: number;
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
  /** Seconds since the epoch of the last authenticated packet from the client. */
  lastActivity: number;
  /** OpenVPN's "Client ID" (management cid); the status formats fall back to peerId. */
  clientId?: number;
  /** auth-user-pass user name; the status formats print "UNDEF" when absent, as OpenVPN does. */
  username?: string;
  /** With `server.mesh.enabled`: the client's introduced pairs, from its latest STATE reports. */
  meshPairs?: MeshPairSnapshot[];
}

/** One mesh pair from one member's view (docs/mesh.md). */
export interface MeshPairSnapshot {
  peer: string;
  pairId: number;
  path: "direct" | "relayed";
  /** The peer's endpoint on a direct path, else null. */
  endpoint: string | null;
  rttMs: number | null;
}

export interface RouteSnapshot {
  /** Prefix or host address ("10.8.0.2", "192.168.10.0/24", "fd00:8::1000"), or a MAC in tap mode. */
  virtualAddress: string;
  name: string;
  realAddress: string;
  /** Seconds since the epoch of the last packet that used this route. */
  lastRef: number;
}

export interface MacSnapshot {
  mac: string;
  /** Client name, or "tap" for the local tap device. */
  port: string;
  ageSeconds: number;
}

export interface ServerSnapshot {
  version: string;
  /** Seconds since the epoch when the snapshot was taken. */
  time: number;
  mode: "tun" | "tap";
  topology: string;
  device: string;
  listen: string;
  clients: ClientSnapshot[];
  routes: RouteSnapshot[];
  macs: MacSnapshot[];
  /** Drop counters by reason name (e.g. "spoofed", "bad_tag", "replay", "no_route"). */
  drops: Record<string, number>;
  /** OpenVPN GLOBAL_STATS: "Max bcast/mcast queue length" and friends. */
  globalStats: Record<string, number>;
  /** With `server.mesh.enabled`: client-to-client packets and bytes the server relayed, and mesh events. */
  mesh?: { relayedPackets: number; relayedBytes: number; counters: Record<string, number> };
  /** The process' memory when the snapshot was taken (Deno.memoryUsage()): RSS, V8 heap, external. */
  memory?: MemorySnapshot;
  /** The server's memory and the sizes of its own tables (a running server always fills it in). */
  internals?: InternalsSnapshot;
}

/** Bytes; `heapUsed` counts garbage not collected yet, so it moves between snapshots without new clients. */
export interface MemorySnapshot {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  /** Memory V8 objects hold outside the heap (ArrayBuffer backing stores and the like). */
  external: number;
}

/**
 * For long-run checks (docs/reliability.md, the clients soak): with the same clients connected, no table
 * may keep growing; a table with a cap fills up to it at most.
 */
export interface InternalsSnapshot {
  /** The process's memory in bytes (Deno.memoryUsage(): resident set, V8 heap used and reserved, external). */
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number };
  /** Entries by table name (server_internals.ts lists them). */
  tables: Record<string, number>;
  /** Capacity of the tables that have a fixed one, by table name. */
  caps: Record<string, number>;
  /** The control channel's TLS engine (src/control/tls_channel.ts) and why: "libssl.so.3", or why not. */
  tls: { engine: "openssl" | "node"; reason: string };
}

export interface ServerControl {
  snapshot(): ServerSnapshot;
  /** Disconnects every session of that common name; resolves with how many. */
  kill(name: string, reason: string): Promise<number>;
  /** Disconnects the session whose real address is `address` ("1.2.3.4:5678", "[::1]:5678"); resolves with how many. */
  killAddress(address: string, reason: string): Promise<number>;
  /**
   * Disconnects the session with OpenVPN Client ID `clientId`, telling it
   * `message` (OpenVPN's client-kill: default RESTART, "HALT" makes the
   * client exit); resolves false when there is no such client.
   */
  killClientId(clientId: number, message: string | null, reason: string): Promise<boolean>;
  /** Re-reads the CRL and disconnects sessions whose certificate is now revoked. */
  reloadCrl(): Promise<number>;
  /**
   * Re-reads the configuration file and applies the live keys (src/server/server_reload.ts); resolves
   * with a one-line summary, rejects with a one-line reason (a key that needs a restart, a bad file).
   */
  reload?(): Promise<string>;
}
