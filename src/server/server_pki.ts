/**
 * The server's side of the PKI: its certificate, key and CA, the
 * control-channel wrap (tls-crypt or tls-auth), the client CRL kept current
 * by crl_watch.ts, and the check every client certificate goes through
 * (CA + CRL, clientAuth; a refusal is logged with the common name).
 */

import { readPemSource } from "../config/pem_source.ts";
import type { PemSource, PkiConfig } from "../config/schema.ts";
import type { ControlWrapConfig } from "../control/control_wrap.ts";
import type { PeerVerifier } from "../control/session.ts";
import type { TlsCredentials } from "../control/tls_channel.ts";
import { pkiVerifier } from "../control/verifier.ts";
import type { Logger } from "../log/log.ts";
import { parseStaticKey } from "../pki/static_key.ts";
import { commonNameOfDer, verifyPeerCertificate } from "../pki/verify.ts";
import { type CrlClient, CrlWatch } from "./crl_watch.ts";

/** Reads the CA, the server certificate and its key (in that order, so errors name the first bad one). */
export async function readServerCredentials(pki: PkiConfig): Promise<TlsCredentials> {
  const ca = await readPemSource(pki.ca);
  const cert = await readPemSource(pki.cert);
  const key = await readPemSource(pki.key);
  return { ca, cert, key };
}

/** The configured control-channel wrap; tls-crypt wins over tls-auth. */
export async function readControlWrap(pki: PkiConfig): Promise<ControlWrapConfig> {
  if (pki.tlsCrypt) {
    return { mode: "tls-crypt", key: parseStaticKey(await readPemSource(pki.tlsCrypt)) };
  }
  if (pki.tlsAuth) {
    return {
      mode: "tls-auth",
      key: parseStaticKey(await readPemSource(pki.tlsAuth.key)),
      digest: pki.tlsAuth.digest,
      direction: pki.tlsAuth.direction ?? undefined,
    };
  }
  return { mode: "none" };
}

export interface ClientCrlOptions {
  source: PemSource;
  /** The CA (PEM) client certificates chain to. */
  ca: string;
  log: Logger;
  /** Every verified session, with the certificate and chain of its latest (re)negotiation. */
  clients: () => CrlClient[];
}

/** Loads the client CRL and watches it (crl_watch.ts); a CRL that cannot be read is a start-up error. */
export function openClientCrl(o: ClientCrlOptions): Promise<CrlWatch> {
  return CrlWatch.open({
    source: o.source,
    log: o.log,
    verify: (certificate, chain, crl) =>
      verifyPeerCertificate(certificate, { ca: o.ca, crl, usage: "clientAuth", intermediates: chain }),
    clients: o.clients,
  });
}

/** Verifies client certificates against the CA and the CRL in force, logging each refusal. */
export function clientVerifier(o: { ca: string; crl: CrlWatch | null; log: Logger }): PeerVerifier {
  const verify = pkiVerifier({ ca: o.ca, crl: () => o.crl?.text, usage: "clientAuth" });
  return async (der, chain) => {
    const result = await verify(der, chain);
    if (!result.ok) {
      o.log.warn("client refused", { cn: commonNameOfDer(der.slice()) ?? "", reason: result.reason });
    }
    return result;
  };
}
