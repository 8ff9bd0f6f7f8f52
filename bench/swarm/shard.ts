/**
 * One worker's share of the swarm: the clients i with i % shards === shard,
 * their sockets, keepalives and pings. The generator (generator.ts) starts one
 * shard per Deno Worker (shard_worker.ts) and adds up what they report, so every
 * core runs client handshakes instead of one JS thread running them all.
 *
 * Before the clock starts, each client's TLS context is built from its
 * certificate and key (prepare()): a real client loads and parses its files at
 * start-up, before its first packet, so that is not handshake time.
 *
 *   prepare() ──► ready ──► run(startAt) ── per client: due? in-flight slot? ──► start()
 *                                            onUp / onDown ──► ShardEvent to the generator
 */

import tls from "node:tls";
import { Buffer } from "node:buffer";
import type { PeerVerifier } from "../../src/control/session.ts";
import type { TlsCredentials } from "../../src/control/tls_channel.ts";
import { pkiVerifier } from "../../src/control/verifier.ts";
import type { ClientCredentials } from "./pki.ts";
import { type GeneratorPlan, sourceOf } from "./plan.ts";
import { SwarmClient } from "./swarm_client.ts";

const PING_ROUNDS = 10;
const PING_ROUND_MS = 1000;

/** What the generator tells a shard (one message each). */
export type ShardCommand =
  | {
    type: "prepare";
    plan: GeneratorPlan;
    shard: number;
    shards: number;
    caPem: string;
    clients: ClientCredentials[];
  }
  | { type: "run"; startAt: number }
  | { type: "ping"; indices: number[] }
  | { type: "stop" };

/** What a shard tells the generator. Times are epoch milliseconds (epochMs()), comparable across workers. */
export type ShardEvent =
  | { type: "ready" }
  | { type: "started"; index: number }
  | { type: "up"; index: number; at: number; connectMs: number }
  | { type: "down"; index: number; reason: string; wasUp: boolean }
  | { type: "pinged"; pinged: number; answered: number }
  | { type: "stopped"; upAtEnd: number }
  | { type: "error"; message: string };

/** Milliseconds since the epoch at sub-millisecond resolution; every worker's performance.now() has its own origin. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Client indices of `shard` among `shards`, in order. */
export function shardIndices(clients: number, shard: number, shards: number): number[] {
  const out: number[] = [];
  for (let i = shard; i < clients; i += shards) out.push(i);
  return out;
}

/** This shard's part of the global in-flight cap: an even split, the remainder to the first shards, at least 1. */
export function shardInflight(inflight: number, shard: number, shards: number): number {
  return Math.max(1, Math.floor(inflight / shards) + (shard < inflight % shards ? 1 : 0));
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Every client checks the same server certificate: the first verdict is reused for identical bytes, so the
 * generator spends its CPU on what differs per client (its own TLS handshake and key exchange).
 */
function memoized(verify: PeerVerifier): PeerVerifier {
  const verdicts = new Map<string, ReturnType<PeerVerifier>>();
  return (der, chain) => {
    const key = [der, ...chain].map((d) => Buffer.from(d).toString("base64")).join(",");
    let verdict = verdicts.get(key);
    if (verdict === undefined) {
      verdict = verify(der, chain);
      if (verdicts.size < 16) verdicts.set(key, verdict);
    }
    return verdict;
  };
}

export class Shard {
  readonly #plan: GeneratorPlan;
  readonly #indices: number[];
  readonly #inflightCap: number;
  readonly #credentials: TlsCredentials[];
  readonly #emit: (e: ShardEvent) => void;
  readonly #verifyPeer: PeerVerifier;
  readonly #clients = new Map<number, SwarmClient>();
  #inflight = 0;
  #wake: (() => void) | null = null;
  #keepalive: ReturnType<typeof setInterval> | undefined;

  /** Builds every client's TLS context (start-up work, before the clock). */
  constructor(command: Extract<ShardCommand, { type: "prepare" }>, emit: (e: ShardEvent) => void) {
    const { plan, shard, shards, caPem, clients } = command;
    this.#plan = plan;
    this.#emit = emit;
    this.#indices = shardIndices(plan.clients, shard, shards);
    if (clients.length !== this.#indices.length) {
      throw new Error(`shard ${shard}: ${clients.length} credentials for ${this.#indices.length} clients`);
    }
    this.#inflightCap = shardInflight(plan.inflight, shard, shards);
    this.#verifyPeer = memoized(pkiVerifier({ ca: caPem, usage: "serverAuth" }));
    this.#credentials = clients.map((c) => {
      const creds = { ca: caPem, cert: c.cert, key: c.key };
      const context = tls.createSecureContext({ ...creds, minVersion: "TLSv1.2" });
      return { ...creds, context };
    });
  }

  /** Starts this shard's clients on the global schedule (client i due at startAt + i / rate) and keepalives. */
  async run(startAt: number): Promise<void> {
    this.#startKeepalive();
    const plan = this.#plan;
    for (let k = 0; k < this.#indices.length; k++) {
      const i = this.#indices[k];
      while (this.#inflight >= this.#inflightCap) await new Promise<void>((r) => this.#wake = r);
      if (plan.rate > 0) {
        const wait = startAt + (i * 1000) / plan.rate - epochMs();
        if (wait > 0) await pause(wait);
      }
      this.#startClient(i, this.#credentials[k]);
      this.#credentials[k] = undefined as unknown as TlsCredentials; // the context is the client's now
    }
  }

  /** Echo requests through the given clients' tunnels, re-sent each second to those still silent. */
  async ping(indices: number[]): Promise<void> {
    const chosen: SwarmClient[] = [];
    for (const i of indices) {
      const c = this.#clients.get(i);
      if (c?.state === "up") chosen.push(c);
    }
    for (let round = 1; round <= PING_ROUNDS && chosen.length > 0; round++) {
      for (const c of chosen) if (c.echoesAnswered === 0) c.echo(this.#plan.server.tunnelAddress, round);
      await pause(PING_ROUND_MS);
      if (chosen.every((c) => c.echoesAnswered > 0)) break;
    }
    const answered = chosen.filter((c) => c.echoesAnswered > 0).length;
    this.#emit({ type: "pinged", pinged: indices.length, answered });
  }

  /** Stops keepalives, counts the clients still up, closes every socket. */
  stop(): void {
    clearInterval(this.#keepalive);
    let upAtEnd = 0;
    for (const c of this.#clients.values()) if (c.state === "up") upAtEnd++;
    for (const c of this.#clients.values()) c.close();
    this.#emit({ type: "stopped", upAtEnd });
  }

  #startClient(i: number, credentials: TlsCredentials): void {
    const plan = this.#plan;
    const client = new SwarmClient({
      index: i,
      credentials,
      verifyPeer: this.#verifyPeer,
      bind: sourceOf(plan, i),
      server: plan.server,
      ciphers: plan.ciphers,
      handshakeTimeoutMs: plan.handshakeTimeoutMs,
      onUp: (c) => this.#onUp(c),
      onDown: (c, reason) => this.#onDown(c, reason),
    });
    this.#clients.set(i, client);
    this.#inflight++;
    this.#emit({ type: "started", index: i });
    client.start();
  }

  /** Every second the clients whose index ≡ tick (mod keepalive interval) send their keepalive ping. */
  #startKeepalive(): void {
    let tick = 0;
    const spread = Math.max(1, this.#plan.keepaliveSeconds);
    this.#keepalive = setInterval(() => {
      tick++;
      for (const c of this.#clients.values()) if (c.index % spread === tick % spread) c.keepalive();
    }, 1000);
  }

  #settle(): void {
    this.#inflight--;
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  #onUp(c: SwarmClient): void {
    const offset = performance.timeOrigin;
    this.#emit({ type: "up", index: c.index, at: offset + c.upAt, connectMs: c.upAt - c.startedAt });
    this.#settle();
  }

  #onDown(c: SwarmClient, reason: string): void {
    const wasUp = c.upAt !== 0;
    this.#emit({ type: "down", index: c.index, reason, wasUp });
    if (!wasUp) this.#settle();
  }
}
