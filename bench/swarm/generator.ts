/**
 * The swarm generator: N emulated clients (swarm_client.ts) in this one
 * process, started inside the generator namespace by run.ts (or the e2e
 * test) as `deno run -A --unstable-net bench/swarm/generator.ts PLAN.json`
 * under a raised open-file limit (one UDP socket per client).
 *
 * The clients are split over `plan.workers` Deno Workers (shard.ts, client i
 * in worker i % W), each owning its clients' sockets, keepalives and pings,
 * so the generator uses every core; this thread keeps the schedule's start,
 * adds up what the workers report and speaks the stdout protocol:
 * `swarm-progress {...}` lines while connecting, `swarm-connected` once every
 * attempt has settled (the orchestrator samples the server then, during
 * `holdSeconds`), and finally `swarm-result {...}` (GeneratorResult).
 */

import { readCpuSeconds } from "../tunnel/proc_stats.ts";
import { openSwarmPki } from "./pki.ts";
import { type GeneratorPlan, type GeneratorResult, quantile } from "./plan.ts";
import { epochMs, type ShardCommand, type ShardEvent, shardIndices } from "./shard.ts";

const SHARD_WORKER = new URL("./shard_worker.ts", import.meta.url).href;

function emit(kind: string, value: unknown): void {
  console.log(`${kind} ${JSON.stringify(value)}`);
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Workers the plan asks for (every core when it does not say), at least 1 and at most one per client. */
export function workerCount(plan: Pick<GeneratorPlan, "clients" | "workers">): number {
  const asked = plan.workers ?? navigator.hardwareConcurrency;
  return Math.max(1, Math.min(asked, plan.clients));
}

/** The 5-second (or `windowMs`) window with the most completed handshakes, per second. */
export function peakRate(upTimes: number[], windowMs: number): number {
  const t = [...upTimes].sort((a, b) => a - b);
  let best = 0;
  for (let lo = 0, hi = 0; hi < t.length; hi++) {
    while (t[hi] - t[lo] > windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return Math.round((best * 1000) / windowMs);
}

class Swarm {
  readonly plan: GeneratorPlan;
  readonly workers: Worker[] = [];
  readonly upTimes: number[] = [];
  readonly connectMs: number[] = [];
  readonly failures = new Map<string, number>();
  /** Clients up now (by index): the ping targets. */
  readonly up = new Set<number>();
  started = 0;
  settled = 0;
  firstStart = 0;
  /** This process's CPU seconds (every thread) from the first client to the last settled attempt. */
  connectCpuSeconds = 0;
  #replies: ShardEvent[] = [];
  #waiters: { done: () => boolean; resolve: () => void }[] = [];

  constructor(plan: GeneratorPlan) {
    this.plan = plan;
  }

  /** One worker per shard, each given its clients' credentials; resolves once all have built their contexts. */
  async prepare(pki: Awaited<ReturnType<typeof openSwarmPki>>): Promise<void> {
    const shards = workerCount(this.plan);
    for (let shard = 0; shard < shards; shard++) {
      const worker = new Worker(SHARD_WORKER, { type: "module" });
      worker.onmessage = (m: MessageEvent<ShardEvent[]>) => this.#onEvents(m.data);
      worker.onerror = (e) => this.#abort(`worker ${shard}: ${e.message}`);
      const clients = shardIndices(this.plan.clients, shard, shards).map((i) => pki.clients[i]);
      this.#send(worker, { type: "prepare", plan: this.plan, shard, shards, caPem: pki.caPem, clients });
      this.workers.push(worker);
    }
    await this.#replyFromEach("ready");
  }

  async connectAll(): Promise<void> {
    const progress = setInterval(() => emit("swarm-progress", this.#progress()), 1000);
    const cpu0 = readCpuSeconds(Deno.pid) ?? 0;
    this.firstStart = epochMs();
    for (const w of this.workers) this.#send(w, { type: "run", startAt: this.firstStart });
    await this.#until(() => this.settled >= this.plan.clients);
    this.connectCpuSeconds = (readCpuSeconds(Deno.pid) ?? 0) - cpu0;
    clearInterval(progress);
    emit("swarm-progress", this.#progress());
  }

  /** Echo requests through `count` random live tunnels (each worker pings its own); the tunnels answered. */
  async pingRandom(count: number): Promise<{ pinged: number; answered: number }> {
    const up = [...this.up];
    for (let i = up.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [up[i], up[j]] = [up[j], up[i]];
    }
    const chosen = up.slice(0, count);
    const shards = this.workers.length;
    this.workers.forEach((w, shard) => {
      this.#send(w, { type: "ping", indices: chosen.filter((i) => i % shards === shard) });
    });
    const replies = await this.#replyFromEach("pinged");
    return {
      pinged: replies.reduce((n, r) => n + r.pinged, 0),
      answered: replies.reduce((n, r) => n + r.answered, 0),
    };
  }

  /** Stops keepalives and closes every client; how many were still up. */
  async stop(): Promise<number> {
    for (const w of this.workers) this.#send(w, { type: "stop" });
    const replies = await this.#replyFromEach("stopped");
    for (const w of this.workers) w.terminate();
    return replies.reduce((n, r) => n + r.upAtEnd, 0);
  }

  result(pings: { pinged: number; answered: number }, upAtEnd: number): GeneratorResult {
    const connected = this.upTimes.length;
    const last = connected > 0 ? Math.max(...this.upTimes) : this.firstStart;
    const timeToAllMs = last - this.firstStart;
    const sorted = [...this.connectMs].sort((a, b) => a - b);
    const top = [...this.failures.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
    return {
      clients: this.plan.clients,
      connected,
      failed: this.plan.clients - connected,
      upAtEnd,
      failures: Object.fromEntries(top),
      timeToAllMs: Math.round(timeToAllMs),
      handshakesPerSecond: timeToAllMs > 0 ? Math.round((connected * 1000) / timeToAllMs) : 0,
      peakHandshakesPerSecond: peakRate(this.upTimes, 5000),
      connectP50Ms: Math.round(quantile(sorted, 0.5)),
      connectP99Ms: Math.round(quantile(sorted, 0.99)),
      pinged: pings.pinged,
      pingsAnswered: pings.answered,
      generatorRssMib: Math.round(Deno.memoryUsage().rss / 1048576),
      workers: this.workers.length,
      generatorCpuSeconds: Number(this.connectCpuSeconds.toFixed(2)),
    };
  }

  #send(worker: Worker, command: ShardCommand): void {
    worker.postMessage(command);
  }

  #progress() {
    const elapsed = (epochMs() - this.firstStart) / 1000;
    const failed = this.settled - this.upTimes.length;
    const inflight = this.started - this.settled;
    return { elapsed: Number(elapsed.toFixed(1)), up: this.upTimes.length, failed, inflight };
  }

  #onEvents(events: ShardEvent[]): void {
    for (const e of events) this.#onEvent(e);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.done()) return true;
      w.resolve();
      return false;
    });
  }

  #onEvent(e: ShardEvent): void {
    if (e.type === "started") {
      this.started++;
    } else if (e.type === "up") {
      this.upTimes.push(e.at);
      this.connectMs.push(e.connectMs);
      this.up.add(e.index);
      this.settled++;
    } else if (e.type === "down") {
      const key = e.reason.replace(/\d+/g, "N").slice(0, 120);
      this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
      this.up.delete(e.index);
      if (!e.wasUp) this.settled++;
    } else if (e.type === "error") {
      this.#abort(e.message);
    } else {
      this.#replies.push(e);
    }
  }

  #until(done: () => boolean): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ done, resolve }));
  }

  /** Waits for one `type` reply from every worker and takes them out of the reply queue. */
  async #replyFromEach<T extends ShardEvent["type"]>(type: T): Promise<Extract<ShardEvent, { type: T }>[]> {
    const count = () => this.#replies.filter((r) => r.type === type).length;
    await this.#until(() => count() >= this.workers.length);
    const mine = this.#replies.filter((r) => r.type === type);
    this.#replies = this.#replies.filter((r) => r.type !== type);
    return mine as Extract<ShardEvent, { type: T }>[];
  }

  #abort(message: string): never {
    console.error(`swarm generator: ${message}`);
    Deno.exit(1);
  }
}

async function main(planPath: string): Promise<void> {
  const plan = JSON.parse(await Deno.readTextFile(planPath)) as GeneratorPlan;
  const pki = await openSwarmPki(plan.pkiDir, plan.clients);
  const swarm = new Swarm(plan);
  await swarm.prepare(pki);
  await swarm.connectAll();
  emit("swarm-connected", { up: swarm.upTimes.length });
  await pause(plan.holdSeconds * 1000);
  const pings = await swarm.pingRandom(plan.ping);
  const upAtEnd = await swarm.stop();
  emit("swarm-result", swarm.result(pings, upAtEnd));
}

if (import.meta.main) {
  if (Deno.args.length !== 1) {
    console.error("usage: generator.ts PLAN.json (run.ts writes it; see bench/swarm/plan.ts)");
    Deno.exit(2);
  }
  await main(Deno.args[0]);
  Deno.exit(0);
}
