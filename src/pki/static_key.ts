/**
 * OpenVPN static key files (tls-crypt, tls-auth, secret): 256 bytes as hex
 * between armour lines, 16 bytes per line, optional comment lines before:
 *
 *   # 2048 bit OpenVPN static key
 *   -----BEGIN OpenVPN Static key V1-----
 *   9e2979c0edde53e237cccd61a40862b0      (16 lines of 32 hex digits)
 *   -----END OpenVPN Static key V1-----
 */

export const STATIC_KEY_BYTES = 256;

const BEGIN = "-----BEGIN OpenVPN Static key V1-----";
const END = "-----END OpenVPN Static key V1-----";
const HEX_DIGIT = /^[0-9a-fA-F]$/;

/** Parses a static key file; throws SyntaxError with a one-line reason on bad input. */
export function parseStaticKey(text: string): Uint8Array {
  const lines = text.split(/\r?\n/);
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === BEGIN) break;
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    throw new SyntaxError(`Static key line ${i + 1}: expected comment or "${BEGIN}"`);
  }
  if (i === lines.length) throw new SyntaxError(`Static key has no "${BEGIN}" line`);
  const key = new Uint8Array(STATIC_KEY_BYTES);
  let nibbles = 0;
  for (i++; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === END) {
      if (nibbles !== STATIC_KEY_BYTES * 2) {
        throw new SyntaxError(
          `Static key holds ${nibbles >> 1} bytes, expected ${STATIC_KEY_BYTES}`,
        );
      }
      return key;
    }
    for (const ch of line) {
      if (ch === " " || ch === "\t") continue;
      if (!HEX_DIGIT.test(ch)) {
        throw new SyntaxError(`Static key line ${i + 1}: invalid hex character "${ch}"`);
      }
      if (nibbles >= STATIC_KEY_BYTES * 2) {
        throw new SyntaxError(`Static key holds more than ${STATIC_KEY_BYTES} bytes`);
      }
      const v = parseInt(ch, 16);
      key[nibbles >> 1] |= (nibbles & 1) === 0 ? v << 4 : v;
      nibbles++;
    }
  }
  throw new SyntaxError(`Static key has no "${END}" line`);
}

/** Formats a 256-byte key the way `openvpn --genkey secret` writes it. */
export function formatStaticKey(key: Uint8Array): string {
  if (key.length !== STATIC_KEY_BYTES) {
    throw new RangeError(`Static key must be ${STATIC_KEY_BYTES} bytes, got ${key.length}`);
  }
  const out = ["#", "# 2048 bit OpenVPN static key", "#", BEGIN];
  for (let off = 0; off < STATIC_KEY_BYTES; off += 16) {
    let line = "";
    for (let j = off; j < off + 16; j++) line += key[j].toString(16).padStart(2, "0");
    out.push(line);
  }
  out.push(END, "");
  return out.join("\n");
}

/** A fresh random 256-byte static key. */
export function generateStaticKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(STATIC_KEY_BYTES));
}
