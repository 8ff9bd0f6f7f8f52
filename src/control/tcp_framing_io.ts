/** Framed writes to a Deno TCP connection. */

import { frame } from "./tcp_framing.ts";

/** Bytes queued for one connection beyond which further packets are dropped. */
export const MAX_QUEUED_WRITE_BYTES = 1024 * 1024;
/** TCP servers (serveTcp, server/tcp_socket.ts) accept at most this many connections at once. */
export const MAX_TCP_CONNECTIONS = 1024;
/** TCP servers close a connection that has carried no session for this long. */
export const TCP_IDLE_MS = 60_000;

/**
 * Serialises writes to one connection so frames never interleave. A peer that
 * stops reading cannot grow the queue past `maxQueued` bytes: later packets
 * are dropped, as a full UDP socket buffer would drop them.
 */
export function framedWriter(
  conn: Deno.Conn,
  onError: () => void,
  maxQueued = MAX_QUEUED_WRITE_BYTES,
): (packet: Uint8Array) => void {
  let chain = Promise.resolve();
  let failed = false;
  let queued = 0;
  return (packet) => {
    if (failed || packet.length === 0 || packet.length > 0xffff) return;
    if (queued + packet.length + 2 > maxQueued) return;
    const f = frame(packet);
    queued += f.length;
    chain = chain.then(async () => {
      let off = 0;
      while (off < f.length) off += await conn.write(f.subarray(off));
    }).catch(() => {
      failed = true;
      onError();
    }).finally(() => {
      queued -= f.length;
    });
  };
}
