/** Pieces every DatagramSocket implementation needs the same way. */

import type { DatagramSocket } from "./datagram_socket.ts";

/** sendBatch's arguments, in order. */
type Batch = Parameters<DatagramSocket["sendBatch"]>;

/**
 * `sendBatch` for sockets without a batched system call: `send` for each of
 * the `count` datagrams in order. Returns how many `send` accepted.
 */
export function sendEach(
  socket: Pick<DatagramSocket, "send">,
  bufs: Batch[0],
  offsets: Batch[1],
  sizes: Batch[2],
  count: Batch[3],
  to: Batch[4],
  rows: Batch[5],
): number {
  let n = 0;
  for (let i = 0; i < count; i++) if (socket.send(bufs[i], offsets[i], sizes[i], to, rows[i])) n++;
  return n;
}

/** Closes a Deno resource (connection, listener) that the peer or an error may already have closed. */
export function closeQuietly(resource: { close(): void }): void {
  try {
    resource.close();
  } catch {
    // Already closed.
  }
}
