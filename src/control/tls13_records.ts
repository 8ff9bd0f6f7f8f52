/**
 * TLS 1.3's record protection (RFC 8446 §5), for a server session after its
 * handshake: the libssl engine (`tls_openssl.ts`) hands over the two traffic
 * secrets and frees its SSL object, and this carries the rest of the session.
 * A control channel after its handshake moves a few small messages per hour
 * (key-method 2, push request and reply, exit notification), but a server
 * keeps one per client: an idle SSL object costs ~20 KiB, this a few hundred
 * bytes (docs/performance.md, "TLS on libssl").
 *
 * What it does: application data both ways in records of at most 2^14 bytes,
 * each sealed with the traffic key and the per-record nonce (the static IV
 * XOR the 64-bit sequence number); alerts (close_notify ends the session, any
 * other alert is an error); KeyUpdate from the peer (RFC 8446 §4.6.3: the read
 * key moves on, and when asked, ours too after telling the peer). Anything else
 * after the handshake — another handshake message, a record too long, a bad
 * tag, a plaintext record — is an error that ends the channel; nothing is
 * delivered from a record that fails its tag.
 *
 * The AEAD objects are made per record from the kept key and IV: records are
 * rare, and an idle session then holds only bytes.
 */

import { createCipheriv, createDecipheriv, createHmac } from "node:crypto";

/** The TLS 1.3 cipher suites (IANA names, as OpenSSL reports them) with their AEAD and hash. */
const SUITES = {
  TLS_AES_128_GCM_SHA256: { aead: "aes-128-gcm", keyLength: 16, hash: "sha256", hashLength: 32 },
  TLS_AES_256_GCM_SHA384: { aead: "aes-256-gcm", keyLength: 32, hash: "sha384", hashLength: 48 },
  TLS_CHACHA20_POLY1305_SHA256: { aead: "chacha20-poly1305", keyLength: 32, hash: "sha256", hashLength: 32 },
} as const;

export type Tls13Suite = keyof typeof SUITES;

export function isTls13Suite(name: string | null): name is Tls13Suite {
  return name !== null && Object.hasOwn(SUITES, name);
}

const CONTENT_ALERT = 21;
const CONTENT_HANDSHAKE = 22;
const CONTENT_APPLICATION = 23;
const HANDSHAKE_KEY_UPDATE = 24;
const HEADER = 5;
const TAG = 16;
const IV_LENGTH = 12;
/** Most plaintext in one record (RFC 8446 §5.1). */
export const MAX_PLAINTEXT = 1 << 14;
/** Most bytes of a protected record after its header (§5.2: plaintext, type, padding, tag). */
const MAX_PROTECTED = MAX_PLAINTEXT + 256;

const encoder = new TextEncoder();
/** node:crypto's typings name each AEAD family apart; all three take the same calls. */
type GcmTyped = "aes-256-gcm";
const TAG_OPTIONS = { authTagLength: TAG };

/** HKDF-Expand-Label(secret, label, "", length) (RFC 8446 §7.1); every length used fits one HMAC block. */
export function expandLabel(hash: string, secret: Uint8Array, label: string, length: number): Uint8Array {
  const full = encoder.encode(`tls13 ${label}`);
  const info = new Uint8Array(2 + 1 + full.length + 1 + 1);
  info[0] = length >> 8;
  info[1] = length & 0xff;
  info[2] = full.length;
  info.set(full, 3);
  info[3 + full.length] = 0; // empty context
  info[info.length - 1] = 1; // HKDF-Expand's block counter T(1)
  const block = createHmac(hash, secret).update(info).digest();
  return new Uint8Array(block.buffer, block.byteOffset, length).slice();
}

/** One direction's traffic keys: the secret (for KeyUpdate), key, IV and the next sequence number. */
class Direction {
  key!: Uint8Array;
  iv!: Uint8Array;
  seq = 0n;
  constructor(private readonly suite: (typeof SUITES)[Tls13Suite], public secret: Uint8Array) {
    this.#derive();
  }

  #derive(): void {
    this.key = expandLabel(this.suite.hash, this.secret, "key", this.suite.keyLength);
    this.iv = expandLabel(this.suite.hash, this.secret, "iv", IV_LENGTH);
    this.seq = 0n;
  }

  /** The next generation of secret (§7.2), then its keys. */
  update(): void {
    this.secret = expandLabel(this.suite.hash, this.secret, "traffic upd", this.suite.hashLength);
    this.#derive();
  }

  nonce(): Uint8Array {
    const n = this.iv.slice();
    let s = this.seq;
    for (let i = IV_LENGTH - 1; i >= IV_LENGTH - 8; i--) {
      n[i] ^= Number(s & 0xffn);
      s >>= 8n;
    }
    this.seq++;
    return n;
  }
}

export interface Tls13RecordHandlers {
  /** Protected records to send to the peer. */
  onCiphertext(bytes: Uint8Array): void;
  onPlaintext(bytes: Uint8Array): void;
  /** The session ends: a close_notify, an alert, or a record refused. Called once; nothing follows. */
  onError(reason: string): void;
}

export class Tls13Records {
  readonly #suite: (typeof SUITES)[Tls13Suite];
  readonly #read: Direction;
  readonly #write: Direction;
  readonly #handlers: Tls13RecordHandlers;
  /** Bytes of a record not yet complete (the stream is cut into control packets anywhere). */
  #partial: Uint8Array | null = null;
  #ended = false;

  /** `readSecret` protects what the peer sends, `writeSecret` what we send (copied). */
  constructor(
    suite: Tls13Suite,
    readSecret: Uint8Array,
    writeSecret: Uint8Array,
    handlers: Tls13RecordHandlers,
  ) {
    this.#suite = SUITES[suite];
    if (readSecret.length !== this.#suite.hashLength || writeSecret.length !== this.#suite.hashLength) {
      throw new Error(`TLS 1.3: a ${suite} traffic secret is ${this.#suite.hashLength} bytes`);
    }
    this.#read = new Direction(this.#suite, readSecret.slice());
    this.#write = new Direction(this.#suite, writeSecret.slice());
    this.#handlers = handlers;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Protected bytes from the peer, in stream order. */
  feed(bytes: Uint8Array): void {
    if (this.#ended || bytes.length === 0) return;
    let data = bytes;
    if (this.#partial) {
      data = new Uint8Array(this.#partial.length + bytes.length);
      data.set(this.#partial);
      data.set(bytes, this.#partial.length);
      this.#partial = null;
    }
    let at = 0;
    while (!this.#ended && data.length - at >= HEADER) {
      const type = data[at];
      const length = (data[at + 3] << 8) | data[at + 4];
      if (type !== CONTENT_APPLICATION) {
        this.#end(
          type === CONTENT_ALERT && length === 2 && data.length - at >= HEADER + 2
            ? `TLS alert ${data[at + HEADER + 1]} from the peer (in the clear)`
            : `TLS error: a record of type ${type} after the handshake`,
        );
        return;
      }
      if (length > MAX_PROTECTED || length < TAG + 1) {
        this.#end(`TLS error: a protected record of ${length} bytes`);
        return;
      }
      if (data.length - at < HEADER + length) break;
      this.#openRecord(data.subarray(at, at + HEADER), data.subarray(at + HEADER, at + HEADER + length));
      at += HEADER + length;
    }
    if (!this.#ended && at < data.length) this.#partial = data.slice(at);
  }

  /** Application data to protect and send. */
  write(bytes: Uint8Array): void {
    if (this.#ended) return;
    for (let at = 0; at < bytes.length; at += MAX_PLAINTEXT) {
      this.#seal(CONTENT_APPLICATION, bytes.subarray(at, Math.min(bytes.length, at + MAX_PLAINTEXT)));
    }
  }

  /** Ends quietly (the channel was torn down). */
  close(): void {
    this.#ended = true;
    this.#partial = null;
  }

  #end(reason: string): void {
    if (this.#ended) return;
    this.close();
    this.#handlers.onError(reason);
  }

  #seal(type: number, content: Uint8Array): void {
    const inner = new Uint8Array(content.length + 1);
    inner.set(content);
    inner[content.length] = type;
    const record = new Uint8Array(HEADER + inner.length + TAG);
    record.set([CONTENT_APPLICATION, 3, 3, (inner.length + TAG) >> 8, (inner.length + TAG) & 0xff]);
    const cipher = createCipheriv(
      this.#suite.aead as GcmTyped,
      this.#write.key,
      this.#write.nonce(),
      TAG_OPTIONS,
    );
    cipher.setAAD(record.subarray(0, HEADER));
    const body = cipher.update(inner);
    const rest = cipher.final();
    record.set(body, HEADER);
    record.set(rest, HEADER + body.length);
    record.set(cipher.getAuthTag(), HEADER + inner.length);
    this.#handlers.onCiphertext(record);
  }

  #openRecord(header: Uint8Array, body: Uint8Array): void {
    let inner: Uint8Array;
    try {
      const decipher = createDecipheriv(
        this.#suite.aead as GcmTyped,
        this.#read.key,
        this.#read.nonce(),
        TAG_OPTIONS,
      );
      decipher.setAAD(header);
      decipher.setAuthTag(body.subarray(body.length - TAG));
      const a = decipher.update(body.subarray(0, body.length - TAG));
      const b = decipher.final(); // throws when the tag is wrong: nothing was delivered
      inner = new Uint8Array(a.length + b.length);
      inner.set(a);
      inner.set(b, a.length);
    } catch {
      this.#end("TLS error: a record failed its authentication tag");
      return;
    }
    let end = inner.length - 1;
    while (end >= 0 && inner[end] === 0) end--;
    if (end < 0) {
      this.#end("TLS error: a record with no content type");
      return;
    }
    const content = inner.subarray(0, end);
    switch (inner[end]) {
      case CONTENT_APPLICATION:
        if (content.length > MAX_PLAINTEXT) this.#end("TLS error: a record over 2^14 bytes of plaintext");
        else if (content.length > 0) this.#handlers.onPlaintext(content.slice());
        return;
      case CONTENT_ALERT:
        if (content.length !== 2) this.#end("TLS error: a malformed alert");
        else if (content[1] === 0) this.#end("TLS session closed by the peer");
        else this.#end(`TLS alert ${content[1]} from the peer`);
        return;
      case CONTENT_HANDSHAKE:
        this.#handshakeMessage(content);
        return;
      default:
        this.#end(`TLS error: an inner content type ${inner[end]}`);
    }
  }

  /** After the handshake the only handshake message a server accepts is KeyUpdate (§4.6.3), one per record. */
  #handshakeMessage(m: Uint8Array): void {
    if (
      m.length !== 5 || m[0] !== HANDSHAKE_KEY_UPDATE || m[1] !== 0 || m[2] !== 0 || m[3] !== 1 || m[4] > 1
    ) {
      this.#end(`TLS error: handshake message ${m[0]} after the handshake`);
      return;
    }
    this.#read.update();
    if (m[4] === 1) {
      this.#seal(CONTENT_HANDSHAKE, Uint8Array.of(HANDSHAKE_KEY_UPDATE, 0, 0, 1, 0)); // update_not_requested
      this.#write.update();
    }
  }
}
