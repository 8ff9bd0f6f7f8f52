/**
 * Negotiable crypto parameters: the server picks the data-channel cipher from
 * the client's IV_CIPHERS (or, for older clients, IV_NCP=2 meaning AES-GCM, or
 * the cipher in its options string) and pushes it as `cipher X`.
 */

export const SUPPORTED_CIPHERS = ["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"] as const;
export type DataCipher = typeof SUPPORTED_CIPHERS[number];

/** Canonical name of a supported AEAD cipher, case-insensitively; null otherwise. */
export function normalizeCipher(name: string): DataCipher | null {
  const up = name.trim().toUpperCase();
  return (SUPPORTED_CIPHERS as readonly string[]).includes(up) ? up as DataCipher : null;
}

/** Extracts the value of `cipher` from an OpenVPN options compatibility string. */
export function optionsStringCipher(options: string): string | null {
  for (const part of options.split(",")) {
    if (part.startsWith("cipher ")) return part.slice(7).trim();
  }
  return null;
}

/**
 * Server-side choice: the first of `serverCiphers` the client offers, or null
 * when there is no common cipher.
 */
export function selectCipher(
  serverCiphers: readonly string[],
  peerInfo: Map<string, string>,
  remoteOptions = "",
): DataCipher | null {
  let offered: string[];
  const ivCiphers = peerInfo.get("IV_CIPHERS");
  if (ivCiphers) {
    offered = ivCiphers.split(":");
  } else if (Number.parseInt(peerInfo.get("IV_NCP") ?? "0", 10) >= 2) {
    offered = ["AES-256-GCM", "AES-128-GCM"];
  } else {
    const c = optionsStringCipher(remoteOptions);
    offered = c ? [c] : [];
  }
  const normOffered = new Set(offered.map((c) => normalizeCipher(c)).filter((c) => c !== null));
  for (const s of serverCiphers) {
    const n = normalizeCipher(s);
    if (n && normOffered.has(n)) return n;
  }
  return null;
}

/** Client-side check of a pushed cipher against its own list. */
export function acceptPushedCipher(pushed: string, clientCiphers: readonly string[]): DataCipher | null {
  const n = normalizeCipher(pushed);
  if (!n) return null;
  return clientCiphers.some((c) => normalizeCipher(c) === n) ? n : null;
}
