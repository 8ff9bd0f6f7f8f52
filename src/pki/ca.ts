/**
 * tsvpn's built-in certificate authority: a directory of PEM files that
 * OpenSSL-based OpenVPN accepts as they are.
 *
 *   DIR/ca.crt  DIR/ca.key (0600)   the CA (ECDSA P-256 unless asked otherwise)
 *   DIR/NAME.crt DIR/NAME.key (0600) issued server and client certificates
 *   DIR/crl.pem                      CRL signed by the CA (see crl.ts)
 *   DIR/index.json                   issued/revoked records (see ca_index.ts)
 *   DIR/tc.key                       optional tls-crypt key (see tls_crypt_key.ts)
 */
import {
  activeRecord,
  type CertRecord,
  type CertType,
  emptyIndex,
  readIndex,
  writeIndex,
} from "./ca_index.ts";
import { writeCrl } from "./crl.ts";
import {
  type EcCurve,
  generateEcKeyPair,
  hashForCurve,
  importEcPrivateKeyPem,
  privateKeyToPem,
} from "./pem.ts";
import { pathExists } from "../fs/path_exists.ts";
import { writeFileAtomic } from "../fs/safe_file.ts";
import { writeNewSecretFile, writeSecretFile } from "./secret_file.ts";
export { writeSecretFile };
import { normalizeSerial, randomSerial } from "./serial.ts";
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  type Extension,
  type JsonGeneralName,
  KeyUsageFlags,
  KeyUsagesExtension,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate,
  X509CertificateGenerator,
} from "./x509.ts";

export type { CertRecord, CertType } from "./ca_index.ts";

const DAY_MS = 86_400_000;
/** Issued certificates start a little in the past so a peer whose clock lags still accepts them. */
const BACKDATE_MS = 5 * 60_000;
export const CA_DAYS = 3650;
export const CERT_DAYS = 825;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const RESERVED_NAMES = new Set(["ca", "tc", "crl", "index"]);

export interface InitCaOptions {
  /** @default "tsvpn CA" */
  commonName?: string;
  /** @default "P-256" */
  curve?: EcCurve;
  /** @default 3650 */
  days?: number;
  now?: Date;
}

export interface IssueOptions {
  name: string;
  type: CertType;
  /** Server subject alternative names: DNS names or IP addresses ("DNS:" / "IP:" prefixes allowed). */
  sans?: string[];
  /** @default 825 */
  days?: number;
  now?: Date;
}

export interface IssuedCertificate {
  record: CertRecord;
  certPath: string;
  keyPath: string;
}

/** A loaded CA: certificate, signing key and the curve/hash pair it signs with. */
export interface LoadedCa {
  cert: X509Certificate;
  key: CryptoKey;
  curve: EcCurve;
  signingAlgorithm: EcdsaParams;
}

/** Throws when NAME cannot safely be a file name in DIR. */
export function validateName(name: string): void {
  if (!NAME_RE.test(name)) {
    throw new RangeError(`Invalid name "${name}": use letters, digits, '.', '_' or '-' (at most 64)`);
  }
  if (RESERVED_NAMES.has(name)) throw new RangeError(`Invalid name "${name}": reserved for CA files`);
}

/** Creates DIR (if needed), ca.crt, ca.key, index.json and an empty crl.pem. Refuses to overwrite a CA. */
export async function initCa(dir: string, options: InitCaOptions = {}): Promise<X509Certificate> {
  const curve = options.curve ?? "P-256";
  const now = options.now ?? new Date();
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  for (const f of ["ca.crt", "ca.key", "index.json"]) {
    if (await pathExists(`${dir}/${f}`)) {
      throw new Error(`CA already exists in ${dir} (${f}); refusing to overwrite`);
    }
  }
  const keys = await generateEcKeyPair(curve);
  const cert = await X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [options.commonName ?? "tsvpn CA"] }],
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + (options.days ?? CA_DAYS) * DAY_MS),
    keys,
    signingAlgorithm: { name: "ECDSA", hash: hashForCurve(curve) },
    extensions: [
      new BasicConstraintsExtension(true, undefined, true),
      new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
      await SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  await writeNewSecretFile(`${dir}/ca.key`, await privateKeyToPem(keys.privateKey));
  await writeFileAtomic(`${dir}/ca.crt`, cert.toString("pem") + "\n", { mode: 0o644 });
  const index = emptyIndex();
  const ca = {
    cert,
    key: keys.privateKey,
    curve,
    signingAlgorithm: { name: "ECDSA", hash: hashForCurve(curve) },
  };
  await writeCrl(dir, ca, index, now);
  await writeIndex(dir, index);
  return cert;
}

/** Loads DIR/ca.crt and DIR/ca.key. */
export async function loadCa(dir: string): Promise<LoadedCa> {
  let certPem: string, keyPem: string;
  try {
    certPem = await Deno.readTextFile(`${dir}/ca.crt`);
    keyPem = await Deno.readTextFile(`${dir}/ca.key`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`No CA in ${dir}: run "tsvpn pki init --dir ${dir}"`);
    }
    throw e;
  }
  const cert = new X509Certificate(certPem);
  const alg = cert.publicKey.algorithm as EcKeyAlgorithm;
  if (alg.name !== "ECDSA" || (alg.namedCurve !== "P-256" && alg.namedCurve !== "P-384")) {
    throw new Error(`${dir}/ca.crt: only ECDSA P-256 and P-384 CAs can sign here`);
  }
  const curve = alg.namedCurve as EcCurve;
  const key = await importEcPrivateKeyPem(keyPem, curve);
  return { cert, key, curve, signingAlgorithm: { name: "ECDSA", hash: hashForCurve(curve) } };
}

function isIpv4(s: string): boolean {
  const parts = s.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

function isIpv6(s: string): boolean {
  if (!s.includes(":") || !/^[0-9A-Fa-f:.]+$/.test(s)) return false;
  try {
    new URL(`http://[${s}]/`);
    return true;
  } catch {
    return false;
  }
}

const DNS_RE =
  /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Parses one --san value into a general name; plain values are IPs when they look like one, else DNS. */
export function parseSan(value: string): JsonGeneralName {
  const m = /^(DNS|IP):(.*)$/i.exec(value);
  const kind = m?.[1].toUpperCase();
  const v = m ? m[2] : value;
  if (kind === "IP" || (kind === undefined && (isIpv4(v) || isIpv6(v)))) {
    if (!isIpv4(v) && !isIpv6(v)) throw new RangeError(`Invalid IP address in SAN "${value}"`);
    return { type: "ip", value: v };
  }
  if (!DNS_RE.test(v) || v.length > 253) throw new RangeError(`Invalid DNS name in SAN "${value}"`);
  return { type: "dns", value: v };
}

/** Issues a server or client certificate as DIR/NAME.crt + DIR/NAME.key. Refuses a name already in use. */
export async function issueCertificate(dir: string, options: IssueOptions): Promise<IssuedCertificate> {
  const { name, type } = options;
  validateName(name);
  const sans = (options.sans ?? []).map(parseSan);
  if (sans.length > 0 && type !== "server") {
    throw new RangeError("Subject alternative names are for server certificates");
  }
  const ca = await loadCa(dir);
  const index = await readIndex(dir);
  const existing = activeRecord(index, name);
  if (existing !== undefined) {
    throw new Error(
      `A ${existing.type} certificate named "${name}" already exists (serial ${existing.serial})`,
    );
  }
  const { cert, keyPem } = await signCertificate(ca, options);
  const certPath = `${dir}/${name}.crt`;
  const keyPath = `${dir}/${name}.key`;
  // A revoked certificate's name may be issued again: its old key is replaced.
  await writeSecretFile(keyPath, keyPem);
  await writeFileAtomic(certPath, cert.toString("pem") + "\n", { mode: 0o644 });
  const record: CertRecord = {
    serial: normalizeSerial(cert.serialNumber),
    name,
    type,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    sans: sans.map((s) => `${s.type === "ip" ? "IP" : "DNS"}:${s.value}`),
    revokedAt: null,
  };
  index.certs.push(record);
  await writeIndex(dir, index);
  return { record, certPath, keyPath };
}

/**
 * A new key pair and a certificate for it signed by CA, in memory (issueCertificate writes them and records
 * them in the index; load generators issue thousands this way without touching the index).
 */
export async function signCertificate(
  ca: LoadedCa,
  options: IssueOptions,
): Promise<{ cert: X509Certificate; keyPem: string }> {
  const { type } = options;
  const sans = (options.sans ?? []).map(parseSan);
  const now = options.now ?? new Date();
  const keys = await generateEcKeyPair(ca.curve);
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  let notAfter = new Date(now.getTime() + (options.days ?? CERT_DAYS) * DAY_MS);
  if (notAfter > ca.cert.notAfter) notAfter = ca.cert.notAfter;
  const extensions: Extension[] = [
    new BasicConstraintsExtension(false, undefined, true),
    new KeyUsagesExtension(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyAgreement, true),
    new ExtendedKeyUsageExtension([
      type === "server" ? ExtendedKeyUsage.serverAuth : ExtendedKeyUsage.clientAuth,
    ]),
    await SubjectKeyIdentifierExtension.create(keys.publicKey),
    await AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
  ];
  if (sans.length > 0) extensions.push(new SubjectAlternativeNameExtension(sans));
  const cert = await X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ CN: [options.name] }],
    issuer: ca.cert.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: ca.signingAlgorithm,
    extensions,
  });
  return { cert, keyPem: await privateKeyToPem(keys.privateKey) };
}

/** Every certificate the CA issued, in issue order. */
export async function listCertificates(dir: string): Promise<CertRecord[]> {
  return (await readIndex(dir)).certs;
}
