/**
 * What verify.ts refuses in a chain whose signatures already check out, and
 * in a CRL that covers it, as OpenSSL-based OpenVPN does (the OpenSSL error
 * in brackets):
 *
 *   - a duplicate extension, a malformed one tsvpn acts on, or a critical one
 *     it does not process, in any certificate of the chain
 *     [X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION, invalid certificate]
 *   - a peer certificate with CA:TRUE, or whose key usage lacks
 *     digitalSignature (tsvpn's own rule: the peer signs the TLS handshake)
 *   - more intermediate CAs below a CA than its pathLenConstraint allows
 *     [X509_V_ERR_PATH_LENGTH_EXCEEDED]
 *   - a name outside a CA's nameConstraints, or constraints on a name form
 *     tsvpn does not enforce (name_constraints.ts)
 *     [X509_V_ERR_PERMITTED_VIOLATION, _EXCLUDED_VIOLATION, _UNSUPPORTED_CONSTRAINT_TYPE]
 *   - a CRL whose issuer's key usage lacks cRLSign, with a critical
 *     extension, not yet valid, or past its nextUpdate
 *     [X509_V_ERR_KEYUSAGE_NO_CRL_SIGN, _UNHANDLED_CRITICAL_CRL_EXTENSION,
 *     _CRL_NOT_YET_VALID, _CRL_HAS_EXPIRED]
 *
 * Chains run from the peer certificate (index 0) to the trust anchor.
 * Problems are reasons (strings), never exceptions; a malformed extension
 * value found here throws a DerError, which verify.ts turns into a reason.
 */

import { certCommonName, type Certificate } from "./certificate.ts";
import {
  crlExtensionProblem,
  extensionProblem,
  keyUsageBits,
  KU_CRL_SIGN,
  KU_DIGITAL_SIGNATURE,
  readBasicConstraints,
} from "./extensions.ts";
import { constrainedNames, nameConstraintsOf, nameViolation, unsupportedForm } from "./name_constraints.ts";
import type { RevocationList } from "./revocation_list.ts";

function describe(cert: Certificate): string {
  return certCommonName(cert) ?? cert.subject.text;
}

/** "certificate" for the peer's own, "CA certificate NAME" for the others. */
function who(chain: Certificate[], i: number): string {
  return i === 0 ? "certificate" : `CA certificate ${describe(chain[i])}`;
}

function utc(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function selfIssued(cert: Certificate): boolean {
  return cert.subject.text === cert.issuer.text;
}

/** Why the chain is refused, or null. */
export function chainProblem(chain: Certificate[]): string | null {
  for (let i = 0; i < chain.length; i++) {
    const problem = extensionProblem(chain[i]);
    if (problem !== null) return `${who(chain, i)} has ${problemArticle(problem)}`;
  }
  return peerProblem(chain[0]) ?? pathLengthProblem(chain) ?? nameConstraintProblem(chain);
}

function problemArticle(problem: string): string {
  return /^[aeiou]/.test(problem) ? `an ${problem}` : `a ${problem}`;
}

function peerProblem(cert: Certificate): string | null {
  if (readBasicConstraints(cert)?.ca) return "certificate is a CA certificate (basicConstraints CA:TRUE)";
  const ku = keyUsageBits(cert);
  if (ku !== null && (ku & KU_DIGITAL_SIGNATURE) === 0) {
    return "certificate key usage lacks digitalSignature";
  }
  return null;
}

/** RFC 5280 6.1.4 (l)/(m): self-issued intermediates do not count against pathLenConstraint. */
function pathLengthProblem(chain: Certificate[]): string | null {
  let below = 0;
  for (let i = 1; i < chain.length; i++) {
    const limit = readBasicConstraints(chain[i])?.pathLen ?? null;
    if (limit !== null && below > limit) {
      return `${who(chain, i)} allows ${limit} intermediate CA(s) below it (pathLenConstraint), ` +
        `the chain has ${below}`;
    }
    if (!selfIssued(chain[i])) below++;
  }
  return null;
}

/** Each CA's constraints apply to every certificate below it but self-issued intermediates (RFC 5280 6.1.3 (b)). */
function nameConstraintProblem(chain: Certificate[]): string | null {
  for (let j = 1; j < chain.length; j++) {
    const nc = nameConstraintsOf(chain[j]);
    if (nc === null) continue;
    const form = unsupportedForm(nc);
    if (form !== null) return `${who(chain, j)} has nameConstraints on ${form}, which tsvpn does not enforce`;
    for (let i = 0; i < j; i++) {
      if (i > 0 && selfIssued(chain[i])) continue;
      const names = constrainedNames(chain[i], i === 0);
      const violation = nameViolation(names, nc);
      if (violation !== null) return `${who(chain, i)}: ${violation} of ${who(chain, j)}`;
    }
  }
  return null;
}

/**
 * Why `crl`, whose signature by `issuer` already verified, cannot be used at
 * `now`, or null. The caller logs the reason, so an expired CRL is named
 * with its nextUpdate.
 */
export function crlProblem(crl: RevocationList, issuer: Certificate, now: Date): string | null {
  const from = `CRL from ${describe(issuer)}`;
  const ku = keyUsageBits(issuer);
  if (ku !== null && (ku & KU_CRL_SIGN) === 0) return `${from}: its issuer's key usage lacks cRLSign`;
  const ext = crlExtensionProblem(crl);
  if (ext !== null) return `${from} has ${problemArticle(ext)}`;
  if (now < crl.thisUpdate) return `${from} is not yet valid (thisUpdate ${utc(crl.thisUpdate)})`;
  if (crl.nextUpdate !== null && now > crl.nextUpdate) {
    return `${from} has expired (nextUpdate ${utc(crl.nextUpdate)})`;
  }
  return null;
}
