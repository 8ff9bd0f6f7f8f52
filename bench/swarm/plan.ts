/**
 * What the orchestrator tells the generator (one JSON file), where each
 * client's source address and port come from, and what the generator
 * reports back (one JSON line on stdout, after progress lines).
 */

export interface GeneratorPlan {
  pkiDir: string;
  clients: number;
  /** New connections per second; 0 = as fast as the in-flight cap allows. */
  rate: number;
  /** Handshakes under way at once, at most. */
  inflight: number;
  /** Tunnels pinged at the end. */
  ping: number;
  server: { hostname: string; port: number; tunnelAddress: string };
  ciphers: string[];
  handshakeTimeoutMs: number;
  /** Seconds between a client's keepalive pings (the server's ping interval). */
  keepaliveSeconds: number;
  /** Seconds the swarm stays up after the last handshake, before the pings (the orchestrator samples). */
  holdSeconds: number;
  /** Source addresses: `${prefix}.${third}.${fourth}`, see sourceOf(). */
  sourcePrefix: string;
  clientsPerAddress: number;
  firstPort: number;
  /** Deno Workers the clients are split over (client i in worker i % workers); absent: one per core. */
  workers?: number;
}

export interface GeneratorResult {
  clients: number;
  connected: number;
  failed: number;
  /** Clients up when the pings started (connected minus those lost since). */
  upAtEnd: number;
  /** Up to five failure reasons with their counts. */
  failures: Record<string, number>;
  /** From the first hard reset to the last PUSH_REPLY. */
  timeToAllMs: number;
  handshakesPerSecond: number;
  /** Best 5-second window of completed handshakes, per second. */
  peakHandshakesPerSecond: number;
  connectP50Ms: number;
  connectP99Ms: number;
  pinged: number;
  pingsAnswered: number;
  generatorRssMib: number;
  /** Deno Workers that ran the clients. */
  workers: number;
  /** The generator's CPU seconds (all threads) from the first client to the last settled attempt. */
  generatorCpuSeconds: number;
}

/** The n-th source address (0-based) of the generator: 250 per /24, from .1. */
export function sourceAddress(prefix: string, n: number): string {
  return `${prefix}.${1 + Math.floor(n / 250)}.${1 + (n % 250)}`;
}

/**
 * Client i's source address and port. Consecutive clients use different addresses, so each address sees
 * 1/addressCount of the connection rate (servers limit resets per source address).
 */
export function sourceOf(plan: GeneratorPlan, i: number): { hostname: string; port: number } {
  const addresses = addressCount(plan);
  return {
    hostname: sourceAddress(plan.sourcePrefix, i % addresses),
    port: plan.firstPort + Math.floor(i / addresses),
  };
}

/** How many source addresses `clients` clients need. */
export function addressCount(plan: Pick<GeneratorPlan, "clients" | "clientsPerAddress">): number {
  return Math.ceil(plan.clients / plan.clientsPerAddress);
}

/** The value at quantile q (0..1) of sorted numbers; 0 for none. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
