/** Reading PEM material named by the configuration. */

import type { PemSource } from "./schema.ts";

/** The PEM text of `src`: inline text as is, or the file's contents. Rejects with the path on failure. */
export async function readPemSource(src: PemSource): Promise<string> {
  if (src.kind === "inline") return src.pem;
  try {
    return await Deno.readTextFile(src.path);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound ? "no such file" : (err as Error).message.split("\n")[0];
    throw new Error(`Cannot read ${src.path}: ${why}`);
  }
}
