/** Test helper for TCP servers on loopback. */

import { settledWithin } from "../wait.ts";

/** Resolves true once the server closed `conn` (read returned null or failed), false after `ms`. */
export function closedByServer(conn: Deno.Conn, ms: number): Promise<boolean> {
  const buf = new Uint8Array(1024);
  const read = (async () => {
    try {
      for (;;) if ((await conn.read(buf)) === null) return true;
    } catch {
      return true;
    }
  })();
  return settledWithin(read, ms, false);
}
