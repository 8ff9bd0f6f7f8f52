/** Files holding secrets (private keys, static keys): mode 0600 from the first byte. */

/** Writes a secret with mode 0600 (chmod too, since creation modes pass through the umask). */
export async function writeSecretFile(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(path, text, { mode: 0o600 });
  await Deno.chmod(path, 0o600);
}
