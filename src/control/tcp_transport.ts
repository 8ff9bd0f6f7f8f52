/** Real TCP sockets for the control channel: one length-framed packet stream per connection. */

import { closeQuietly } from "../device/socket_helpers.ts";
import type { ControlListener } from "./listener.ts";
import { FrameReassembler } from "./tcp_framing.ts";
import { framedWriter, MAX_TCP_CONNECTIONS, TCP_IDLE_MS } from "./tcp_framing_io.ts";

export interface TcpServer {
  readonly port: number;
  readonly hostname: string;
  readonly done: Promise<void>;
  close(): void;
}

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

export function serveTcp(listener: ControlListener, opts: ServeTcpOptions = {}): TcpServer {
  const server = Deno.listen({
    transport: "tcp",
    hostname: opts.hostname ?? "127.0.0.1",
    port: opts.port ?? 0,
  });
  const local = server.addr as Deno.NetAddr;
  let closed = false;
  let connId = 0;
  const conns = new Set<Deno.Conn>();
  const maxConnections = opts.maxConnections ?? MAX_TCP_CONNECTIONS;
  const idleMs = opts.idleMs ?? TCP_IDLE_MS;
  const handle = async (conn: Deno.Conn) => {
    const ra = conn.remoteAddr as Deno.NetAddr;
    const remote = `${ra.hostname}:${ra.port}`;
    const linkKey = `tcp#${++connId}`;
    const close = () => closeQuietly(conn);
    const reply = framedWriter(conn, close);
    const reasm = new FrameReassembler();
    const buf = new Uint8Array(65536);
    let hadSession = false;
    const idle = setInterval(() => {
      // Closed when no session lived on it through a whole interval.
      if (listener.sessionsOnLink(linkKey) === 0 && !hadSession) close();
      hadSession = listener.sessionsOnLink(linkKey) > 0;
    }, idleMs);
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
      conns.delete(conn);
      listener.linkClosed(linkKey);
      close();
    }
  };
  const done = (async () => {
    try {
      for await (const conn of server) {
        if (closed) {
          conn.close();
          break;
        }
        if (conns.size >= maxConnections) {
          closeQuietly(conn);
          continue;
        }
        conns.add(conn);
        void handle(conn);
      }
    } catch (e) {
      if (!closed) throw e;
    }
  })();
  return {
    port: local.port,
    hostname: local.hostname,
    done,
    close() {
      if (closed) return;
      closed = true;
      closeQuietly(server);
      for (const c of conns) closeQuietly(c);
    },
  };
}
