/**
 * Test support: real UDP sockets (Deno.listenDatagram, needs --unstable-net) in front of a bare
 * ControlListener, for tests/interop/ and src/control/live_fuzz_test.ts; the server's own UDP path is
 * src/server/server_transport.ts. Kept small: everything protocol-related lives in the listener and
 * sessions.
 */

import { closeQuietly } from "../../device/socket_helpers.ts";
import { type ControlServer, controlServer } from "./control_server.ts";
import type { ControlListener } from "../../control/listener.ts";

function addrKey(a: Deno.NetAddr): string {
  return a.hostname.includes(":") ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`;
}

/** Reply functions by source address, made once per source; bounded so a spoofing flood cannot grow it. */
function replyCache(conn: Deno.DatagramConn, closed: () => boolean) {
  const replies = new Map<string, (p: Uint8Array) => void>();
  return (addr: Deno.NetAddr, key: string) => {
    let r = replies.get(key);
    if (!r) {
      if (replies.size > 65536) replies.clear();
      r = (p: Uint8Array) => {
        if (!closed()) conn.send(p, addr).catch(() => {});
      };
      replies.set(key, r);
    }
    return r;
  };
}

/** Serves a ControlListener on a UDP port (0 picks a free one). */
export function serveUdp(
  listener: ControlListener,
  opts: { hostname?: string; port?: number } = {},
): ControlServer {
  const conn = Deno.listenDatagram({
    transport: "udp",
    hostname: opts.hostname ?? "127.0.0.1",
    port: opts.port ?? 0,
  });
  return controlServer(conn.addr as Deno.NetAddr, async (closed) => {
    const replyFor = replyCache(conn, closed);
    for await (const [data, addr] of conn) {
      const a = addr as Deno.NetAddr;
      const key = addrKey(a);
      listener.handlePacket("udp", key, key, replyFor(a, key), data);
    }
  }, () => closeQuietly(conn));
}
