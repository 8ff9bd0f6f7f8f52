/**
 * OpenVPN's --status file: the snapshot in status-version 2 (by default),
 * rewritten every interval. Each write goes to a new temp file in the same
 * directory and is renamed over the target (src/fs/safe_file.ts), so readers
 * never see half a file and a planted symlink is never written through.
 */
import { writeFileAtomic } from "../fs/safe_file.ts";
import { type Clock, systemClock } from "../control/clock.ts";
import type { Logger } from "../log/log.ts";
import type { ServerControl } from "./server_control.ts";
import { formatStatus, type StatusVersion } from "./status_format.ts";
import { firstLine } from "../log/first_line.ts";

export interface StatusFileOptions {
  log: Logger;
  /** @default 2 */
  version?: StatusVersion;
  /** @default 0o600 (names and addresses of users) */
  mode?: number;
  /** Timers for the rewrites; tests inject a manual clock. @default systemClock */
  clock?: Pick<Clock, "setTimer" | "clearTimer">;
}

export interface StatusFileHandle {
  /** Rewrites the file now (also serialised with the periodic writes). */
  writeNow(): Promise<void>;
  /** Stops the rewrites; the last file stays. */
  close(): Promise<void>;
}

/**
 * Writes `path` at once (rejecting when that fails, so a bad path stops the
 * start) and then every `intervalSeconds` (≤ 0: only once). Later failures are
 * logged and retried at the next interval.
 */
export async function startStatusFile(
  path: string,
  intervalSeconds: number,
  control: ServerControl,
  options: StatusFileOptions,
): Promise<StatusFileHandle> {
  const log = options.log.child("status-file");
  const version = options.version ?? 2;
  const mode = options.mode ?? 0o600;
  const clock = options.clock ?? systemClock;
  let closed = false;
  let timer: number | undefined;
  let chain: Promise<void> = Promise.resolve();
  let failing = false;

  async function write(): Promise<void> {
    const text = formatStatus(control.snapshot(), version).join("\n") + "\n";
    try {
      await writeFileAtomic(path, text, { mode });
    } catch (e) {
      throw new Error(`Cannot write status file ${path}: ${firstLine(e)}`);
    }
  }

  /** Runs writes one after another; a write never overlaps the previous one. */
  function enqueue(): Promise<void> {
    const next = chain.then(write);
    chain = next.catch(() => {});
    return next;
  }

  function schedule(): void {
    if (closed || !(intervalSeconds > 0)) return;
    timer = clock.setTimer(async () => {
      try {
        await enqueue();
        if (failing) log.info("status file written again", { path });
        failing = false;
      } catch (e) {
        if (!failing) log.warn((e as Error).message);
        failing = true;
      }
      schedule();
    }, intervalSeconds * 1000);
  }

  await enqueue();
  log.debug("status file written", { path, intervalSeconds, version });
  schedule();

  return {
    writeNow: () => enqueue(),
    async close(): Promise<void> {
      closed = true;
      if (timer !== undefined) clock.clearTimer(timer);
      await chain;
    },
  };
}
