/**
 * Peer certificate verification for the control channel. Deno's node:tls
 * completes a server-side handshake even when the client's certificate comes
 * from an unknown CA, so tsvpn checks the peer certificate itself, the way
 * OpenVPN does with --ca, --crl-verify, --remote-cert-tls and --verify-x509-name:
 *
 *   1. the chain reaches a self-signed certificate of the CA bundle, every
 *      signature verifying (ECDSA or RSA) and every CA valid at `now`
 *   2. the chain policy holds (chain_policy.ts): no unhandled critical
 *      extension, pathLenConstraint and nameConstraints kept, a peer
 *      certificate that is no CA and may sign
 *   3. the peer certificate is valid at `now`
 *   4. extended key usage holds clientAuth / serverAuth and a key usage
 *      extension is present (remote-cert-tls)
 *   5. with a CRL configured, every certificate of the chain, the trust anchor
 *      included, is covered by a CRL from its issuer that verifies, is current
 *      and does not list it (OpenSSL's CRL_CHECK | CRL_CHECK_ALL, as OpenVPN's
 *      --crl-verify sets them): an expired CRL refuses everyone, with its
 *      nextUpdate in the reason
 *   6. the common name or a subject alternative name equals `expectedName`
 *
 * Failures are values, never exceptions: the peer controls the input.
 * Certificates and CRLs are read with the small DER reader (certificate.ts,
 * revocation_list.ts) and signatures checked with node:crypto (signature.ts):
 * the running server and client never load @peculiar/x509.
 */
import {
  basicConstraintsCa,
  certCommonName,
  type Certificate,
  extendedKeyUsages,
  KEY_USAGE_KEY_CERT_SIGN,
  keyUsageHas,
  OID_CLIENT_AUTH,
  OID_KEY_USAGE,
  OID_SERVER_AUTH,
  parseCertificate,
  subjectAltNames,
} from "./certificate.ts";
import { chainProblem, crlProblem } from "./chain_policy.ts";
import { decodePem } from "./pem.ts";
import { parsePeerCertificate } from "./peer_certificate.ts";
import { parseRevocationList, type RevocationList } from "./revocation_list.ts";
import { normalizeSerial } from "./serial.ts";
import { verifySignature } from "./signature.ts";

export type PeerUsage = "clientAuth" | "serverAuth";

export interface VerifyPeerOptions {
  /** PEM text; may hold several certificates (intermediates and roots). */
  ca: string;
  /** PEM text of one or more CRLs. */
  crl?: string;
  /** The extended key usage the peer must have: clientAuth for clients, serverAuth for servers. */
  usage: PeerUsage;
  /** @default new Date() */
  now?: Date;
  /** When set, the peer's CN or one of its DNS/IP subject alternative names must equal it. */
  expectedName?: string;
  /**
   * DER certificates the peer sent after its own (untrusted): they may link the
   * peer to a CA of the bundle but never stand in for one.
   */
  intermediates?: Uint8Array[];
}

export type VerifyPeerResult =
  | { ok: true; commonName: string; serial: string }
  | { ok: false; reason: string };

const MAX_CHAIN_DEPTH = 8;

const USAGE_LABEL: Record<PeerUsage, string> = {
  clientAuth: "TLS Web Client Authentication",
  serverAuth: "TLS Web Server Authentication",
};

/** Formats a date as OpenVPN-style UTC text without milliseconds: 2026-01-01T00:00:00Z. */
export function formatUtc(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function fail(reason: string): VerifyPeerResult {
  return { ok: false, reason };
}

function describe(cert: Certificate): string {
  return certCommonName(cert) ?? cert.subject.text;
}

/** The first common name in a DER certificate's subject; undefined when it has none or does not parse. */
export function commonNameOfDer(der: Uint8Array): string | undefined {
  try {
    return certCommonName(parseCertificate(der));
  } catch {
    return undefined;
  }
}

// Parsing the same CA bundle for every handshake is wasted work; keep the last few.
const caCache = new Map<string, Certificate[]>();
const crlCache = new Map<string, RevocationList[]>();
const CACHE_LIMIT = 4;

function cached<T>(cache: Map<string, T>, key: string, make: () => T): T {
  let v = cache.get(key);
  if (v === undefined) {
    v = make();
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
    cache.set(key, v);
  }
  return v;
}

function parseCaBundle(pem: string): Certificate[] {
  return cached(caCache, pem, () => {
    const certs = decodePem(pem, "CERTIFICATE").map((b) => parseCertificate(b));
    if (certs.length === 0) throw new SyntaxError("CA file holds no certificate");
    return certs;
  });
}

/** Parses PEM text holding one or more CRLs ("X509 CRL" or "CRL" blocks); throws when there is none or one is malformed. */
export function parseCrls(pem: string): RevocationList[] {
  return cached(crlCache, pem, () => {
    // OpenSSL writes "X509 CRL"; some tools write "CRL".
    const blocks = [...decodePem(pem, "X509 CRL"), ...decodePem(pem, "CRL")];
    const crls = blocks.map((b) => parseRevocationList(b));
    if (crls.length === 0) throw new SyntaxError("CRL file holds no CRL");
    return crls;
  });
}

function isCa(cert: Certificate): boolean {
  const ca = basicConstraintsCa(cert);
  if (ca === null) return cert.extensions.length === 0; // an X.509 v1 root
  if (!ca) return false;
  return keyUsageHas(cert, KEY_USAGE_KEY_CERT_SIGN) !== false;
}

// Signature checks between cached CA/CRL objects give the same answer every time.
const knownSignatures = new WeakMap<Certificate | RevocationList, WeakMap<Certificate, boolean>>();

/**
 * Whether `subject` carries a valid signature by `issuer`'s key. The
 * algorithm inside the signed part must equal the outer one (RFC 5280
 * 4.1.1.2, 5.1.1.2), as OpenSSL requires.
 */
function signedBy(subject: Certificate | RevocationList, issuer: Certificate): boolean {
  let byIssuer = knownSignatures.get(subject);
  const known = byIssuer?.get(issuer);
  if (known !== undefined) return known;
  const ok = sameBytes(subject.tbsSignatureAlgorithm.encoding, subject.signatureAlgorithm.encoding) &&
    verifySignature(subject.signatureAlgorithm, subject.tbs, subject.signature, issuer.publicKey);
  if (byIssuer === undefined) knownSignatures.set(subject, byIssuer = new WeakMap());
  byIssuer.set(issuer, ok);
  return ok;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Walks from `leaf` to a self-signed CA of the trusted bundle, through trusted
 * CAs or untrusted intermediates the peer sent. Returns the chain, leaf first
 * and trust anchor last, or a reason.
 */
function buildChain(
  leaf: Certificate,
  cas: Certificate[],
  intermediates: Certificate[],
  now: Date,
): Certificate[] | string {
  let current = leaf;
  const chain = [leaf];
  for (let depth = 0; depth < MAX_CHAIN_DEPTH; depth++) {
    let issuer: Certificate | undefined;
    let trusted = false;
    for (const ca of cas) {
      if (ca.subject.text === current.issuer.text && isCa(ca) && signedBy(current, ca)) {
        issuer = ca;
        trusted = true;
        break;
      }
    }
    if (issuer === undefined) {
      for (const ca of intermediates) {
        if (
          ca.subject.text === current.issuer.text && basicConstraintsCa(ca) !== null && isCa(ca) &&
          signedBy(current, ca)
        ) {
          issuer = ca;
          break;
        }
      }
    }
    if (issuer === undefined) return "certificate not signed by the configured CA";
    if (now < issuer.notBefore) {
      return `CA certificate ${describe(issuer)} not valid before ${formatUtc(issuer.notBefore)}`;
    }
    if (now > issuer.notAfter) {
      return `CA certificate ${describe(issuer)} expired on ${formatUtc(issuer.notAfter)}`;
    }
    chain.push(issuer);
    if (issuer.subject.text === issuer.issuer.text && signedBy(issuer, issuer)) {
      return trusted ? chain : "certificate not signed by the configured CA";
    }
    current = issuer;
  }
  return "certificate chain is longer than the configured CA allows";
}

/**
 * Why chain[i] fails its revocation check, or null: every CRL from its issuer
 * (the trust anchor is its own issuer) must verify and be usable, and none
 * may list it; at least one must be present.
 */
function revocationProblem(
  chain: Certificate[],
  i: number,
  crls: RevocationList[],
  now: Date,
): string | null {
  const subject = chain[i];
  const issuer = chain[i + 1] ?? subject;
  const mine = crls.filter((c) => c.issuer.text === issuer.subject.text);
  if (mine.length === 0) {
    return i === 0
      ? `no CRL from the certificate's issuer ${describe(issuer)}`
      : `no CRL from ${describe(issuer)}, the issuer of CA certificate ${describe(subject)}`;
  }
  const serial = normalizeSerial(subject.serialNumber);
  for (const crl of mine) {
    if (!signedBy(crl, issuer)) return `CRL is not signed by the certificate's issuer ${describe(issuer)}`;
    const problem = crlProblem(crl, issuer, now);
    if (problem !== null) return problem;
    if (crl.revokedSerials.some((revoked) => normalizeSerial(revoked) === serial)) {
      return i === 0
        ? `certificate revoked (serial ${serial})`
        : `CA certificate ${describe(subject)} revoked (serial ${serial})`;
    }
  }
  return null;
}

function nameMatches(cert: Certificate, commonName: string, expected: string): boolean {
  if (commonName === expected) return true;
  const san = subjectAltNames(cert);
  if (san === null) return false;
  const wanted = expected.toLowerCase();
  for (const name of san) {
    if (name.type === "dns" && name.value.toLowerCase() === wanted) return true;
    if (name.type === "ip" && name.value === expected) return true;
  }
  return false;
}

/**
 * Verifies a peer's DER certificate against the configured CA, CRL, usage and
 * name. The work is synchronous; the promise keeps the verifier contract open
 * to checks that are not.
 */
export function verifyPeerCertificate(
  der: Uint8Array,
  options: VerifyPeerOptions,
): Promise<VerifyPeerResult> {
  return Promise.resolve(verifyPeerCertificateNow(der, options));
}

function verifyPeerCertificateNow(der: Uint8Array, options: VerifyPeerOptions): VerifyPeerResult {
  const now = options.now ?? new Date();
  let cas: Certificate[];
  try {
    cas = parseCaBundle(options.ca);
  } catch (e) {
    return fail(`configured CA could not be parsed: ${(e as Error).message}`);
  }
  let crls: RevocationList[] | undefined;
  try {
    crls = options.crl === undefined ? undefined : parseCrls(options.crl);
  } catch (e) {
    return fail(`configured CRL could not be parsed: ${(e as Error).message}`);
  }
  let cert: Certificate;
  try {
    cert = parsePeerCertificate(der.slice());
  } catch (e) {
    return fail(`certificate could not be parsed: ${(e as Error).message}`);
  }
  let intermediates: Certificate[];
  try {
    intermediates = (options.intermediates ?? []).map((d) => parsePeerCertificate(d.slice()));
  } catch (e) {
    return fail(`intermediate certificate could not be parsed: ${(e as Error).message}`);
  }
  try {
    return check(cert, cas, intermediates, crls, options, now);
  } catch (e) {
    return fail(`certificate could not be verified: ${(e as Error).message}`);
  }
}

function check(
  cert: Certificate,
  cas: Certificate[],
  intermediates: Certificate[],
  crls: RevocationList[] | undefined,
  options: VerifyPeerOptions,
  now: Date,
): VerifyPeerResult {
  const chain = buildChain(cert, cas, intermediates, now);
  if (typeof chain === "string") return fail(chain);
  const policy = chainProblem(chain);
  if (policy !== null) return fail(policy);

  if (now < cert.notBefore) return fail(`certificate not valid before ${formatUtc(cert.notBefore)}`);
  if (now > cert.notAfter) return fail(`certificate expired on ${formatUtc(cert.notAfter)}`);

  const eku = extendedKeyUsages(cert);
  const wantedEku = options.usage === "clientAuth" ? OID_CLIENT_AUTH : OID_SERVER_AUTH;
  if (eku === null || !eku.includes(wantedEku)) {
    return fail(`certificate lacks extended key usage ${USAGE_LABEL[options.usage]}`);
  }
  if (cert.extensions.every((e) => e.oid !== OID_KEY_USAGE)) {
    return fail("certificate lacks the key usage extension");
  }

  const serial = normalizeSerial(cert.serialNumber);
  if (crls !== undefined) {
    for (let i = 0; i < chain.length; i++) {
      const problem = revocationProblem(chain, i, crls, now);
      if (problem !== null) return fail(problem);
    }
  }

  const commonName = certCommonName(cert);
  if (commonName === undefined) return fail("certificate has no common name");
  if (options.expectedName !== undefined && !nameMatches(cert, commonName, options.expectedName)) {
    return fail(`certificate name ${commonName} does not match expected name ${options.expectedName}`);
  }
  return { ok: true, commonName, serial };
}
