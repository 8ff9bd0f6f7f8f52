/**
 * Test support: certificates and CRLs of many shapes made with the openssl
 * CLI (RSA, RSA-PSS, ECDSA P-256/P-384, Ed25519; UTF-8, multi-valued and
 * escaped names; IPv4/IPv6 SANs; dates past 2049), to check the DER readers
 * against @peculiar/x509 and the signature checks against what openssl made.
 */

import { decodePem } from "../../pki/pem.ts";
import { runOpenssl } from "./openssl.ts";

export interface TestCert {
  name: string;
  der: Uint8Array;
  dir: string;
}

export const KEY_ARGS: Record<string, string[]> = {
  rsa: ["-newkey", "rsa:2048"],
  pss: ["-newkey", "rsa-pss", "-pkeyopt", "rsa_keygen_bits:2048"],
  p256: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
  p384: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
  ed25519: ["-newkey", "ed25519"],
};

/** The certificate DIR/NAME.crt as made. */
export async function readTestCert(dir: string, name: string): Promise<TestCert> {
  return { name, dir, der: decodePem(await Deno.readTextFile(`${dir}/${name}.crt`), "CERTIFICATE")[0] };
}

/** A key, a request, and the certificate signed from it (`openssl req`, then `openssl x509 -req`). */
export interface CertRequest {
  name: string;
  /** A KEY_ARGS key. */
  kind: string;
  subject: string;
  /** Exactly the extension lines of the certificate. */
  ext: string[];
  days: number;
  /** Who signs: `-CA`/`-CAkey` files, or `-signkey` for a self-signed certificate. */
  signer: string[];
  /** Extra `openssl req` arguments (e.g. how the subject is read). */
  requestArgs?: string[];
  /** Extra `openssl x509 -req` arguments (serial, -sigopt). */
  signArgs?: string[];
}

/** Makes DIR/NAME.key, .csr, .ext and .crt as `r` says. */
export async function requestAndSign(dir: string, r: CertRequest): Promise<TestCert> {
  await runOpenssl([
    "req",
    "-new",
    "-nodes",
    ...(r.requestArgs ?? []),
    ...KEY_ARGS[r.kind],
    "-keyout",
    `${r.name}.key`,
    "-out",
    `${r.name}.csr`,
    "-subj",
    r.subject,
  ], dir);
  await Deno.writeTextFile(`${dir}/${r.name}.ext`, r.ext.join("\n") + "\n");
  await runOpenssl([
    "x509",
    "-req",
    "-in",
    `${r.name}.csr`,
    ...r.signer,
    "-out",
    `${r.name}.crt`,
    "-days",
    String(r.days),
    "-extfile",
    `${r.name}.ext`,
    ...(r.signArgs ?? []),
  ], dir);
  return await readTestCert(dir, r.name);
}

/** A self-signed CA of `kind` in DIR/NAME.crt, DIR/NAME.key. */
export async function selfSignedCa(
  dir: string,
  name: string,
  kind: string,
  extra: string[] = [],
): Promise<TestCert> {
  await runOpenssl([
    "req",
    "-x509",
    "-nodes",
    ...KEY_ARGS[kind],
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.crt`,
    "-subj",
    `/CN=${name}`,
    "-days",
    "3650",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    ...extra,
  ], dir);
  return await readTestCert(dir, name);
}

export interface IssueOptions {
  kind?: string;
  subject?: string;
  /** Lines of an openssl extension file. */
  ext?: string[];
  days?: number;
  /** Extra `openssl x509 -req` arguments (e.g. -sigopt). */
  sign?: string[];
  serial?: string;
}

/** Issues DIR/NAME.crt signed by `ca` (its key in DIR/CA.key). */
export async function issue(dir: string, ca: string, name: string, o: IssueOptions = {}): Promise<TestCert> {
  return await requestAndSign(dir, {
    name,
    kind: o.kind ?? "p256",
    subject: o.subject ?? `/CN=${name}`,
    ext: o.ext ?? ["basicConstraints=CA:FALSE", "keyUsage=digitalSignature", "extendedKeyUsage=clientAuth"],
    days: o.days ?? 30,
    signer: ["-CA", `${ca}.crt`, "-CAkey", `${ca}.key`],
    requestArgs: ["-utf8", "-multivalue-rdn"],
    signArgs: [
      ...(o.serial !== undefined ? ["-set_serial", o.serial] : ["-CAcreateserial"]),
      ...(o.sign ?? []),
    ],
  });
}

/** A CRL from `ca` listing `revoked` (certificate files in DIR), made with `openssl ca -gencrl`. */
export async function crlOf(
  dir: string,
  ca: string,
  revoked: string[],
  reason?: string,
): Promise<Uint8Array> {
  return await crlWith(dir, ca, { revoked, reason });
}

export interface CrlOptions {
  /** Certificate files DIR/NAME.crt to list. */
  revoked?: string[];
  /** The revocation reason given for each (openssl -crl_reason). */
  reason?: string;
  /** openssl times, YYYYMMDDHHMMSSZ. */
  lastUpdate?: string;
  nextUpdate?: string;
  /** Lines of a crl_extensions section. */
  ext?: string[];
}

/** A CRL signed by `ca` (DIR/CA.crt, DIR/CA.key), made with `openssl ca -gencrl`. */
export async function crlWith(dir: string, ca: string, o: CrlOptions = {}): Promise<Uint8Array> {
  const db = await Deno.makeTempDir({ dir, prefix: `${ca}-crl-` });
  await Deno.writeTextFile(`${db}/index.txt`, "");
  await Deno.writeTextFile(`${db}/crlnumber`, "01\n");
  const ext = o.ext ?? [];
  await Deno.writeTextFile(
    `${db}/openssl.cnf`,
    `[ ca ]\ndefault_ca = d\n[ d ]\ndatabase = ${db}/index.txt\ncrlnumber = ${db}/crlnumber\n` +
      `certificate = ${dir}/${ca}.crt\nprivate_key = ${dir}/${ca}.key\ndefault_md = sha256\n` +
      `default_crl_days = 30\n${ext.length > 0 ? "crl_extensions = crl_ext\n" : ""}` +
      `[ crl_ext ]\n${ext.join("\n")}\n`,
  );
  for (const name of o.revoked ?? []) {
    const reason = o.reason ? ["-crl_reason", o.reason] : [];
    await runOpenssl(["ca", "-config", `${db}/openssl.cnf`, "-revoke", `${dir}/${name}.crt`, ...reason], dir);
  }
  await runOpenssl([
    "ca",
    "-config",
    `${db}/openssl.cnf`,
    "-gencrl",
    "-out",
    `${db}/crl.pem`,
    ...(o.lastUpdate ? ["-crl_lastupdate", o.lastUpdate] : []),
    ...(o.nextUpdate ? ["-crl_nextupdate", o.nextUpdate] : []),
  ], dir);
  return decodePem(await Deno.readTextFile(`${db}/crl.pem`), "X509 CRL")[0];
}

/** A varied set of certificates, all in one temporary directory (the caller removes `dir`). */
export async function certificateZoo(): Promise<{ dir: string; certs: TestCert[] }> {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn_pki_zoo_" });
  const certs: TestCert[] = [];
  for (const kind of Object.keys(KEY_ARGS)) certs.push(await selfSignedCa(dir, `ca-${kind}`, kind));
  certs.push(
    await issue(dir, "ca-rsa", "server-san", {
      kind: "rsa",
      ext: [
        "basicConstraints=CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth,clientAuth",
        "subjectAltName=DNS:vpn.example.com,IP:192.0.2.1,IP:2001:db8::1,IP:::1,IP:2001:db8:0:0:1:0:0:1," +
        "IP:fe80:0:0:1:0:0:0:5,email:ops@example.com",
      ],
    }),
    await issue(dir, "ca-p256", "utf8-name", {
      subject: "/CN=Jürgen Ö+OU=dev/O=Example\\, Inc./C=DE/emailAddress=j@example.com",
      serial: "0x00ff00112233445566778899aabbccddeeff",
    }),
    await issue(dir, "ca-p384", "long-lived", { days: 12000, serial: "0x05" }),
    await issue(dir, "ca-pss", "pss-signed", { kind: "rsa", sign: ["-sigopt", "rsa_padding_mode:pss"] }),
    await issue(dir, "ca-rsa", "rsa-pss-signed", {
      sign: ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32", "-sha384"],
    }),
    await issue(dir, "ca-ed25519", "ed-signed", { kind: "ed25519" }),
    await issue(dir, "ca-rsa", "no-extensions", { ext: ["subjectKeyIdentifier=none"] }),
    await issue(dir, "ca-p256", "leading-space", { subject: "/CN= spaced,#x\\+y/O=a;b" }),
  );
  return { dir, certs };
}
