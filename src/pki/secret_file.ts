/**
 * Files holding secrets (private keys, static keys, bundles): mode 0600 from
 * the first byte, never written through a symlink (src/fs/safe_file.ts).
 */
import { writeFileAtomic, writeFileExclusive } from "../fs/safe_file.ts";

/** Writes (or atomically replaces) a secret with mode 0600. */
export function writeSecretFile(path: string, text: string): Promise<void> {
  return writeFileAtomic(path, text, { mode: 0o600 });
}

/** Creates a secret with mode 0600; refuses when anything exists at `path`. */
export async function writeNewSecretFile(path: string, text: string): Promise<void> {
  try {
    await writeFileExclusive(path, text, { mode: 0o600 });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      throw new Error(`${path} already exists; refusing to overwrite`);
    }
    throw e;
  }
}
