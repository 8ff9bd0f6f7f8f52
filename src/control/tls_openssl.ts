/**
 * The control channel's TLS on OpenSSL's libssl (`ffi/libssl.ts`), the library
 * OpenVPN runs: one SSL object per key state over two memory BIOs, driven by
 * synchronous calls. Same contract as the node:tls engine (`tls_channel.ts`):
 * ciphertext the peer sent is fed in order with feed(), ciphertext TLS
 * produces comes out of onCiphertext, and certificate checks are NOT done
 * here: the handshake completes with any certificate (the chain callback
 * accepts everything), and the session verifies the peer from onSecure with
 * tsvpn's own strict verifier (src/pki/verify.ts) before using the channel.
 * OpenSSL still checks everything TLS itself proves: the peer's handshake
 * signature with the key of the certificate it presented, and Finished.
 *
 * Why: an idle session's TLS state is what a server with thousands of clients
 * holds per client. A server's TLS 1.3 session frees its SSL object as soon as
 * the handshake is done and goes on with `Tls13Records` (the key log hands over
 * the traffic secrets): ~4.5 KiB per idle client instead of ~27 KiB with
 * node:tls. Otherwise (clients, TLS 1.2) SSL_MODE_RELEASE_BUFFERS frees the
 * record buffers between records. Session tickets and the session cache are
 * off (OpenVPN never resumes). docs/performance.md, "TLS on libssl".
 *
 * Handlers are called synchronously from feed() and write(). A handler may
 * destroy the channel; the SSL object is then freed when the call that ran the
 * handler returns, never under OpenSSL's feet.
 */

import {
  libssl,
  type LibsslSymbols,
  opensslString,
  SSL3_RT_HANDSHAKE,
  SSL_BUILD_CHAIN_LENIENT,
  SSL_CTRL_BUILD_CERT_CHAIN,
  SSL_CTRL_CHAIN_CERT,
  SSL_CTRL_MODE,
  SSL_CTRL_SET_CHAIN_CERT_STORE,
  SSL_CTRL_SET_MIN_PROTO_VERSION,
  SSL_CTRL_SET_SESS_CACHE_MODE,
  SSL_ERROR_WANT_READ,
  SSL_ERROR_WANT_WRITE,
  SSL_ERROR_ZERO_RETURN,
  SSL_MODE_NO_AUTO_CHAIN,
  SSL_MODE_RELEASE_BUFFERS,
  SSL_OP_NO_COMPRESSION,
  SSL_OP_NO_RENEGOTIATION,
  SSL_OP_NO_TICKET,
  SSL_SESS_CACHE_OFF,
  SSL_VERIFY_NONE,
  SSL_VERIFY_PEER,
  takeOpensslErrors,
  TLS1_2_VERSION,
} from "../../ffi/libssl.ts";
import type { TlsChannelHandlers, TlsCredentials, TlsEndpoint, TlsSecureInfo } from "./tls_types.ts";
import { isTls13Suite, Tls13Records } from "./tls13_records.ts";
import { certificatesOfMessage } from "./tls_certificate_message.ts";
import { sameBytes } from "../pki/der.ts";
import { countTlsChannel, peerChainFor } from "./tls_types.ts";

type Role = "client" | "server";

/**
 * Accepts every peer chain during the handshake: the session's verifier decides after it (see the module
 * comment). It stands in for OpenSSL's whole chain verification (SSL_CTX_set_cert_verify_callback), which
 * would otherwise try to build the peer's chain against an empty store, fail, and spend CPU doing so on
 * every handshake. OpenSSL still parses the peer's certificate and checks its handshake signature.
 */
let acceptAnyChain: Deno.UnsafeCallback<{ parameters: ["pointer", "pointer"]; result: "i32" }> | undefined;

function chainCallback(): Deno.PointerObject {
  acceptAnyChain ??= new Deno.UnsafeCallback(
    { parameters: ["pointer", "pointer"], result: "i32" } as const,
    () => 1,
  );
  return acceptAnyChain.pointer;
}

/** What a session's handshake tells its channel through OpenSSL's callbacks, by the SSL object's address. */
interface SslSink {
  /** An application traffic secret (server only: the key log is set on server contexts). */
  secret(label: string, secret: Uint8Array): void;
  /** The peer's Certificate message, as received (after decryption, before OpenSSL parsed it). */
  certificates(message: Uint8Array): void;
}
const sinks = new Map<bigint, SslSink>();
const sinkOf = (ssl: Deno.PointerValue) =>
  ssl === null ? undefined : sinks.get(BigInt(Deno.UnsafePointer.value(ssl)));
let messageWatcher:
  | Deno.UnsafeCallback<
    { parameters: ["i32", "i32", "i32", "pointer", "usize", "pointer", "pointer"]; result: "void" }
  >
  | undefined;

/** Copies the peer's Certificate handshake message to its channel; every other message is ignored. */
function messageCallback(): Deno.PointerObject {
  messageWatcher ??= new Deno.UnsafeCallback(
    { parameters: ["i32", "i32", "i32", "pointer", "usize", "pointer", "pointer"], result: "void" } as const,
    (written, _version, contentType, buf, len, ssl) => {
      if (written !== 0 || contentType !== SSL3_RT_HANDSHAKE || buf === null) return;
      const length = Number(len);
      if (length < 4 || length > MAX_CERTIFICATE_MESSAGE) return;
      const view = new Deno.UnsafePointerView(buf);
      if (view.getUint8(0) !== 11) return; // Certificate
      const message = new Uint8Array(length);
      view.copyInto(message);
      sinkOf(ssl)?.certificates(message);
    },
  );
  return messageWatcher.pointer;
}

/**
 * Loads libssl and makes the three callbacks, once per process (tls_channel.ts calls it when it picks this
 * engine): they live as long as the process, so they are made up front rather than inside some session.
 */
export function loadOpenSslEngine(): void {
  libssl();
  chainCallback();
  keyLogCallback();
  messageCallback();
}

/** Largest Certificate message kept (OpenSSL's own limit on a handshake message is 100 KiB by default). */
const MAX_CERTIFICATE_MESSAGE = 128 * 1024;
let keyLogger: Deno.UnsafeCallback<{ parameters: ["pointer", "pointer"]; result: "void" }> | undefined;

/**
 * OpenSSL tells the key log each secret as it derives it, as a line "LABEL <client random> <secret>" in hex.
 * A server session keeps its two application traffic secrets, to carry the session on itself once the
 * handshake is done (tls13_records.ts); every other line is dropped.
 */
function keyLogCallback(): Deno.PointerObject {
  keyLogger ??= new Deno.UnsafeCallback(
    { parameters: ["pointer", "pointer"], result: "void" } as const,
    (ssl, line) => {
      if (ssl === null || line === null) return;
      const sink = sinkOf(ssl);
      if (!sink) return;
      const [label, , hex] = Deno.UnsafePointerView.getCString(line).split(" ");
      if (label !== "CLIENT_TRAFFIC_SECRET_0" && label !== "SERVER_TRAFFIC_SECRET_0") return;
      if (!hex || hex.length % 2 !== 0 || hex.length > 128) return;
      const secret = new Uint8Array(hex.length / 2);
      for (let i = 0; i < secret.length; i++) secret[i] = parseInt(hex.substr(2 * i, 2), 16);
      sink.secret(label, secret);
    },
  );
  return keyLogger.pointer;
}

/** Most SSL_CTXs kept (a server uses one for every session; a client one per server credential set). */
const CONTEXT_CACHE_LIMIT = 4;
const contexts: { key: string; ctx: Deno.PointerObject }[] = [];

const encoder = new TextEncoder();
/** The pass phrase given to PEM reads: empty, so an encrypted key fails instead of prompting on the terminal. */
const NO_PASSPHRASE = new Uint8Array(1);

/**
 * The text being read through a memory BIO. BIO_new_mem_buf points into the caller's bytes rather than
 * copying them; holding them here keeps them alive (and in place) until the BIO is freed, whatever the
 * optimizer decides about the caller's local variable.
 */
let pinned: Uint8Array | null = null;

/** Runs `read` on a read-only memory BIO over `text`, then frees the BIO. */
function readPem<T>(lib: LibsslSymbols, text: string, what: string, read: (bio: Deno.PointerObject) => T): T {
  pinned = encoder.encode(text);
  const bio = lib.BIO_new_mem_buf(pinned, pinned.length);
  if (bio === null) {
    pinned = null;
    throw new Error(`TLS: cannot read the ${what}`);
  }
  try {
    return read(bio);
  } finally {
    lib.BIO_free(bio);
    pinned = null;
  }
}

/** Every certificate in a PEM text, parsed by OpenSSL, in order. The caller owns (frees) them. */
function readCertificates(lib: LibsslSymbols, pem: string, what: string): Deno.PointerObject[] {
  return readPem(lib, pem, what, (bio) => {
    const out: Deno.PointerObject[] = [];
    for (;;) {
      const x = lib.PEM_read_bio_X509(bio, null, null, null);
      if (x === null) break;
      out.push(x);
    }
    lib.ERR_clear_error(); // the read past the last certificate queues "no start line"
    return out;
  });
}

function buildContext(lib: LibsslSymbols, role: Role, creds: TlsCredentials): Deno.PointerObject {
  const ctx = lib.SSL_CTX_new(lib.TLS_method());
  if (ctx === null) throw new Error(`TLS: ${takeOpensslErrors(lib, "SSL_CTX_new failed")}`);
  try {
    lib.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, BigInt(TLS1_2_VERSION), null);
    // A client sends its certificate file as it is; without NO_AUTO_CHAIN OpenSSL would try to complete it
    // from an (empty) store on every handshake. A server's chain is built once, below.
    const mode = SSL_MODE_RELEASE_BUFFERS | (role === "client" ? SSL_MODE_NO_AUTO_CHAIN : 0);
    lib.SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, BigInt(mode), null);
    lib.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_SESS_CACHE_MODE, BigInt(SSL_SESS_CACHE_OFF), null);
    lib.SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    lib.SSL_CTX_set_num_tickets(ctx, 0n);
    lib.SSL_CTX_set_verify(ctx, role === "server" ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, null);
    lib.SSL_CTX_set_cert_verify_callback(ctx, chainCallback(), null);
    lib.SSL_CTX_set_msg_callback(ctx, messageCallback());
    const chain = readCertificates(lib, creds.cert, "certificate");
    if (chain.length === 0) throw new Error("TLS: no certificate in the PEM text");
    const used = lib.SSL_CTX_use_certificate(ctx, chain[0]);
    lib.X509_free(chain[0]);
    if (used !== 1) {
      for (const x of chain.slice(1)) lib.X509_free(x);
      throw new Error(`TLS: certificate refused: ${takeOpensslErrors(lib, "unknown reason")}`);
    }
    // The certificate file's own intermediates are the chain sent (add0: the context owns them from here on).
    for (const x of chain.slice(1)) lib.SSL_CTX_ctrl(ctx, SSL_CTRL_CHAIN_CERT, 0n, x);
    const pkey = readPem(
      lib,
      creds.key,
      "private key",
      (bio) => lib.PEM_read_bio_PrivateKey(bio, null, null, NO_PASSPHRASE),
    );
    if (pkey === null) {
      throw new Error(`TLS: cannot read the private key: ${takeOpensslErrors(lib, "no key")}`);
    }
    const keyUsed = lib.SSL_CTX_use_PrivateKey(ctx, pkey);
    lib.EVP_PKEY_free(pkey);
    if (keyUsed !== 1 || lib.SSL_CTX_check_private_key(ctx) !== 1) {
      throw new Error(
        `TLS: the private key does not match the certificate (${takeOpensslErrors(lib, "refused")})`,
      );
    }
    if (role === "server") {
      useCaAsServer(lib, ctx, creds.ca);
      lib.SSL_CTX_set_keylog_callback(ctx, keyLogCallback());
    }
    lib.ERR_clear_error();
    return ctx;
  } catch (e) {
    lib.SSL_CTX_free(ctx);
    lib.ERR_clear_error();
    throw e;
  }
}

/**
 * A server names the trusted CAs in its CertificateRequest and sends its certificate's chain up to them, as
 * the node:tls engine's (and OpenVPN's) did. The CAs go into the store OpenSSL builds the sent chain from,
 * not the store it verifies peers with: that one stays empty, so OpenSSL spends nothing checking a client
 * chain that the session verifies anyway.
 */
function useCaAsServer(lib: LibsslSymbols, ctx: Deno.PointerObject, caPem: string): void {
  const store = lib.X509_STORE_new();
  if (store === null) throw new Error(`TLS: ${takeOpensslErrors(lib, "out of memory")}`);
  for (const ca of readCertificates(lib, caPem, "CA")) {
    lib.SSL_CTX_add_client_CA(ctx, ca);
    lib.X509_STORE_add_cert(store, ca);
    lib.X509_free(ca);
  }
  // set0: the context owns the store from here on.
  lib.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_CHAIN_CERT_STORE, 0n, store);
  // The chain sent is built now, once: left to each handshake, OpenSSL rebuilds and re-verifies it (every
  // signature up to the CA) for every client.
  lib.SSL_CTX_ctrl(ctx, SSL_CTRL_BUILD_CERT_CHAIN, BigInt(SSL_BUILD_CHAIN_LENIENT), null);
}

/**
 * One SSL_CTX per role and credential set, made once (building it parses the PEM texts and the key);
 * compared by the PEM texts themselves, so changed credentials get a new context. An evicted context is
 * freed by OpenSSL when its last SSL object goes (SSL objects hold a reference).
 */
export function opensslContextFor(role: Role, creds: TlsCredentials): Deno.PointerObject {
  const lib = libssl();
  const key = `${role}\0${creds.ca}\0${creds.cert}\0${creds.key}`;
  const i = contexts.findIndex((c) => c.key === key);
  const entry = i >= 0 ? contexts.splice(i, 1)[0] : { key, ctx: buildContext(lib, role, creds) };
  contexts.push(entry);
  if (contexts.length > CONTEXT_CACHE_LIMIT) lib.SSL_CTX_free(contexts.shift()!.ctx);
  return entry.ctx;
}

/** Scratch for plaintext and ciphertext leaving OpenSSL: one per thread; what a handler gets is a copy. */
const scratch = new Uint8Array(16 * 1024 + 512);
/** A DER certificate is copied out through this cursor (an `unsigned char **`). */
const cursor = new BigUint64Array(1);
/** Smallest buffer handed to i2d_X509: V8 keeps typed arrays of ≤ 64 bytes in its heap, where they can move. */
const MIN_OFF_HEAP = 128;

function certificateDer(lib: LibsslSymbols, x509: Deno.PointerObject): Uint8Array | null {
  const len = lib.i2d_X509(x509, null);
  if (len <= 0) return null;
  const buf = new Uint8Array(Math.max(len, MIN_OFF_HEAP));
  cursor[0] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf)));
  if (lib.i2d_X509(x509, cursor) !== len) return null;
  return buf.length === len ? buf : buf.slice(0, len);
}

let liveSsl = 0;

/**
 * OpenSSL SSL objects alive: one per client channel and per handshake in progress. A TLS 1.3 server session
 * frees its own when its handshake is done (Tls13Records carries it on), so an idle server holds none.
 */
export function liveSslObjects(): number {
  return liveSsl;
}

/** Frees SSL objects whose channel was dropped without destroy() (a safety net; every session destroys). */
const orphans = new FinalizationRegistry<Deno.PointerObject>((ssl) => {
  sinks.delete(BigInt(Deno.UnsafePointer.value(ssl)));
  libssl().SSL_free(ssl);
  liveSsl--;
});

interface Captured {
  clientSecret?: Uint8Array;
  serverSecret?: Uint8Array;
  certificateMessage: Uint8Array | null;
}

export class OpenSslTlsChannel implements TlsEndpoint {
  readonly #lib: LibsslSymbols;
  readonly #role: Role;
  readonly #handlers: TlsChannelHandlers;
  #ssl: Deno.PointerObject | null;
  readonly #rbio: Deno.PointerObject;
  readonly #wbio: Deno.PointerObject;
  /** The session after a TLS 1.3 server handshake: OpenSSL's SSL object is freed and this carries the records. */
  #records: Tls13Records | null = null;
  /**
   * What OpenSSL's callbacks reported during the handshake: the application traffic secrets (server only,
   * until the records take them) and the peer's Certificate message as it arrived. A plain object, so the
   * callbacks' table holds it and not the channel (which the orphan registry must be able to collect).
   */
  #captured: Captured | null;
  #secure = false;
  #closed = false;
  #failed = false;
  /** Inside a call into OpenSSL (or a handler it led to): destroy() leaves the free to the call's end. */
  #depth = 0;
  /** Plaintext written before the handshake completed. */
  #pending: Uint8Array[] | null = [];

  constructor(role: Role, creds: TlsCredentials, handlers: TlsChannelHandlers) {
    const lib = libssl();
    this.#lib = lib;
    this.#role = role;
    this.#handlers = handlers;
    const ctx = opensslContextFor(role, creds);
    lib.ERR_clear_error();
    const ssl = lib.SSL_new(ctx);
    const rbio = lib.BIO_new(lib.BIO_s_mem());
    const wbio = lib.BIO_new(lib.BIO_s_mem());
    if (ssl === null || rbio === null || wbio === null) {
      if (ssl !== null) lib.SSL_free(ssl);
      if (rbio !== null) lib.BIO_free(rbio);
      if (wbio !== null) lib.BIO_free(wbio);
      throw new Error(`TLS: ${takeOpensslErrors(lib, "out of memory")}`);
    }
    lib.SSL_set_bio(ssl, rbio, wbio);
    if (role === "server") lib.SSL_set_accept_state(ssl);
    else lib.SSL_set_connect_state(ssl);
    const captured: Captured = { certificateMessage: null };
    this.#captured = captured;
    sinks.set(BigInt(Deno.UnsafePointer.value(ssl)), {
      secret: (label, secret) => {
        if (label === "CLIENT_TRAFFIC_SECRET_0") captured.clientSecret = secret;
        else captured.serverSecret = secret;
      },
      certificates: (message) => captured.certificateMessage = message,
    });
    this.#ssl = ssl;
    liveSsl++;
    this.#rbio = rbio;
    this.#wbio = wbio;
    orphans.register(this, ssl, this);
    countTlsChannel(+1);
    // A client speaks first; its ClientHello goes out on the next turn, as the node:tls engine's did.
    if (role === "client") queueMicrotask(() => this.#run(() => this.#advance()));
  }

  get secure(): boolean {
    return this.#secure;
  }

  /** Ciphertext from the peer, in stream order. */
  feed(bytes: Uint8Array): void {
    if (this.#closed || this.#failed || bytes.length === 0) return;
    if (this.#records) {
      this.#guarded(() => this.#records!.feed(bytes));
      return;
    }
    this.#run(() => {
      if (this.#lib.BIO_write(this.#rbio, bytes, bytes.length) !== bytes.length) {
        this.#fail(takeOpensslErrors(this.#lib, "TLS input failed"));
        return;
      }
      this.#advance();
    });
  }

  /** Application data to encrypt; held until the handshake completes. */
  write(bytes: Uint8Array): void {
    if (this.#closed || this.#failed) return;
    if (this.#pending) {
      this.#pending.push(bytes.slice());
      return;
    }
    if (this.#records) {
      this.#guarded(() => this.#records!.write(bytes));
      return;
    }
    this.#run(() => this.#encrypt(bytes));
  }

  /** Tears down without further output. */
  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = null;
    this.#records?.close();
    countTlsChannel(-1);
    if (this.#depth === 0) this.#free();
  }

  #free(): void {
    if (this.#ssl === null) return;
    sinks.delete(BigInt(Deno.UnsafePointer.value(this.#ssl)));
    this.#captured = null;
    orphans.unregister(this);
    this.#lib.SSL_free(this.#ssl);
    this.#ssl = null;
    liveSsl--;
  }

  /** Runs a step of the record layer; a handler that throws fails the channel. */
  #guarded(step: () => void): void {
    try {
      step();
    } catch (e) {
      this.#fail(`internal error: ${(e as Error)?.message ?? e}`);
    }
  }

  /** Runs `step` with OpenSSL's error queue cleared, and frees the SSL object afterwards if it was destroyed meanwhile. */
  #run(step: () => void): void {
    if (this.#closed || this.#failed || this.#ssl === null) return;
    this.#depth++;
    try {
      this.#lib.ERR_clear_error();
      step();
    } catch (e) {
      this.#fail(`internal error: ${(e as Error)?.message ?? e}`);
    } finally {
      this.#depth--;
      if (this.#closed && this.#depth === 0) this.#free();
    }
  }

  /** Drives the handshake, then reads whatever plaintext is complete; sends what OpenSSL produced. */
  #advance(): void {
    const lib = this.#lib;
    if (!this.#secure) {
      const ssl = this.#ssl!;
      const r = lib.SSL_do_handshake(ssl);
      if (r !== 1) {
        const err = lib.SSL_get_error(ssl, r);
        this.#flush(); // an alert, or the next flight
        if (err !== SSL_ERROR_WANT_READ && err !== SSL_ERROR_WANT_WRITE && !this.#closed) {
          this.#fail(`TLS error: ${takeOpensslErrors(lib, "handshake failed")}`);
        }
        return;
      }
      this.#secure = true;
      this.#flush(); // our Finished before anything else
      if (this.#closed) return;
      const info = this.#secureInfo();
      if (typeof info === "string") {
        this.#fail(info);
        return;
      }
      const leftover = this.#takeOver(info);
      this.#handlers.onSecure(info);
      if (this.#closed || this.#failed) return;
      const pending = this.#pending ?? [];
      this.#pending = null;
      for (const b of pending) {
        if (this.#records) this.#records.write(b);
        else this.#encrypt(b);
        if (this.#closed || this.#failed) return;
      }
      if (this.#records) {
        if (leftover) this.#records.feed(leftover);
        return;
      }
    }
    this.#readPlaintext();
  }

  /**
   * A TLS 1.3 server session whose secrets were logged goes on without OpenSSL: the bytes the peer sent
   * after its Finished (still in the memory BIO: OpenSSL reads record by record) move to the records, and
   * the SSL object is freed. Returns those bytes. Anything else (TLS 1.2, a suite outside TLS 1.3's three,
   * input OpenSSL already buffered) stays on OpenSSL.
   */
  #takeOver(info: TlsSecureInfo): Uint8Array | null {
    const lib = this.#lib;
    const ssl = this.#ssl!;
    const captured = this.#captured;
    if (this.#role !== "server" || info.protocol !== "TLSv1.3" || !isTls13Suite(info.cipher)) return null;
    const client = captured?.clientSecret;
    const server = captured?.serverSecret;
    if (!client || !server || lib.SSL_has_pending(ssl) !== 0) return null;
    const waiting = Number(lib.BIO_ctrl_pending(this.#rbio));
    let leftover: Uint8Array | null = null;
    if (waiting > 0) {
      leftover = new Uint8Array(Math.max(waiting, 128));
      if (lib.BIO_read(this.#rbio, leftover, waiting) !== waiting) return null;
      leftover = leftover.subarray(0, waiting);
    }
    this.#records = new Tls13Records(info.cipher, client, server, {
      onCiphertext: (b) => this.#handlers.onCiphertext(b),
      onPlaintext: (b) => this.#handlers.onPlaintext(b),
      onError: (reason) => this.#fail(reason),
    });
    client.fill(0);
    server.fill(0);
    this.#free();
    return leftover;
  }

  #readPlaintext(): void {
    const lib = this.#lib;
    while (!this.#closed) {
      const n = lib.SSL_read(this.#ssl!, scratch, scratch.length);
      if (n > 0) {
        this.#handlers.onPlaintext(scratch.slice(0, n));
        continue;
      }
      const err = lib.SSL_get_error(this.#ssl!, n);
      this.#flush(); // a read can produce output (an alert, a key update answer)
      if (this.#closed || err === SSL_ERROR_WANT_READ) return;
      this.#fail(
        err === SSL_ERROR_ZERO_RETURN
          ? "TLS session closed by the peer"
          : `TLS error: ${takeOpensslErrors(lib, "record refused")}`,
      );
      return;
    }
  }

  #encrypt(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    const lib = this.#lib;
    const n = lib.SSL_write(this.#ssl!, bytes, bytes.length);
    if (n !== bytes.length) {
      this.#flush();
      this.#fail(
        `TLS write failed: ${takeOpensslErrors(lib, `SSL_get_error ${lib.SSL_get_error(this.#ssl!, n)}`)}`,
      );
      return;
    }
    this.#flush();
  }

  /** Hands every byte OpenSSL wrote to the peer-bound memory BIO to onCiphertext. */
  #flush(): void {
    const lib = this.#lib;
    while (!this.#closed && Number(lib.BIO_ctrl_pending(this.#wbio)) > 0) {
      const n = lib.BIO_read(this.#wbio, scratch, scratch.length);
      if (n <= 0) return;
      this.#handlers.onCiphertext(scratch.slice(0, n));
    }
  }

  /**
   * What the session verifies: the certificates exactly as the peer sent them (its Certificate message),
   * so the verifier judges the encoding the peer chose. OpenSSL proved the handshake signature with the
   * leaf as it parsed it; the leaf sent must be byte for byte what that parse writes back (canonical DER
   * round-trips exactly), else the channel fails: a leaf the verifier sees is always the one that signed.
   * Intermediates are only ever checked by the verifier, which refuses anything not canonical.
   */
  #secureInfo(): TlsSecureInfo | string {
    const lib = this.#lib;
    const ssl = this.#ssl!;
    const protocol = opensslString(lib.SSL_get_version(ssl));
    const cipher = lib.SSL_get_current_cipher(ssl);
    const message = this.#captured?.certificateMessage ?? null;
    if (this.#captured) this.#captured.certificateMessage = null;
    const parsed = lib.SSL_get0_peer_certificate(ssl);
    const sent = message ? certificatesOfMessage(message, protocol === "TLSv1.3") : [];
    if (sent === null) return "TLS error: the peer's Certificate message is malformed";
    let leaf: Uint8Array | null = null;
    if (parsed !== null) {
      leaf = certificateDer(lib, parsed);
      if (leaf === null || sent.length === 0 || !sameBytes(leaf, sent[0])) {
        return "TLS error: the peer's certificate is not in canonical DER encoding";
      }
    }
    return {
      peerCertificate: leaf,
      peerChain: leaf ? peerChainFor(sent.slice(1)) : [],
      protocol,
      cipher: cipher === null ? null : opensslString(lib.SSL_CIPHER_get_name(cipher)),
    };
  }

  /** Reports the first error only: after it, the channel ignores input. */
  #fail(reason: string): void {
    if (this.#closed || this.#failed) return;
    this.#failed = true;
    this.#pending = null;
    this.#records?.close();
    try {
      this.#handlers.onError(reason);
    } catch {
      // nothing left to tell
    }
  }
}
