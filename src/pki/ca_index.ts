/**
 * DIR/index.json: what a tsvpn CA has issued and revoked. The certificates
 * themselves stay the truth for keys and dates; the index is what `list`,
 * `revoke` and the CRL read, so it is rewritten whole (write then rename).
 *
 *   { "version": 1, "crlNumber": 3,
 *     "certs": [{ "serial": "4F…", "name": "alice", "type": "client",
 *                 "notBefore": "…Z", "notAfter": "…Z", "sans": [], "revokedAt": null }] }
 */
import { writeFileAtomic } from "../fs/safe_file.ts";

export type CertType = "server" | "client";

export interface CertRecord {
  /** Canonical uppercase hex (see serial.ts). */
  serial: string;
  name: string;
  type: CertType;
  /** ISO 8601 UTC. */
  notBefore: string;
  notAfter: string;
  sans: string[];
  /** ISO 8601 UTC, or null while the certificate is valid. */
  revokedAt: string | null;
}

export interface CaIndex {
  version: 1;
  /** Number of the last CRL written; each new CRL takes the next one. */
  crlNumber: number;
  certs: CertRecord[];
}

export const INDEX_FILE = "index.json";

export function emptyIndex(): CaIndex {
  return { version: 1, crlNumber: 0, certs: [] };
}

function isRecord(v: unknown): v is CertRecord {
  const r = v as CertRecord;
  return typeof r === "object" && r !== null && typeof r.serial === "string" && typeof r.name === "string" &&
    (r.type === "server" || r.type === "client") && typeof r.notBefore === "string" &&
    typeof r.notAfter === "string" && Array.isArray(r.sans) &&
    (r.revokedAt === null || typeof r.revokedAt === "string");
}

export async function readIndex(dir: string): Promise<CaIndex> {
  const path = `${dir}/${INDEX_FILE}`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`No CA in ${dir}: ${INDEX_FILE} is missing`);
    throw e;
  }
  let parsed: CaIndex;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`${path}: ${(e as Error).message}`);
  }
  if (
    parsed?.version !== 1 || typeof parsed.crlNumber !== "number" || !Array.isArray(parsed.certs) ||
    !parsed.certs.every(isRecord)
  ) {
    throw new SyntaxError(`${path}: not a tsvpn CA index (version 1)`);
  }
  return parsed;
}

export async function writeIndex(dir: string, index: CaIndex): Promise<void> {
  const path = `${dir}/${INDEX_FILE}`;
  await writeFileAtomic(path, JSON.stringify(index, null, 2) + "\n", { mode: 0o644 });
}

/** The record for NAME that is not revoked, if any (at most one exists). */
export function activeRecord(index: CaIndex, name: string): CertRecord | undefined {
  return index.certs.find((c) => c.name === name && c.revokedAt === null);
}
