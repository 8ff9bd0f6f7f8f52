/**
 * Test support for chain policy: self-signed roots with chosen extensions,
 * CRLs with chosen dates and extensions (openssl CLI), and certificates
 * re-signed after an edit openssl will not make (a duplicate extension).
 */

import { createPrivateKey, sign } from "node:crypto";
import { childrenOf, encodingOf, expectTlv, TAG_SEQUENCE } from "../../pki/der.ts";
import { encodePem } from "../../pki/pem.ts";
import { derTlv } from "./der.ts";
import { concatBytes } from "../bytes.ts";
import { type CrlOptions, crlWith, requestAndSign, type TestCert } from "./certs.ts";
import { openssl } from "./openssl.ts";
import { verifyPeerCertificate, type VerifyPeerOptions } from "../../pki/verify.ts";

export const pemOf = (der: Uint8Array): string => encodePem(der, "CERTIFICATE");
export const pemOfCrl = (der: Uint8Array): string => encodePem(der, "X509 CRL");

/** A self-signed DIR/NAME.crt (key of `kind`, P-256 by default, in DIR/NAME.key) with exactly the extension lines `ext`. */
export async function selfSigned(
  dir: string,
  name: string,
  ext: string[],
  o: { days?: number; kind?: string } = {},
): Promise<TestCert> {
  return await requestAndSign(dir, {
    name,
    kind: o.kind ?? "p256",
    subject: `/CN=${name}`,
    ext,
    days: o.days ?? 3650,
    signer: ["-signkey", `${name}.key`],
  });
}

/** The CRL maker lives with the other openssl makers (certs.ts); the policy tests take it from here. */
export { type CrlOptions, crlWith };

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
    return derTlv(0xa3, derTlv(TAG_SEQUENCE, concatBytes(...exts, ...extra)));
  });
  const tbs = derTlv(TAG_SEQUENCE, concatBytes(...fields));
  const sig = sign("sha256", tbs, createPrivateKey(caKeyPem));
  return derTlv(
    TAG_SEQUENCE,
    concatBytes(tbs, encodingOf(cert, alg), derTlv(0x03, concatBytes(Uint8Array.of(0), sig))),
  );
}

/** An Extension encoding: OID (DER bytes of the OBJECT IDENTIFIER), criticality, value. */
export function extensionDer(oidDer: number[], critical: boolean, value: Uint8Array): Uint8Array {
  return derTlv(
    TAG_SEQUENCE,
    concatBytes(
      Uint8Array.from(oidDer),
      ...(critical ? [Uint8Array.of(0x01, 0x01, 0xff)] : []),
      derTlv(0x04, value),
    ),
  );
}

export const SUB_CA = ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"];

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
