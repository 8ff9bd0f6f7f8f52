/**
 * Certificate serial numbers as tsvpn shows and stores them: uppercase hex,
 * no separators, no redundant leading zero bytes (the form `openssl x509
 * -serial` prints), so a serial from a certificate, a CRL and index.json compare
 * as plain strings.
 */

/** Normalises a hex serial (any case, optional ':' separators) to the canonical form. */
export function normalizeSerial(hex: string): string {
  let s = hex.replaceAll(":", "").toUpperCase();
  if (s.length % 2 === 1) s = "0" + s;
  while (s.length > 2 && s.startsWith("00")) s = s.slice(2);
  return s;
}

/** A random positive 16-byte serial (top bit clear so DER needs no sign byte, never zero). */
export function randomSerial(
  random: (buf: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b),
): string {
  const bytes = random(new Uint8Array(16));
  bytes[0] &= 0x7f;
  bytes[0] |= 0x01;
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
}
