/** Revocation: mark the record in index.json and re-issue DIR/crl.pem with every revoked serial. */
import { loadCa } from "./ca.ts";
import { activeRecord, type CertRecord, readIndex, writeIndex } from "./ca_index.ts";
import { writeCrl } from "./crl.ts";

/** Revokes the valid certificate named NAME; throws when there is none. Returns the revoked record. */
export async function revokeCertificate(
  dir: string,
  name: string,
  options: { now?: Date } = {},
): Promise<CertRecord> {
  const now = options.now ?? new Date();
  const ca = await loadCa(dir);
  const index = await readIndex(dir);
  const record = activeRecord(index, name);
  if (record === undefined) {
    const revoked = index.certs.some((c) => c.name === name);
    throw new Error(revoked ? `Certificate "${name}" is already revoked` : `No certificate named "${name}"`);
  }
  record.revokedAt = new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString();
  await writeCrl(dir, ca, index, now);
  await writeIndex(dir, index);
  return record;
}

/** Re-signs DIR/crl.pem with a fresh nextUpdate and no change in content. */
export async function refreshCrl(dir: string, options: { now?: Date } = {}): Promise<void> {
  const ca = await loadCa(dir);
  const index = await readIndex(dir);
  await writeCrl(dir, ca, index, options.now ?? new Date());
  await writeIndex(dir, index);
}
