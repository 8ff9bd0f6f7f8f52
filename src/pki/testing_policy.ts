/**
 * Test support for chain policy: self-signed roots with chosen extensions,
 * CRLs with chosen dates and extensions (openssl CLI), and certificates
 * re-signed after an edit openssl will not make (a duplicate extension).
 */

import { createPrivateKey, sign } from "node:crypto";
import { childrenOf, encodingOf, expectTlv, TAG_SEQUENCE } from "./der.ts";
import { decodePem, encodePem } from "./pem.ts";
import { KEY_ARGS, type TestCert } from "./testing_certs.ts";
import { openssl } from "./testing_openssl.ts";
import { verifyPeerCertificate, type VerifyPeerOptions } from "./verify.ts";

async function run(args: string[], cwd: string): Promise<void> {
  const r = await openssl(args, cwd);
  if (!r.ok) throw new Error(`openssl ${args.join(" ")} failed: ${r.out}`);
}

export const pemOf = (der: Uint8Array): string => encodePem(der, "CERTIFICATE");
export const pemOfCrl = (der: Uint8Array): string => encodePem(der, "X509 CRL");

/** A self-signed DIR/NAME.crt (key of `kind`, P-256 by default, in DIR/NAME.key) with exactly the extension lines `ext`. */
export async function selfSigned(
  dir: string,
  name: string,
  ext: string[],
  o: { days?: number; kind?: string } = {},
): Promise<TestCert> {
  await run([
    "req",
    "-new",
    "-nodes",
    ...KEY_ARGS[o.kind ?? "p256"],
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    `/CN=${name}`,
  ], dir);
  await Deno.writeTextFile(`${dir}/${name}.ext`, ext.join("\n") + "\n");
  await run([
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-signkey",
    `${name}.key`,
    "-out",
    `${name}.crt`,
    "-days",
    String(o.days ?? 3650),
    "-extfile",
    `${name}.ext`,
  ], dir);
  return { name, dir, der: decodePem(await Deno.readTextFile(`${dir}/${name}.crt`), "CERTIFICATE")[0] };
}

export interface CrlOptions {
  /** Certificate files DIR/NAME.crt to list. */
  revoked?: string[];
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
    await run(["ca", "-config", `${db}/openssl.cnf`, "-revoke", `${dir}/${name}.crt`], dir);
  }
  await run([
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

function tlv(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  const out = new Uint8Array(1 + len.length + n);
  out[0] = tag;
  out.set(len, 1);
  out.set(content, 1 + len.length);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * `cert` (ECDSA-SHA256 signed) with `extra` extension encodings appended to
 * its extensions and signed again with the P-256 key in `caKeyPem`.
 */
export function withExtraExtensions(cert: Uint8Array, extra: Uint8Array[], caKeyPem: string): Uint8Array {
  const outer = expectTlv(cert, 0, cert.length, TAG_SEQUENCE, "Certificate");
  const [tbsTlv, alg] = childrenOf(cert, outer);
  const fields = childrenOf(cert, tbsTlv).map((f) => {
    if (f.tag !== 0xa3) return encodingOf(cert, f);
    const list = childrenOf(cert, f)[0];
    const exts = childrenOf(cert, list).map((e) => encodingOf(cert, e));
    return tlv(0xa3, tlv(TAG_SEQUENCE, concat([...exts, ...extra])));
  });
  const tbs = tlv(TAG_SEQUENCE, concat(fields));
  const sig = sign("sha256", tbs, createPrivateKey(caKeyPem));
  return tlv(TAG_SEQUENCE, concat([tbs, encodingOf(cert, alg), tlv(0x03, concat([Uint8Array.of(0), sig]))]));
}

/** An Extension encoding: OID (DER bytes of the OBJECT IDENTIFIER), criticality, value. */
export function extensionDer(oidDer: number[], critical: boolean, value: Uint8Array): Uint8Array {
  return tlv(
    TAG_SEQUENCE,
    concat([
      Uint8Array.from(oidDer),
      ...(critical ? [Uint8Array.of(0x01, 0x01, 0xff)] : []),
      tlv(0x04, value),
    ]),
  );
}

export const SUB_CA = ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"];

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
export async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn_policy_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** verifyPeerCertificate()'s refusal reason for a client certificate, or "ok". */
export async function verdict(der: Uint8Array, o: Omit<VerifyPeerOptions, "usage">): Promise<string> {
  const r = await verifyPeerCertificate(der, { usage: "clientAuth", ...o });
  return r.ok ? "ok" : r.reason;
}

/**
 * What `openssl verify` says of DIR/LEAF.crt: "ok" or its error text. The
 * trust anchor and untrusted intermediates are DIR/NAME.crt files; CRLs (PEM
 * text) turn on -crl_check_all, as OpenVPN's --crl-verify does.
 */
export async function opensslVerdict(
  dir: string,
  files: { anchor: string; untrusted?: string[]; crl?: string[] },
  leaf: string,
): Promise<string> {
  const args = ["verify", "-CAfile", `${dir}/${files.anchor}.crt`];
  for (const u of files.untrusted ?? []) args.push("-untrusted", `${dir}/${u}.crt`);
  if (files.crl) {
    await Deno.writeTextFile(`${dir}/check-crl.pem`, files.crl.join(""));
    args.push("-crl_check_all", "-CRLfile", `${dir}/check-crl.pem`);
  }
  args.push(`${dir}/${leaf}.crt`);
  const r = await openssl(args, dir);
  return r.ok ? "ok" : (r.out.match(/error \d+ at \d+ depth lookup: (.*)/)?.[1] ?? r.out);
}
