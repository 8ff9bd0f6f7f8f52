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

import { createHmac } from "node:crypto";
import { createAead } from "../data/aead_select.ts";
import { libcrypto, libcryptoStatus } from "../../ffi/libcrypto.ts";

/** The TLS 1.3 cipher suites (IANA names, as OpenSSL reports them) with their AEAD and hash. */
const SUITES = {
  TLS_AES_128_GCM_SHA256: { aead: "AES-128-GCM", keyLength: 16, hash: "sha256", hashLength: 32 },
  TLS_AES_256_GCM_SHA384: { aead: "AES-256-GCM", keyLength: 32, hash: "sha384", hashLength: 48 },
  TLS_CHACHA20_POLY1305_SHA256: { aead: "CHACHA20-POLY1305", keyLength: 32, hash: "sha256", hashLength: 32 },
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

/** HKDF-Expand-Label(secret, label, "", length) (RFC 8446 §7.1); every length used fits one HMAC block. */
export function expandLabel(
  hash: "sha256" | "sha384",
  secret: Uint8Array,
  label: string,
  length: number,
): Uint8Array {
  const full = encoder.encode(`tls13 ${label}`);
  const info = new Uint8Array(2 + 1 + full.length + 1 + 1);
  info[0] = length >> 8;
  info[1] = length & 0xff;
  info[2] = full.length;
  info.set(full, 3);
  info[3 + full.length] = 0; // empty context
  info[info.length - 1] = 1; // HKDF-Expand's block counter T(1)
  return hmacOnce(hash, secret, info).slice(0, length);
}

let opensslHmac: { ctx: Deno.PointerObject; out: Uint8Array; outLength: Uint8Array } | null | undefined;
let forceNode = false;

/** Forces node:crypto's HMAC (tests compare both); returns whether it was forced before. */
export function useNodeHmacForKeys(force: boolean): boolean {
  const previous = forceNode;
  forceNode = force;
  return previous;
}

/**
 * HMAC(key, data) in one block: OpenSSL's HMAC through FFI when libcrypto loads (a few µs; node:crypto's
 * Hmac object costs ~18 µs, and a server derives four keys per TLS 1.3 session), else node:crypto.
 */
function hmacOnce(hash: "sha256" | "sha384", key: Uint8Array, data: Uint8Array): Uint8Array {
  if (opensslHmac === undefined) {
    const ctx = libcryptoStatus() === null ? libcrypto().HMAC_CTX_new() : null;
    opensslHmac = ctx === null ? null : { ctx, out: new Uint8Array(64), outLength: new Uint8Array(4) };
  }
  if (opensslHmac === null || forceNode) return new Uint8Array(createHmac(hash, key).update(data).digest());
  const lib = libcrypto();
  const md = hash === "sha256" ? lib.EVP_sha256() : lib.EVP_sha384();
  const { ctx, out, outLength } = opensslHmac;
  if (
    lib.HMAC_Init_ex(ctx, key, key.length, md, null) !== 1 || lib.HMAC_Update(ctx, data, data.length) !== 1 ||
    lib.HMAC_Final(ctx, out, outLength) !== 1
  ) {
    lib.ERR_clear_error();
    throw new Error("libcrypto: HMAC failed");
  }
  const digest = out.slice(0, hash === "sha256" ? 32 : 48);
  out.fill(0);
  return digest;
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
    const innerLength = content.length + 1;
    const record = new Uint8Array(HEADER + innerLength + TAG);
    record.set([CONTENT_APPLICATION, 3, 3, (innerLength + TAG) >> 8, (innerLength + TAG) & 0xff]);
    record.set(content, HEADER);
    record[HEADER + content.length] = type;
    const aead = createAead(this.#suite.aead, this.#write.key, "auto", "seal");
    try {
      aead.seal(this.#write.nonce(), record, 0, HEADER, HEADER, innerLength, HEADER + innerLength);
    } finally {
      aead.free?.();
    }
    this.#handlers.onCiphertext(record);
  }

  #openRecord(header: Uint8Array, body: Uint8Array): void {
    // Opened in a copy: the caller's bytes stay as they were, and a record that fails its tag is left whole.
    const record = new Uint8Array(HEADER + body.length);
    record.set(header);
    record.set(body, HEADER);
    const innerLength = body.length - TAG;
    const aead = createAead(this.#suite.aead, this.#read.key, "auto", "open");
    let good: boolean;
    try {
      good = aead.open(this.#read.nonce(), record, 0, HEADER, HEADER, innerLength, HEADER + innerLength);
    } finally {
      aead.free?.();
    }
    if (!good) {
      this.#end("TLS error: a record failed its authentication tag");
      return;
    }
    const inner = record.subarray(HEADER, HEADER + innerLength);
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
