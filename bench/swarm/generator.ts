/**
 * The swarm generator: N emulated clients (swarm_client.ts) in this one
 * process, started inside the generator namespace by run.ts (or the e2e
 * test) as `deno run -A --unstable-net bench/swarm/generator.ts PLAN.json`
 * under a raised open-file limit (one UDP socket per client).
 *
 * stdout: `swarm-progress {...}` lines while connecting, `swarm-connected`
 * once every attempt has settled (the orchestrator samples the server then,
 * during `holdSeconds`), and finally `swarm-result {...}` (GeneratorResult).
 */

import { Buffer } from "node:buffer";
import type { PeerVerifier } from "../../src/control/session.ts";
import { pkiVerifier } from "../../src/control/verifier.ts";
import { clientCredentials, openSwarmPki } from "./pki.ts";
import { type GeneratorPlan, type GeneratorResult, quantile, sourceOf } from "./plan.ts";
import { SwarmClient } from "./swarm_client.ts";

const PING_ROUNDS = 10;
const PING_ROUND_MS = 1000;

function emit(kind: string, value: unknown): void {
  console.log(`${kind} ${JSON.stringify(value)}`);
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

class Swarm {
  readonly plan: GeneratorPlan;
  readonly clients: SwarmClient[] = [];
  readonly upTimes: number[] = [];
  readonly connectMs: number[] = [];
  readonly failures = new Map<string, number>();
  settled = 0;
  inflight = 0;
  firstStart = 0;
  #wake: (() => void) | null = null;

  constructor(plan: GeneratorPlan) {
    this.plan = plan;
  }

  async connectAll(pki: Awaited<ReturnType<typeof openSwarmPki>>): Promise<void> {
    const plan = this.plan;
    const verifyPeer = memoized(pkiVerifier({ ca: pki.caPem, usage: "serverAuth" }));
    const progress = setInterval(() => emit("swarm-progress", this.#progress()), 1000);
    this.firstStart = performance.now();
    for (let i = 0; i < plan.clients; i++) {
      while (this.inflight >= plan.inflight) await new Promise<void>((r) => this.#wake = r);
      if (plan.rate > 0) {
        const due = this.firstStart + (i * 1000) / plan.rate;
        const now = performance.now();
        if (due > now) await pause(due - now);
      }
      const client = new SwarmClient({
        index: i,
        credentials: clientCredentials(pki, i),
        verifyPeer,
        bind: sourceOf(plan, i),
        server: plan.server,
        ciphers: plan.ciphers,
        handshakeTimeoutMs: plan.handshakeTimeoutMs,
        onUp: (c) => this.#onUp(c),
        onDown: (c, reason) => this.#onDown(c, reason),
      });
      this.clients.push(client);
      this.inflight++;
      client.start();
    }
    while (this.settled < plan.clients) await new Promise<void>((r) => this.#wake = r);
    clearInterval(progress);
    emit("swarm-progress", this.#progress());
  }

  /** Every second a tenth of the clients (by index) send their keepalive ping. */
  startKeepalive(): () => void {
    let tick = 0;
    const spread = Math.max(1, this.plan.keepaliveSeconds);
    const timer = setInterval(() => {
      tick++;
      for (let i = tick % spread; i < this.clients.length; i += spread) this.clients[i].keepalive();
    }, 1000);
    return () => clearInterval(timer);
  }

  /** Echo requests through `count` random live tunnels, re-sent each second to those still silent (at most
   * PING_ROUNDS times: a busy generator or server answers late, not never); the tunnels that got a reply. */
  async pingRandom(count: number): Promise<{ pinged: number; answered: number }> {
    const up = this.clients.filter((c) => c.state === "up");
    for (let i = up.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [up[i], up[j]] = [up[j], up[i]];
    }
    const chosen = up.slice(0, count);
    for (let round = 1; round <= PING_ROUNDS; round++) {
      for (const c of chosen) if (c.echoesAnswered === 0) c.echo(this.plan.server.tunnelAddress, round);
      await pause(PING_ROUND_MS);
      if (chosen.every((c) => c.echoesAnswered > 0)) break;
    }
    return { pinged: chosen.length, answered: chosen.filter((c) => c.echoesAnswered > 0).length };
  }

  result(pings: { pinged: number; answered: number }): GeneratorResult {
    const connected = this.upTimes.length;
    const last = connected > 0 ? Math.max(...this.upTimes) : this.firstStart;
    const timeToAllMs = last - this.firstStart;
    const sorted = [...this.connectMs].sort((a, b) => a - b);
    const top = [...this.failures.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
    return {
      clients: this.plan.clients,
      connected,
      failed: this.plan.clients - connected,
      upAtEnd: this.clients.filter((c) => c.state === "up").length,
      failures: Object.fromEntries(top),
      timeToAllMs: Math.round(timeToAllMs),
      handshakesPerSecond: timeToAllMs > 0 ? Math.round((connected * 1000) / timeToAllMs) : 0,
      peakHandshakesPerSecond: this.#peakRate(5000),
      connectP50Ms: Math.round(quantile(sorted, 0.5)),
      connectP99Ms: Math.round(quantile(sorted, 0.99)),
      pinged: pings.pinged,
      pingsAnswered: pings.answered,
      generatorRssMib: Math.round(Deno.memoryUsage().rss / 1048576),
    };
  }

  closeAll(): void {
    for (const c of this.clients) c.close();
  }

  #peakRate(windowMs: number): number {
    const t = [...this.upTimes].sort((a, b) => a - b);
    let best = 0;
    for (let lo = 0, hi = 0; hi < t.length; hi++) {
      while (t[hi] - t[lo] > windowMs) lo++;
      best = Math.max(best, hi - lo + 1);
    }
    return Math.round((best * 1000) / windowMs);
  }

  #progress() {
    const elapsed = (performance.now() - this.firstStart) / 1000;
    const failed = this.settled - this.upTimes.length;
    return { elapsed: Number(elapsed.toFixed(1)), up: this.upTimes.length, failed, inflight: this.inflight };
  }

  #settle(): void {
    this.settled++;
    this.inflight--;
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  #onUp(c: SwarmClient): void {
    this.upTimes.push(c.upAt);
    this.connectMs.push(c.upAt - c.startedAt);
    this.#settle();
  }

  #onDown(c: SwarmClient, reason: string): void {
    const key = reason.replace(/\d+/g, "N").slice(0, 120);
    this.failures.set(key, (this.failures.get(key) ?? 0) + 1);
    if (c.upAt === 0) this.#settle();
  }
}

async function main(planPath: string): Promise<void> {
  const plan = JSON.parse(await Deno.readTextFile(planPath)) as GeneratorPlan;
  const pki = await openSwarmPki(plan.pkiDir, plan.clients);
  const swarm = new Swarm(plan);
  const stopKeepalive = swarm.startKeepalive();
  await swarm.connectAll(pki);
  emit("swarm-connected", { up: swarm.upTimes.length });
  await pause(plan.holdSeconds * 1000);
  const pings = await swarm.pingRandom(plan.ping);
  stopKeepalive();
  emit("swarm-result", swarm.result(pings));
  swarm.closeAll();
}

if (import.meta.main) {
  if (Deno.args.length !== 1) {
    console.error("usage: generator.ts PLAN.json (run.ts writes it; see bench/swarm/plan.ts)");
    Deno.exit(2);
  }
  await main(Deno.args[0]);
  Deno.exit(0);
}
