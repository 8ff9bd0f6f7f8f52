/**
 * The epoll instances of this process's own event loop (Deno's tokio
 * reactor), found as `anon_inode:[eventpoll]` entries of /proc/self/fd.
 *
 * Why: a thread blocked in a synchronous poll(2) (src/datapath/poll_loop.ts)
 * does not see Deno's sockets (management interface, TCP transports) become
 * readable. An epoll fd is itself pollable: it is readable while its ready
 * list holds events the reactor has not collected yet. Watching it in the
 * same poll tells the loop when Deno has I/O to serve.
 *
 * Best effort: an empty list (no /proc, no permission) means "unknown"; the
 * caller then falls back to serving Deno's I/O on a fixed period.
 */

/** Descriptors of the process's epoll instances, lowest first; [] when unknown. */
export function runtimeEventPolls(procFdDir = "/proc/self/fd"): number[] {
  const fds: number[] = [];
  try {
    for (const e of Deno.readDirSync(procFdDir)) {
      const fd = Number(e.name);
      if (!Number.isInteger(fd)) continue;
      try {
        if (Deno.readLinkSync(`${procFdDir}/${e.name}`) === "anon_inode:[eventpoll]") fds.push(fd);
      } catch {
        // Closed while listing (the directory fd itself, for one).
      }
    }
  } catch {
    return [];
  }
  return fds.sort((a, b) => a - b);
}
