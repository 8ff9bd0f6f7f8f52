/**
 * A child process's output, with a deadline: the child is killed (SIGKILL)
 * when it has not exited within `timeoutMs`, and the result says so. Used by
 * the client's up/down scripts and by the test harness's host commands.
 */

import { killAfter } from "../process/kill_timer.ts";

export interface BoundedOutput {
  output: Deno.CommandOutput;
  /** The deadline passed and the child was killed. */
  timedOut: boolean;
}

/** Waits for `child` (spawned with piped stdout and stderr) to exit, killing it at `timeoutMs`. */
export async function outputWithin(child: Deno.ChildProcess, timeoutMs: number): Promise<BoundedOutput> {
  const deadline = killAfter(child, timeoutMs);
  try {
    const output = await child.output();
    return { output, timedOut: deadline.timedOut };
  } finally {
    deadline.clear();
  }
}
