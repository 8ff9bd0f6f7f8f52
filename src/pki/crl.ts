/**
 * DIR/crl.pem: an X.509 v2 CRL signed by the CA, listing every revoked serial
 * in index.json, with a CRL number and a nextUpdate. It is rewritten whole on
 * every revoke (and at init, so `crl-verify` has a file from day one).
 */
import { writeFileAtomic } from "../fs/safe_file.ts";
import type { CaIndex } from "./ca_index.ts";
import { encodePem } from "./pem.ts";
import { AuthorityKeyIdentifierExtension, Extension, X509CrlGenerator } from "./x509.ts";
import type { X509Certificate, X509Crl } from "./x509.ts";

/** What signing a CRL needs of the CA (a `LoadedCa` is one). */
export interface CrlSigner {
  cert: X509Certificate;
  key: CryptoKey;
  signingAlgorithm: EcdsaParams;
}

/** How long a CRL stays current; OpenSSL refuses an expired CRL, so re-run revoke or refreshCrl before then. */
export const CRL_DAYS = 180;
const CRL_NUMBER_OID = "2.5.29.20";

/** RFC 5280 times carry no fractional seconds. */
function wholeSeconds(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

/** DER INTEGER for a non-negative safe integer. */
function derInteger(n: number): Uint8Array<ArrayBuffer> {
  const bytes: number[] = [];
  do {
    bytes.unshift(n % 256);
    n = Math.floor(n / 256);
  } while (n > 0);
  if (bytes[0] & 0x80) bytes.unshift(0);
  return Uint8Array.from([0x02, bytes.length, ...bytes]);
}

/** Signs a CRL listing the revoked records of `index`; `crlNumber` goes in the CRL number extension. */
export async function buildCrl(
  ca: CrlSigner,
  index: CaIndex,
  crlNumber: number,
  now: Date,
): Promise<X509Crl> {
  // Each entry carries an invalidity date: @peculiar/x509 2.2 writes an empty (non-DER)
  // extensions list for entries without any, which strict parsers may refuse.
  const entries = index.certs.filter((c) => c.revokedAt !== null).map((c) => ({
    serialNumber: c.serial,
    revocationDate: wholeSeconds(new Date(c.revokedAt!)),
    invalidity: wholeSeconds(new Date(c.revokedAt!)),
  }));
  return await X509CrlGenerator.create({
    issuer: ca.cert.subjectName,
    thisUpdate: wholeSeconds(now),
    nextUpdate: wholeSeconds(new Date(now.getTime() + CRL_DAYS * 86_400_000)),
    entries,
    signingKey: ca.key,
    signingAlgorithm: ca.signingAlgorithm,
    extensions: [
      await AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
      new Extension(CRL_NUMBER_OID, false, derInteger(crlNumber)),
    ],
  });
}

/** Writes DIR/crl.pem with the next CRL number; the caller persists `index` (its crlNumber advances). */
export async function writeCrl(dir: string, ca: CrlSigner, index: CaIndex, now: Date): Promise<X509Crl> {
  const crl = await buildCrl(ca, index, index.crlNumber + 1, now);
  index.crlNumber += 1;
  // Public (stock OpenVPN servers read it after dropping privileges), but never written through a symlink.
  await writeFileAtomic(`${dir}/crl.pem`, encodePem(crl.rawData, "X509 CRL"), { mode: 0o644 });
  return crl;
}
