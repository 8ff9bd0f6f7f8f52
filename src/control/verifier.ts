/** Builds the session's PeerVerifier from pki/verify.ts (chain to CA, dates, EKU, CRL, optional name). */

import { type PeerUsage, verifyPeerCertificate } from "../pki/verify.ts";
import type { PeerVerifier } from "./session.ts";

export interface PkiVerifierOptions {
  /** PEM CA bundle. */
  ca: string;
  /** PEM CRL text, or a function returning the current one (re-read per handshake). */
  crl?: string | (() => string | undefined);
  /** clientAuth on servers, serverAuth on clients (remote-cert-tls). */
  usage: PeerUsage;
  /** Client side: the server's expected CN or subject alternative name (verify-x509-name). */
  expectedName?: string;
  now?: () => Date;
}

export function pkiVerifier(o: PkiVerifierOptions): PeerVerifier {
  return (der, chain) =>
    verifyPeerCertificate(der, {
      ca: o.ca,
      crl: typeof o.crl === "function" ? o.crl() : o.crl,
      usage: o.usage,
      expectedName: o.expectedName,
      now: o.now?.(),
      intermediates: chain,
    });
}
