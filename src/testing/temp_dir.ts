/** Test support: a fresh temporary directory for the length of a callback. */

/** Runs `fn` with a new temporary directory, removed with everything in it afterwards, also on failure. */
export async function inTempDir<T>(fn: (dir: string) => Promise<T>, prefix = "tsvpn_test_"): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
