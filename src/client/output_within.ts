/**
 * A child process's output, with a deadline: the child is killed (SIGKILL)
 * when it has not exited within `timeoutMs`, and the result says so. Used by
 * the client's up/down scripts and by the test harness's host commands.
 */

export interface BoundedOutput {
  output: Deno.CommandOutput;
  /** The deadline passed and the child was killed. */
  timedOut: boolean;
}

/** Waits for `child` (spawned with piped stdout and stderr) to exit, killing it at `timeoutMs`. */
export async function outputWithin(child: Deno.ChildProcess, timeoutMs: number): Promise<BoundedOutput> {
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
  }, timeoutMs);
  try {
    const output = await child.output();
    return { output, timedOut };
  } finally {
    clearTimeout(timer);
  }
}
