/**
 * Peer certificate verification for the control channel. Deno's node:tls
 * completes a server-side handshake even when the client's certificate comes
 * from an unknown CA, so tsvpn checks the peer certificate itself, the way
 * OpenVPN does with --ca, --crl-verify, --remote-cert-tls and --verify-x509-name:
 *
 *   1. the chain reaches a self-signed certificate of the CA bundle, every
 *      signature verifying (ECDSA or RSA) and every CA valid at `now`
 *   2. the peer certificate is valid at `now`
 *   3. extended key usage holds clientAuth / serverAuth and a key usage
 *      extension is present (remote-cert-tls)
 *   4. the CRL from the certificate's issuer verifies and does not list it
 *   5. the common name or a subject alternative name equals `expectedName`
 *
 * Failures are values, never exceptions: the peer controls the input.
 * A CRL past its nextUpdate is still applied rather than refusing everyone.
 */
import { decodePem } from "./pem.ts";
import { normalizeSerial } from "./serial.ts";
import {
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
  X509Certificate,
  X509Crl,
} from "./x509.ts";

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
const CN_OID = "2.5.4.3";

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

function describe(cert: X509Certificate): string {
  return commonNameOf(cert) ?? cert.subject;
}

/** The subject's first common name, or undefined. */
export function commonNameOf(cert: X509Certificate): string | undefined {
  const values = cert.subjectName.getField(CN_OID);
  return values.length > 0 ? values[0] : undefined;
}

// Parsing the same CA bundle for every handshake is wasted work; keep the last few.
const caCache = new Map<string, X509Certificate[]>();
const crlCache = new Map<string, X509Crl[]>();
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

function parseCaBundle(pem: string): X509Certificate[] {
  return cached(caCache, pem, () => {
    const certs = decodePem(pem, "CERTIFICATE").map((b) => new X509Certificate(b));
    if (certs.length === 0) throw new SyntaxError("CA file holds no certificate");
    return certs;
  });
}

function parseCrls(pem: string): X509Crl[] {
  return cached(crlCache, pem, () => {
    // OpenSSL writes "X509 CRL"; some tools write "CRL".
    const blocks = [...decodePem(pem, "X509 CRL"), ...decodePem(pem, "CRL")];
    const crls = blocks.map((b) => new X509Crl(b));
    if (crls.length === 0) throw new SyntaxError("CRL file holds no CRL");
    return crls;
  });
}

function isCa(cert: X509Certificate): boolean {
  const bc = cert.getExtension(BasicConstraintsExtension);
  if (bc === null) return cert.extensions.length === 0; // an X.509 v1 root
  if (!bc.ca) return false;
  const ku = cert.getExtension(KeyUsagesExtension);
  return ku === null || (ku.usages & KeyUsageFlags.keyCertSign) !== 0;
}

// Signature checks between cached CA/CRL objects give the same answer every time.
const knownSignatures = new WeakMap<X509Certificate | X509Crl, WeakMap<X509Certificate, boolean>>();

async function memo(
  subject: X509Certificate | X509Crl,
  issuer: X509Certificate,
  check: () => Promise<boolean>,
): Promise<boolean> {
  let byIssuer = knownSignatures.get(subject);
  const known = byIssuer?.get(issuer);
  if (known !== undefined) return known;
  let ok: boolean;
  try {
    ok = await check();
  } catch {
    ok = false;
  }
  if (byIssuer === undefined) knownSignatures.set(subject, byIssuer = new WeakMap());
  byIssuer.set(issuer, ok);
  return ok;
}

async function signedBy(cert: X509Certificate, issuer: X509Certificate): Promise<boolean> {
  return await memo(cert, issuer, () => cert.verify({ publicKey: issuer.publicKey, signatureOnly: true }));
}

/**
 * Walks from `leaf` to a self-signed CA of the trusted bundle, through trusted
 * CAs or untrusted intermediates the peer sent. Returns the leaf's issuer
 * certificate, or a reason.
 */
async function buildChain(
  leaf: X509Certificate,
  cas: X509Certificate[],
  intermediates: X509Certificate[],
  now: Date,
): Promise<X509Certificate | string> {
  let current = leaf;
  let leafIssuer: X509Certificate | undefined;
  for (let depth = 0; depth < MAX_CHAIN_DEPTH; depth++) {
    let issuer: X509Certificate | undefined;
    let trusted = false;
    for (const ca of cas) {
      if (ca.subject === current.issuer && isCa(ca) && await signedBy(current, ca)) {
        issuer = ca;
        trusted = true;
        break;
      }
    }
    if (issuer === undefined) {
      for (const ca of intermediates) {
        const bc = ca.getExtension(BasicConstraintsExtension);
        if (ca.subject === current.issuer && bc !== null && isCa(ca) && await signedBy(current, ca)) {
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
    leafIssuer ??= issuer;
    if (issuer.subject === issuer.issuer && await signedBy(issuer, issuer)) {
      return trusted ? leafIssuer : "certificate not signed by the configured CA";
    }
    current = issuer;
  }
  return "certificate chain is longer than the configured CA allows";
}

function nameMatches(cert: X509Certificate, commonName: string, expected: string): boolean {
  if (commonName === expected) return true;
  const san = cert.getExtension(SubjectAlternativeNameExtension);
  if (san === null) return false;
  const wanted = expected.toLowerCase();
  for (const name of san.names.items) {
    if (name.type === "dns" && name.value.toLowerCase() === wanted) return true;
    if (name.type === "ip" && name.value === expected) return true;
  }
  return false;
}

/** Verifies a peer's DER certificate against the configured CA, CRL, usage and name. */
export async function verifyPeerCertificate(
  der: Uint8Array,
  options: VerifyPeerOptions,
): Promise<VerifyPeerResult> {
  const now = options.now ?? new Date();
  let cas: X509Certificate[];
  try {
    cas = parseCaBundle(options.ca);
  } catch (e) {
    return fail(`configured CA could not be parsed: ${(e as Error).message}`);
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(new Uint8Array(der));
  } catch (e) {
    return fail(`certificate could not be parsed: ${(e as Error).message}`);
  }
  let intermediates: X509Certificate[];
  try {
    intermediates = (options.intermediates ?? []).map((d) => new X509Certificate(new Uint8Array(d)));
  } catch (e) {
    return fail(`intermediate certificate could not be parsed: ${(e as Error).message}`);
  }
  try {
    return await check(cert, cas, intermediates, options, now);
  } catch (e) {
    return fail(`certificate could not be verified: ${(e as Error).message}`);
  }
}

async function check(
  cert: X509Certificate,
  cas: X509Certificate[],
  intermediates: X509Certificate[],
  options: VerifyPeerOptions,
  now: Date,
): Promise<VerifyPeerResult> {
  const issuer = await buildChain(cert, cas, intermediates, now);
  if (typeof issuer === "string") return fail(issuer);

  if (now < cert.notBefore) return fail(`certificate not valid before ${formatUtc(cert.notBefore)}`);
  if (now > cert.notAfter) return fail(`certificate expired on ${formatUtc(cert.notAfter)}`);

  const eku = cert.getExtension(ExtendedKeyUsageExtension);
  const wantedEku = options.usage === "clientAuth"
    ? ExtendedKeyUsage.clientAuth
    : ExtendedKeyUsage.serverAuth;
  if (eku === null || !eku.usages.some((u) => u === wantedEku)) {
    return fail(`certificate lacks extended key usage ${USAGE_LABEL[options.usage]}`);
  }
  if (cert.getExtension(KeyUsagesExtension) === null) {
    return fail("certificate lacks the key usage extension");
  }

  const serial = normalizeSerial(cert.serialNumber);
  if (options.crl !== undefined) {
    let crls: X509Crl[];
    try {
      crls = parseCrls(options.crl);
    } catch (e) {
      return fail(`configured CRL could not be parsed: ${(e as Error).message}`);
    }
    const mine = crls.filter((c) => c.issuer === issuer.subject);
    if (mine.length === 0) return fail(`no CRL from the certificate's issuer ${describe(issuer)}`);
    for (const crl of mine) {
      const valid = await memo(crl, issuer, () => crl.verify({ publicKey: issuer.publicKey }));
      if (!valid) return fail(`CRL is not signed by the certificate's issuer ${describe(issuer)}`);
      for (const entry of crl.entries) {
        if (normalizeSerial(entry.serialNumber) === serial) {
          return fail(`certificate revoked (serial ${serial})`);
        }
      }
    }
  }

  const commonName = commonNameOf(cert);
  if (commonName === undefined) return fail("certificate has no common name");
  if (options.expectedName !== undefined && !nameMatches(cert, commonName, options.expectedName)) {
    return fail(`certificate name ${commonName} does not match expected name ${options.expectedName}`);
  }
  return { ok: true, commonName, serial };
}
