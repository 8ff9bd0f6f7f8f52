/**
 * PEM text for keys, certificates and CRLs, and the private-key round trip
 * through WebCrypto (PKCS#8, "-----BEGIN PRIVATE KEY-----", which OpenSSL,
 * OpenVPN and node:tls all read).
 */
export type EcCurve = "P-256" | "P-384";

/** ECDSA signature hash matched to the curve size, as OpenSSL does by default. */
export function hashForCurve(curve: EcCurve): "SHA-256" | "SHA-384" {
  return curve === "P-384" ? "SHA-384" : "SHA-256";
}

/** One PEM block: base64 in 64-character lines, "\n" line ends, a final newline. */
export function encodePem(der: BufferSource | Uint8Array, label: string): string {
  const bytes = der instanceof Uint8Array
    ? der
    : ArrayBuffer.isView(der)
    ? new Uint8Array(der.buffer, der.byteOffset, der.byteLength)
    : new Uint8Array(der);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  const b64 = btoa(bin);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join("\n")}${
    lines.length > 0 ? "\n" : ""
  }-----END ${label}-----\n`;
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
