/**
 * Test support: real TCP sockets in front of a bare ControlListener, one length-framed packet stream per
 * connection (tests/interop/, src/control/live_fuzz_test.ts). The server's own TCP path is
 * src/server/tcp_socket.ts.
 */

import { closeQuietly } from "../../device/socket_helpers.ts";
import { type ControlServer, controlServer } from "./control_server.ts";
import type { ControlListener } from "../../control/listener.ts";
import { FrameReassembler } from "../../control/tcp_framing.ts";
import { framedWriter, MAX_TCP_CONNECTIONS, TCP_IDLE_MS } from "../../control/tcp_framing_io.ts";

export interface ServeTcpOptions {
  hostname?: string;
  port?: number;
  /** Connections open at once; more are closed on accept. @default 1024 */
  maxConnections?: number;
  /**
   * A connection that has carried no session for this long is closed: one that never sends a valid reset,
   * or whose session ended. Without it idle connections would hold their buffers forever. @default 60000
   */
  idleMs?: number;
}

/**
 * Feeds one connection's frames to the listener as link `linkKey` until it
 * ends, is reset, or carries no session for a whole `idleMs`; then calls
 * `ended`, tells the listener the link is gone and closes the connection.
 */
async function serveConnection(
  listener: ControlListener,
  conn: Deno.Conn,
  link: { key: string; idleMs: number; ended: () => void },
): Promise<void> {
  const linkKey = link.key;
  const ra = conn.remoteAddr as Deno.NetAddr;
  const remote = `${ra.hostname}:${ra.port}`;
  const close = () => closeQuietly(conn);
  const reply = framedWriter(conn, close);
  const reasm = new FrameReassembler();
  const buf = new Uint8Array(65536);
  let hadSession = false;
  const idle = setInterval(() => {
    // Closed when no session lived on it through a whole interval.
    if (listener.sessionsOnLink(linkKey) === 0 && !hadSession) close();
    hadSession = listener.sessionsOnLink(linkKey) > 0;
  }, link.idleMs);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      reasm.feed(
        buf.subarray(0, n),
        (b, o, l) => listener.handlePacket("tcp", linkKey, remote, reply, b, o, l),
      );
    }
  } catch {
    // connection reset
  } finally {
    clearInterval(idle);
    link.ended();
    listener.linkClosed(linkKey);
    close();
  }
}

/** Serves a ControlListener on a TCP port (0 picks a free one), one link per connection. */
export function serveTcp(listener: ControlListener, opts: ServeTcpOptions = {}): ControlServer {
  const server = Deno.listen({
    transport: "tcp",
    hostname: opts.hostname ?? "127.0.0.1",
    port: opts.port ?? 0,
  });
  let connId = 0;
  const conns = new Set<Deno.Conn>();
  const maxConnections = opts.maxConnections ?? MAX_TCP_CONNECTIONS;
  const idleMs = opts.idleMs ?? TCP_IDLE_MS;
  const accept = async (closed: () => boolean) => {
    for await (const conn of server) {
      if (closed()) {
        conn.close();
        break;
      }
      if (conns.size >= maxConnections) {
        closeQuietly(conn);
        continue;
      }
      conns.add(conn);
      const ended = () => conns.delete(conn);
      void serveConnection(listener, conn, { key: `tcp#${++connId}`, idleMs, ended });
    }
  };
  return controlServer(server.addr as Deno.NetAddr, accept, () => {
    closeQuietly(server);
    for (const c of conns) closeQuietly(c);
  });
}
