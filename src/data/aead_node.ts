/**
 * AEAD backend on Deno's native `node:crypto` (Rust implementations behind the
 * Node API). The fastest backend measured here for every cipher, so it is the
 * default (see `aead_select.ts`).
 *
 * Cost per packet: the Node API has no output-buffer variant, so each call
 * creates one Cipheriv/Decipheriv object, a few subarray views, and a result
 * Buffer that is copied back into the caller's buffer. These are short-lived
 * young-generation objects; the heap does not grow (see bench/aead_bench.ts).
 */

import { createCipheriv, createDecipheriv } from "node:crypto";
import { type Aead, AEAD_TAG_LEN, assertAeadRanges, assertKeyLength, type CipherName } from "./aead.ts";

type NodeCipherId = "aes-256-gcm" | "aes-128-gcm" | "chacha20-poly1305";

const NODE_IDS: Record<CipherName, NodeCipherId> = {
  "AES-256-GCM": "aes-256-gcm",
  "AES-128-GCM": "aes-128-gcm",
  "CHACHA20-POLY1305": "chacha20-poly1305",
};

// The typings overload per algorithm; all three share the GCM-shaped API (setAAD, auth tag).
type GcmTyped = "aes-256-gcm";

const TAG_OPTIONS = { authTagLength: AEAD_TAG_LEN };

export class NodeAead implements Aead {
  readonly cipher: CipherName;
  readonly backend = "node" as const;
  #id: NodeCipherId;
  #key: Uint8Array;

  /** Copies `key`; the caller may wipe its copy afterwards. */
  constructor(cipher: CipherName, key: Uint8Array) {
    assertKeyLength(cipher, key);
    this.cipher = cipher;
    this.#id = NODE_IDS[cipher];
    this.#key = key.slice();
  }

  seal(
    nonce: Uint8Array,
    buf: Uint8Array,
    aadOff: number,
    aadLen: number,
    off: number,
    len: number,
    tagOff: number,
  ): void {
    assertAeadRanges(nonce, buf, aadOff, aadLen, off, len, tagOff);
    const c = createCipheriv(this.#id as GcmTyped, this.#key, nonce, TAG_OPTIONS);
    if (aadLen > 0) c.setAAD(buf.subarray(aadOff, aadOff + aadLen));
    let written = 0;
    if (len > 0) {
      const out = c.update(buf.subarray(off, off + len));
      buf.set(out, off);
      written = out.length;
    }
    const rest = c.final();
    if (rest.length > 0) buf.set(rest, off + written);
    buf.set(c.getAuthTag(), tagOff);
  }

  open(
    nonce: Uint8Array,
    buf: Uint8Array,
    aadOff: number,
    aadLen: number,
    off: number,
    len: number,
    tagOff: number,
  ): boolean {
    assertAeadRanges(nonce, buf, aadOff, aadLen, off, len, tagOff);
    const d = createDecipheriv(this.#id as GcmTyped, this.#key, nonce, TAG_OPTIONS);
    if (aadLen > 0) d.setAAD(buf.subarray(aadOff, aadOff + aadLen));
    d.setAuthTag(buf.subarray(tagOff, tagOff + AEAD_TAG_LEN));
    // Plaintext stays in Node's buffer until final() has verified the tag.
    const out = len > 0 ? d.update(buf.subarray(off, off + len)) : null;
    let rest: Uint8Array;
    try {
      rest = d.final();
    } catch {
      return false;
    }
    if (out !== null) buf.set(out, off);
    if (rest.length > 0) buf.set(rest, off + (out === null ? 0 : out.length));
    return true;
  }
}
