/**
 * Test support: the TLS 1.3 pieces a forging peer needs (RFC 8446), with
 * node:crypto only — the record layer for TLS_AES_128_GCM_SHA256, the key
 * schedule (HKDF-Extract, HKDF-Expand-Label, Derive-Secret), the transcript
 * hash and handshake message framing. Not a general TLS implementation: one
 * cipher suite, one group (x25519), no resumption.
 */

import { createCipheriv, createDecipheriv, createHash, createHmac } from "node:crypto";
import { concatBytes as concat } from "../../src/testing/bytes.ts";

export { concat };

export const TLS_AES_128_GCM_SHA256 = 0x1301;
export const GROUP_X25519 = 0x001d;

export const CONTENT_ALERT = 21;
export const CONTENT_CHANGE_CIPHER_SPEC = 20;
export const CONTENT_HANDSHAKE = 22;
export const CONTENT_APPLICATION_DATA = 23;

export const HS_CLIENT_HELLO = 1;
export const HS_SERVER_HELLO = 2;
export const HS_NEW_SESSION_TICKET = 4;
export const HS_ENCRYPTED_EXTENSIONS = 8;
export const HS_CERTIFICATE = 11;
export const HS_CERTIFICATE_REQUEST = 13;
export const HS_CERTIFICATE_VERIFY = 15;
export const HS_FINISHED = 20;

export const EXT_SUPPORTED_GROUPS = 10;
export const EXT_SIGNATURE_ALGORITHMS = 13;
export const EXT_SUPPORTED_VERSIONS = 43;
export const EXT_KEY_SHARE = 51;

const HASH_LEN = 32;
const KEY_LEN = 16;
const IV_LEN = 12;
const TAG_LEN = 16;

export function u8(n: number): Uint8Array {
  return Uint8Array.of(n & 0xff);
}

export function u16(n: number): Uint8Array {
  return Uint8Array.of((n >> 8) & 0xff, n & 0xff);
}

export function u24(n: number): Uint8Array {
  return Uint8Array.of((n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

/** `body` prefixed with its length in `width` bytes (a TLS vector). */
export function vec(width: 1 | 2 | 3, body: Uint8Array): Uint8Array {
  const len = width === 1 ? u8(body.length) : width === 2 ? u16(body.length) : u24(body.length);
  return concat(len, body);
}

export function extension(type: number, body: Uint8Array): Uint8Array {
  return concat(u16(type), vec(2, body));
}

/** A handshake message: type, 24-bit length, body. */
export function handshake(type: number, body: Uint8Array): Uint8Array {
  return concat(u8(type), vec(3, body));
}

export function plaintextRecord(type: number, fragment: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(type, 3, 3), vec(2, fragment));
}

function hmac(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac("sha256", key).update(data).digest());
}

function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}

function hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let t: Uint8Array = new Uint8Array(0);
  for (let i = 1, off = 0; off < length; i++) {
    t = hmac(prk, concat(t, info, u8(i)));
    out.set(t.subarray(0, Math.min(t.length, length - off)), off);
    off += t.length;
  }
  return out;
}

/** HKDF-Expand-Label (RFC 8446 7.1). */
export function expandLabel(
  secret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
): Uint8Array {
  const full = new TextEncoder().encode(`tls13 ${label}`);
  return hkdfExpand(secret, concat(u16(length), vec(1, full), vec(1, context)), length);
}

const ZEROS = new Uint8Array(HASH_LEN);
const EMPTY_HASH = sha256(new Uint8Array(0));

/** The running hash of every handshake message, in order. */
export class Transcript {
  #messages: Uint8Array[] = [];

  add(message: Uint8Array): void {
    this.#messages.push(message);
  }

  hash(): Uint8Array {
    return sha256(concat(...this.#messages));
  }
}

/** The key schedule from the (EC)DHE shared secret, without a PSK. */
export class KeySchedule {
  readonly #handshakeSecret: Uint8Array;

  constructor(shared: Uint8Array) {
    const early = hmac(ZEROS, ZEROS);
    this.#handshakeSecret = hmac(expandLabel(early, "derived", EMPTY_HASH, HASH_LEN), shared);
  }

  /** Client and server handshake traffic secrets; `th` hashes ClientHello..ServerHello. */
  handshakeSecrets(th: Uint8Array): { client: Uint8Array; server: Uint8Array } {
    return {
      client: expandLabel(this.#handshakeSecret, "c hs traffic", th, HASH_LEN),
      server: expandLabel(this.#handshakeSecret, "s hs traffic", th, HASH_LEN),
    };
  }

  /** Client and server application traffic secrets; `th` hashes ClientHello..server Finished. */
  applicationSecrets(th: Uint8Array): { client: Uint8Array; server: Uint8Array } {
    const master = hmac(expandLabel(this.#handshakeSecret, "derived", EMPTY_HASH, HASH_LEN), ZEROS);
    return {
      client: expandLabel(master, "c ap traffic", th, HASH_LEN),
      server: expandLabel(master, "s ap traffic", th, HASH_LEN),
    };
  }
}

/** Finished.verify_data for the side whose handshake traffic secret is `secret`. */
export function finishedMac(secret: Uint8Array, th: Uint8Array): Uint8Array {
  return hmac(expandLabel(secret, "finished", new Uint8Array(0), HASH_LEN), th);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** One direction of AES-128-GCM record protection under one traffic secret. */
export class RecordProtection {
  readonly #key: Uint8Array;
  readonly #iv: Uint8Array;
  #seq = 0;

  constructor(secret: Uint8Array) {
    this.#key = expandLabel(secret, "key", new Uint8Array(0), KEY_LEN);
    this.#iv = expandLabel(secret, "iv", new Uint8Array(0), IV_LEN);
  }

  #nonce(): Uint8Array {
    const nonce = this.#iv.slice();
    let seq = this.#seq++;
    for (let i = IV_LEN - 1; seq > 0; i--, seq = Math.floor(seq / 256)) nonce[i] ^= seq & 0xff;
    return nonce;
  }

  /** A protected record carrying `content` of inner type `type`. */
  seal(type: number, content: Uint8Array): Uint8Array {
    const inner = concat(content, u8(type));
    const header = Uint8Array.of(CONTENT_APPLICATION_DATA, 3, 3, ...u16(inner.length + TAG_LEN));
    const c = createCipheriv("aes-128-gcm", this.#key, this.#nonce());
    c.setAAD(header);
    const body = concat(c.update(inner), c.final(), c.getAuthTag());
    return concat(header, body);
  }

  /** The inner type and content of a protected record; throws when it does not authenticate. */
  open(header: Uint8Array, body: Uint8Array): { type: number; content: Uint8Array } {
    if (body.length < TAG_LEN + 1) throw new Error("protected record too short");
    const d = createDecipheriv("aes-128-gcm", this.#key, this.#nonce());
    d.setAAD(header);
    d.setAuthTag(body.subarray(body.length - TAG_LEN));
    const inner = concat(d.update(body.subarray(0, body.length - TAG_LEN)), d.final());
    let end = inner.length;
    while (end > 0 && inner[end - 1] === 0) end--;
    if (end === 0) throw new Error("protected record without a content type");
    return { type: inner[end - 1], content: inner.subarray(0, end - 1) };
  }
}

export interface TlsRecord {
  type: number;
  header: Uint8Array;
  body: Uint8Array;
}

/** Splits a byte stream into records. */
export class RecordReader {
  #buf: Uint8Array = new Uint8Array(0);

  push(bytes: Uint8Array): TlsRecord[] {
    this.#buf = concat(this.#buf, bytes);
    const out: TlsRecord[] = [];
    while (this.#buf.length >= 5) {
      const len = (this.#buf[3] << 8) | this.#buf[4];
      if (this.#buf.length < 5 + len) break;
      out.push({
        type: this.#buf[0],
        header: this.#buf.slice(0, 5),
        body: this.#buf.slice(5, 5 + len),
      });
      this.#buf = this.#buf.slice(5 + len);
    }
    return out;
  }
}

/** Splits handshake record contents into whole messages (type, length and body). */
export class HandshakeReader {
  #buf: Uint8Array = new Uint8Array(0);

  push(bytes: Uint8Array): Uint8Array[] {
    this.#buf = concat(this.#buf, bytes);
    const out: Uint8Array[] = [];
    while (this.#buf.length >= 4) {
      const len = (this.#buf[1] << 16) | (this.#buf[2] << 8) | this.#buf[3];
      if (this.#buf.length < 4 + len) break;
      out.push(this.#buf.slice(0, 4 + len));
      this.#buf = this.#buf.slice(4 + len);
    }
    return out;
  }
}

/** A cursor over a handshake message body. */
export class Reader {
  off = 0;
  constructor(readonly buf: Uint8Array) {}

  bytes(n: number): Uint8Array {
    if (this.off + n > this.buf.length) throw new Error("truncated handshake message");
    const b = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }

  uint(n: number): number {
    return this.bytes(n).reduce((v, b) => v * 256 + b, 0);
  }

  vec(width: number): Uint8Array {
    return this.bytes(this.uint(width));
  }

  get done(): boolean {
    return this.off >= this.buf.length;
  }
}

/** The extensions of a hello message, by type. */
export function readExtensions(r: Reader): Map<number, Uint8Array> {
  const exts = new Map<number, Uint8Array>();
  const all = new Reader(r.vec(2));
  while (!all.done) {
    const type = all.uint(2);
    exts.set(type, all.vec(2));
  }
  return exts;
}
