/** Framed writes to a Deno TCP connection. */

import { frame } from "./tcp_framing.ts";

/** Serialises writes to one connection so frames never interleave. */
export function framedWriter(conn: Deno.Conn, onError: () => void): (packet: Uint8Array) => void {
  let chain = Promise.resolve();
  let failed = false;
  return (packet) => {
    if (failed) return;
    const f = frame(packet);
    chain = chain.then(async () => {
      let off = 0;
      while (off < f.length) off += await conn.write(f.subarray(off));
    }).catch(() => {
      failed = true;
      onError();
    });
  };
}
