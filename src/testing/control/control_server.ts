/**
 * Test support: the handle serveUdp and serveTcp (udp_transport.ts, tcp_transport.ts) return, and the
 * close logic they share.
 */

/** A control-channel socket and its receive loop. */
export interface ControlServer {
  readonly port: number;
  readonly hostname: string;
  /** Resolves when the receive loop ends. */
  readonly done: Promise<void>;
  /** Stops receiving; calling it again does nothing. */
  close(): void;
}

/**
 * Starts `receive` for a socket bound at `local`. close() runs `stop` (which
 * closes the socket) once; `receive` sees `closed()` turn true, and the error
 * its loop then gets from the closed socket ends it quietly.
 */
export function controlServer(
  local: Deno.NetAddr,
  receive: (closed: () => boolean) => Promise<void>,
  stop: () => void,
): ControlServer {
  let closed = false;
  const done = receive(() => closed).catch((e) => {
    if (!closed) throw e;
  });
  return {
    port: local.port,
    hostname: local.hostname,
    done,
    close() {
      if (closed) return;
      closed = true;
      stop();
    },
  };
}
