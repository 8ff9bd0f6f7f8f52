/** A deadline for a child process: SIGKILL once it passes (scripts, host commands). */

export interface KillTimer {
  /** True once the deadline passed and the child was killed. */
  readonly timedOut: boolean;
  /** Call when the child exited, so the timer goes. */
  clear(): void;
}

/** Kills `child` with SIGKILL when it has not exited within `timeoutMs`. */
export function killAfter(child: Deno.ChildProcess, timeoutMs: number): KillTimer {
  const state = { timedOut: false };
  const timer = setTimeout(() => {
    state.timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already exited.
    }
  }, timeoutMs);
  return {
    get timedOut() {
      return state.timedOut;
    },
    clear: () => clearTimeout(timer),
  };
}
