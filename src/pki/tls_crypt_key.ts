/** tls-crypt key files: a fresh OpenVPN static key written with mode 0600, never over an existing file. */
import { writeSecretFile } from "./secret_file.ts";
import { formatStaticKey, generateStaticKey } from "./static_key.ts";

export const TLS_CRYPT_FILE = "tc.key";

/** Writes a new static key to `path`; refuses to overwrite. */
export async function writeTlsCryptKey(path: string): Promise<void> {
  try {
    await Deno.lstat(path);
    throw new Error(`${path} already exists; refusing to overwrite`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await writeSecretFile(path, formatStaticKey(generateStaticKey()));
}

/** Creates DIR/tc.key, which bundles then embed as <tls-crypt>. Returns its path. */
export async function createTlsCryptKey(dir: string): Promise<string> {
  const path = `${dir}/${TLS_CRYPT_FILE}`;
  await writeTlsCryptKey(path);
  return path;
}
