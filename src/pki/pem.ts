/**
 * PEM text for keys, certificates and CRLs, and the private-key round trip
 * through WebCrypto (PKCS#8, "-----BEGIN PRIVATE KEY-----", which OpenSSL,
 * OpenVPN and node:tls all read).
 */
import { PemConverter } from "./x509.ts";

export type EcCurve = "P-256" | "P-384";

/** ECDSA signature hash matched to the curve size, as OpenSSL does by default. */
export function hashForCurve(curve: EcCurve): "SHA-256" | "SHA-384" {
  return curve === "P-384" ? "SHA-384" : "SHA-256";
}

export function encodePem(der: BufferSource, label: string): string {
  const text = PemConverter.encode(der, label).replace(/\r\n/g, "\n");
  return text.endsWith("\n") ? text : text + "\n";
}

/** DER bodies of the PEM blocks with `label`, in order. */
export function decodePem(text: string, label: string): Uint8Array<ArrayBuffer>[] {
  const re = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`, "g");
  const out: Uint8Array<ArrayBuffer>[] = [];
  for (const m of text.matchAll(re)) {
    const b64 = m[1].replace(/\s+/g, "");
    out.push(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
  }
  return out;
}

export async function generateEcKeyPair(curve: EcCurve): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: curve }, true, ["sign", "verify"]);
}

export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  return encodePem(await crypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}

/** Imports an ECDSA signing key from PKCS#8 PEM; throws a one-line error when the file holds none. */
export async function importEcPrivateKeyPem(pem: string, curve: EcCurve): Promise<CryptoKey> {
  const blocks = decodePem(pem, "PRIVATE KEY");
  if (blocks.length === 0) throw new SyntaxError("Key file holds no PKCS#8 private key");
  return await crypto.subtle.importKey("pkcs8", blocks[0], { name: "ECDSA", namedCurve: curve }, false, [
    "sign",
  ]);
}
