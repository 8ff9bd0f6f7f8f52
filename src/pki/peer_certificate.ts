/**
 * The gate every certificate a peer sends passes before verification: it must
 * be canonical DER as certificate.ts reads it, X.509 v3 without unique
 * identifiers (the profile Deno's TLS parser accepts), and Deno's own X.509 parser
 * (node:crypto X509Certificate, what node:tls reports the peer with) must read
 * it too. Deno's TLS client skips the CertificateVerify check for a
 * certificate its TLS parser rejects as badly encoded (docs/security.md), so
 * a certificate that is not exactly as a CA signs it is refused here, before
 * its signature chain is ever considered.
 */

import { Buffer } from "node:buffer";
import { X509Certificate } from "node:crypto";
import { type Certificate, parseCertificate } from "./certificate.ts";
import { DerError } from "./der.ts";

/** Why a peer's certificate was refused before verification. */
export class PeerCertificateError extends Error {
  override name = "PeerCertificateError";
}

/** Parses a certificate a peer sent; throws a PeerCertificateError whose message names what is wrong. */
export function parsePeerCertificate(der: Uint8Array): Certificate {
  let cert: Certificate;
  try {
    cert = parseCertificate(der);
  } catch (e) {
    if (!(e instanceof DerError)) throw e;
    throw new PeerCertificateError(`not a canonical DER certificate (${e.message})`);
  }
  // Deno's TLS (webpki) refuses these too, and then skips the handshake signature check.
  if (cert.version !== 2) {
    throw new PeerCertificateError(`not an X.509 v3 certificate (v${cert.version + 1})`);
  }
  if (cert.hasUniqueIdentifiers) {
    throw new PeerCertificateError("carries unique identifiers (RFC 5280 4.1.2.8)");
  }
  try {
    new X509Certificate(Buffer.from(der.buffer, der.byteOffset, der.length));
  } catch (e) {
    throw new PeerCertificateError(`unreadable by Deno's X.509 parser: ${(e as Error)?.message ?? e}`);
  }
  return cert;
}
