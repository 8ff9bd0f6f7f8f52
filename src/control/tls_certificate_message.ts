/**
 * The certificates of a TLS Certificate handshake message, as the peer sent
 * them (RFC 8446 §4.4.2 for TLS 1.3, RFC 5246 §7.4.2 for TLS 1.2). The libssl
 * engine reads the peer's certificates here rather than from OpenSSL's parsed
 * X509 objects: OpenSSL accepts some non-canonical encodings and writes them
 * back re-encoded, and tsvpn's verifier must judge the bytes the peer signed
 * for (docs/security.md, "canonical DER").
 */

/** Most certificates read from one message (the verifier uses the leaf and at most 8 more). */
const MAX_CERTIFICATES = 16;
const CERTIFICATE = 11;

/** The DER certificates in `message` (the whole handshake message, header included), leaf first; null when malformed. */
export function certificatesOfMessage(message: Uint8Array, tls13: boolean): Uint8Array[] | null {
  const u24 = (at: number) => (message[at] << 16) | (message[at + 1] << 8) | message[at + 2];
  if (message.length < 4 || message[0] !== CERTIFICATE || u24(1) !== message.length - 4) return null;
  let at = 4;
  if (tls13) {
    if (at + 1 > message.length) return null;
    at += 1 + message[at]; // certificate_request_context
  }
  if (at + 3 > message.length) return null;
  const listEnd = at + 3 + u24(at);
  if (listEnd !== message.length) return null;
  at += 3;
  const out: Uint8Array[] = [];
  while (at < listEnd) {
    if (at + 3 > listEnd) return null;
    const length = u24(at);
    at += 3;
    if (length === 0 || at + length > listEnd) return null;
    if (out.length < MAX_CERTIFICATES) out.push(message.slice(at, at + length));
    at += length;
    if (tls13) {
      if (at + 2 > listEnd) return null;
      at += 2 + ((message[at] << 8) | message[at + 1]); // extensions
      if (at > listEnd) return null;
    }
  }
  return out;
}
