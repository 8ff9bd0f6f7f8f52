/** Test helper for TCP servers on loopback. */

/** Resolves true once the server closed `conn` (read returned null or failed), false after `ms`. */
export async function closedByServer(conn: Deno.Conn, ms: number): Promise<boolean> {
  const buf = new Uint8Array(1024);
  let t: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((r) => t = setTimeout(() => r(false), ms));
  const read = (async () => {
    try {
      for (;;) if ((await conn.read(buf)) === null) return true;
    } catch {
      return true;
    }
  })();
  const v = await Promise.race([read, timeout]);
  clearTimeout(t);
  return v;
}
