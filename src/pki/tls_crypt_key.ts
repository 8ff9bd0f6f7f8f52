/** tls-crypt key files: a fresh OpenVPN static key written with mode 0600, never over an existing file. */
import { writeNewSecretFile } from "./secret_file.ts";
import { formatStaticKey, generateStaticKey } from "./static_key.ts";

export const TLS_CRYPT_FILE = "tc.key";

/** Writes a new static key to `path`; refuses to overwrite. */
export function writeTlsCryptKey(path: string): Promise<void> {
  return writeNewSecretFile(path, formatStaticKey(generateStaticKey()));
}

/** Creates DIR/tc.key, which bundles then embed as <tls-crypt>. Returns its path. */
export async function createTlsCryptKey(dir: string): Promise<string> {
  const path = `${dir}/${TLS_CRYPT_FILE}`;
  await writeTlsCryptKey(path);
  return path;
}
