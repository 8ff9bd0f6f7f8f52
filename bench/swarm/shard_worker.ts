/**
 * The Deno Worker that runs one Shard of the swarm (shard.ts) for generator.ts:
 * commands in, events out, as structured-clone messages. Per-client events
 * (started, up, down) go out in batches every FLUSH_MS: a message per event
 * cost the worker ~0.2 ms of CPU each (they carry their own timestamps, so
 * batching delays only the progress lines).
 */

/// <reference lib="deno.worker" />

import { Shard, type ShardCommand, type ShardEvent } from "./shard.ts";

const FLUSH_MS = 100;

let shard: Shard | null = null;
let batch: ShardEvent[] = [];
let flushTimer: ReturnType<typeof setTimeout> | undefined;

function flush(): void {
  clearTimeout(flushTimer);
  flushTimer = undefined;
  if (batch.length === 0) return;
  self.postMessage(batch);
  batch = [];
}

function emit(e: ShardEvent): void {
  batch.push(e);
  if (e.type === "started" || e.type === "up" || e.type === "down") {
    flushTimer ??= setTimeout(flush, FLUSH_MS);
  } else {
    flush();
  }
}

function fail(e: unknown): void {
  emit({ type: "error", message: e instanceof Error ? e.stack ?? e.message : String(e) });
}

self.onmessage = (m: MessageEvent<ShardCommand>) => {
  const command = m.data;
  try {
    if (command.type === "prepare") {
      shard = new Shard(command, emit);
      emit({ type: "ready" });
    } else if (shard === null) {
      throw new Error(`"${command.type}" before "prepare"`);
    } else if (command.type === "run") {
      shard.run(command.startAt).catch(fail);
    } else if (command.type === "ping") {
      shard.ping(command.indices).catch(fail);
    } else {
      shard.stop();
    }
  } catch (e) {
    fail(e);
  }
};
