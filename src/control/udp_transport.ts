/**
 * Real UDP sockets for the control channel (Deno.listenDatagram, needs
 * --unstable-net). Kept small: everything protocol-related lives in the
 * listener and sessions.
 */

import { closeQuietly } from "../device/socket_helpers.ts";
import type { ControlListener } from "./listener.ts";

export interface UdpServer {
  readonly port: number;
  readonly hostname: string;
  /** Resolves when the receive loop ends. */
  readonly done: Promise<void>;
  close(): void;
}

function addrKey(a: Deno.NetAddr): string {
  return a.hostname.includes(":") ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`;
}

/** Serves a ControlListener on a UDP port (0 picks a free one). */
export function serveUdp(
  listener: ControlListener,
  opts: { hostname?: string; port?: number } = {},
): UdpServer {
  const conn = Deno.listenDatagram({
    transport: "udp",
    hostname: opts.hostname ?? "127.0.0.1",
    port: opts.port ?? 0,
  });
  const local = conn.addr as Deno.NetAddr;
  let closed = false;
  const replies = new Map<string, (p: Uint8Array) => void>();
  const replyFor = (addr: Deno.NetAddr, key: string) => {
    let r = replies.get(key);
    if (!r) {
      if (replies.size > 65536) replies.clear();
      r = (p: Uint8Array) => {
        if (!closed) conn.send(p, addr).catch(() => {});
      };
      replies.set(key, r);
    }
    return r;
  };
  const done = (async () => {
    try {
      for await (const [data, addr] of conn) {
        const a = addr as Deno.NetAddr;
        const key = addrKey(a);
        listener.handlePacket("udp", key, key, replyFor(a, key), data);
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
      closeQuietly(conn);
    },
  };
}
