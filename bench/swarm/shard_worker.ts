/**
 * The Deno Worker that runs one Shard of the swarm (shard.ts) for generator.ts:
 * commands in, events out, as structured-clone messages.
 */

/// <reference lib="deno.worker" />

import { Shard, type ShardCommand, type ShardEvent } from "./shard.ts";

let shard: Shard | null = null;

function emit(e: ShardEvent): void {
  self.postMessage(e);
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
