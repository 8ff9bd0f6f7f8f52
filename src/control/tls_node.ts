/**
 * The control channel's TLS on Deno's node:tls: a TLSSocket over an in-memory
 * Duplex, the engine used where libssl cannot be (`tls_channel.ts` picks). Ciphertext
 * the peer sent is fed in order with feed(); ciphertext TLS produces comes out
 * of onCiphertext. Certificate checks are NOT done here (node:tls over a
 * Duplex completes handshakes with untrusted peers): the session verifies the
 * peer certificate from onSecure before using the channel.
 */

import tls from "node:tls";
import process from "node:process";
import { Duplex } from "node:stream";
import {
  countTlsChannel,
  MAX_PEER_CHAIN,
  peerChainFor,
  type TlsChannelHandlers,
  type TlsCredentials,
  type TlsEndpoint,
  type TlsSecureInfo,
} from "./tls_types.ts";

/** Most TLS contexts kept (a server uses one for every session; a client one per server credential set). */
const CONTEXT_CACHE_LIMIT = 4;
const contexts: { creds: TlsCredentials; context: tls.SecureContext }[] = [];

/**
 * One node:tls SecureContext per credential set, made once: building it per connection re-reads the PEM
 * and runs Deno's key-strength check (a private-key parse, ~0.3 ms of CPU per handshake). Compared by
 * the PEM texts themselves, so changed credentials get a new context.
 */
export function secureContextFor(creds: TlsCredentials): tls.SecureContext {
  const i = contexts.findIndex((c) =>
    c.creds.ca === creds.ca && c.creds.cert === creds.cert && c.creds.key === creds.key
  );
  const entry = i >= 0 ? contexts.splice(i, 1)[0] : {
    creds: { ca: creds.ca, cert: creds.cert, key: creds.key },
    context: tls.createSecureContext({
      ca: creds.ca,
      cert: creds.cert,
      key: creds.key,
      minVersion: "TLSv1.2",
    }),
  };
  contexts.push(entry);
  if (contexts.length > CONTEXT_CACHE_LIMIT) contexts.shift();
  return entry.context;
}

/**
 * node:tls's client checks the peer's name against a host name (here none: "localhost") and builds an
 * error for the mismatch, which rejectUnauthorized:false then ignores; the session checks the name itself
 * (pki/verify.ts, verify-x509-name). Skipping the unused check saves building that error per handshake.
 */
const IGNORED_HOST_CHECK = () => undefined;

/**
 * Deno's client calls getPeerCertificate(true) on every handshake only to hand the result to the host-name
 * check above, which ignores it; that call parses every certificate into node's legacy objects (~0.4 ms).
 * The client socket answers it with an empty object; the channel reads the peer's certificates itself
 * (peerCertificates()).
 */
function legacyCertificateForHostCheck(): Record<string, never> {
  return {};
}

interface PeerCert {
  raw?: Uint8Array;
  issuerCertificate?: PeerCert;
}

/** The part of Deno's TLS handle that lists the peer's certificates as sent, DER, leaf first. */
interface PeerChainHandle {
  getPeerCertificateChain?: () => { certificates?: unknown } | null | undefined;
}

/**
 * The peer's certificates (DER, leaf first), empty when it sent none. Deno's TLS handle gives them as the
 * peer sent them without parsing; node's getPeerCertificate(true), the fallback, turns every certificate
 * (and the local CA it appends) into a legacy object first: ~0.4 ms of CPU per handshake on each side.
 * Either way the session verifies the result itself (pki/verify.ts), trusted CAs before anything the peer sent.
 */
export function peerCertificates(socket: tls.TLSSocket): Uint8Array[] {
  try {
    const handle = (socket as unknown as { _handle?: PeerChainHandle })._handle;
    const listed = handle?.getPeerCertificateChain?.()?.certificates;
    if (Array.isArray(listed) && listed.every((c) => c instanceof Uint8Array)) {
      return listed.filter((c) => c.length > 0).map((c) => new Uint8Array(c));
    }
    return certificatesFromLegacy(tls.TLSSocket.prototype.getPeerCertificate.call(socket, true));
  } catch {
    return [];
  }
}

/** From node's getPeerCertificate(true) object: its `raw`, then its issuerCertificate links (cycles and length bounded). */
export function certificatesFromLegacy(legacy: unknown): Uint8Array[] {
  const pc = legacy as PeerCert | null | undefined;
  if (!pc || !pc.raw || pc.raw.length === 0) return [];
  const out = [new Uint8Array(pc.raw)];
  const seen = new Set<PeerCert>([pc]);
  for (
    let c = pc.issuerCertificate;
    c && !seen.has(c) && out.length <= MAX_PEER_CHAIN;
    c = c.issuerCertificate
  ) {
    seen.add(c);
    if (c.raw && c.raw.length > 0) out.push(new Uint8Array(c.raw));
  }
  return out;
}

export class NodeTlsChannel implements TlsEndpoint {
  readonly #socket: tls.TLSSocket;
  readonly #duplex: Duplex;
  readonly #handlers: TlsChannelHandlers;
  #closed = false;
  #secure = false;
  #errored = false;
  /**
   * Input fed before the socket started. A server TLSSocket starts from a nextTick, and Deno's
   * TLSSocket._start() throws a TypeError there (an uncaught exception: the process ends) when bytes that
   * fail TLS parsing are already queued. Input is held until our own nextTick, queued after the socket's.
   */
  #early: Uint8Array[] | null = [];

  constructor(role: "client" | "server", creds: TlsCredentials, handlers: TlsChannelHandlers) {
    // Handlers run inside node:stream event callbacks, where a throw is an uncaught exception that ends the
    // process. Whatever a handler throws while processing peer data becomes an error of this channel instead.
    const guard = <A>(fn: (a: A) => void) => (a: A) => {
      try {
        fn(a);
      } catch (e) {
        this.#fail(`internal error: ${(e as Error)?.message ?? e}`);
      }
    };
    this.#handlers = {
      onCiphertext: guard((b: Uint8Array) => handlers.onCiphertext(b)),
      onSecure: guard((i: TlsSecureInfo) => handlers.onSecure(i)),
      onPlaintext: guard((b: Uint8Array) => handlers.onPlaintext(b)),
      onError: (reason: string) => {
        // The first error ends the channel for the session; the socket's later "close" or "end" is not news.
        if (this.#errored) return;
        this.#errored = true;
        try {
          handlers.onError(reason);
        } catch {
          // nothing left to tell
        }
      },
    };
    this.#duplex = new Duplex({
      read() {},
      write: (chunk: Uint8Array, _enc: string, cb: (e?: Error | null) => void) => {
        if (!this.#closed) this.#handlers.onCiphertext(new Uint8Array(chunk));
        cb();
      },
      final: (cb: (e?: Error | null) => void) => cb(),
    });
    const common = {
      secureContext: creds.context ?? secureContextFor(creds),
      rejectUnauthorized: false,
      minVersion: "TLSv1.2" as const,
    };
    if (role === "server") {
      this.#socket = new tls.TLSSocket(
        this.#duplex,
        { ...common, isServer: true, requestCert: true } as never,
      );
      this.#socket.on("secure", () => this.#onSecure());
    } else {
      this.#socket = tls.connect(
        { ...common, socket: this.#duplex, checkServerIdentity: IGNORED_HOST_CHECK } as never,
      );
      this.#socket.getPeerCertificate = legacyCertificateForHostCheck as never;
      this.#socket.on("secureConnect", () => this.#onSecure());
    }
    countTlsChannel(+1);
    process.nextTick(() => {
      const early = this.#early ?? [];
      this.#early = null;
      for (const b of early) this.feed(b);
    });
    this.#socket.on("data", (d: Uint8Array) => {
      if (!this.#closed) this.#handlers.onPlaintext(new Uint8Array(d));
    });
    this.#socket.on("error", (e: Error) => {
      if (this.#closed) return;
      this.#handlers.onError(`TLS error: ${e?.message ?? e}`);
    });
    // The in-memory transport can report errors too (e.g. a write after teardown); never leave them unhandled.
    this.#duplex.on("error", (e: Error) => this.#fail(`TLS transport error: ${e?.message ?? e}`));
    this.#socket.on("end", () => {
      if (!this.#closed) this.#handlers.onError("TLS session closed by the peer");
    });
    this.#socket.on("close", () => {
      if (this.#closed) return;
      this.#handlers.onError(
        this.#secure ? "TLS session closed by the peer" : "TLS closed before the handshake completed",
      );
    });
  }

  #fail(reason: string): void {
    if (this.#closed) return;
    this.#handlers.onError(reason);
  }

  get secure(): boolean {
    return this.#secure;
  }

  #onSecure(): void {
    if (this.#closed) return;
    this.#secure = true;
    const certs = peerCertificates(this.#socket);
    const leaf = certs.length > 0 ? certs[0] : null;
    const chain = peerChainFor(certs.slice(1));
    let protocol: string | null = null;
    let cipher: string | null = null;
    try {
      protocol = this.#socket.getProtocol() ?? null;
      cipher = this.#socket.getCipher()?.name ?? null;
    } catch {
      // informational only
    }
    this.#handlers.onSecure({ peerCertificate: leaf, peerChain: chain, protocol, cipher });
  }

  /** Ciphertext from the peer, in stream order. */
  feed(bytes: Uint8Array): void {
    if (this.#closed || bytes.length === 0) return;
    if (this.#early) {
      this.#early.push(bytes.slice());
      return;
    }
    try {
      this.#duplex.push(bytes);
    } catch (e) {
      this.#fail(`TLS input failed: ${(e as Error)?.message ?? e}`);
    }
  }

  /** Application data to encrypt; buffered by TLS until the handshake completes. */
  write(bytes: Uint8Array): void {
    if (this.#closed) return;
    try {
      this.#socket.write(bytes);
    } catch (e) {
      this.#fail(`TLS write failed: ${(e as Error)?.message ?? e}`);
    }
  }

  /** Tears down without further output. */
  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    countTlsChannel(-1);
    this.#early = null;
    try {
      this.#socket.destroy();
    } catch {
      // already gone
    }
    try {
      this.#duplex.destroy();
    } catch {
      // already gone
    }
  }
}
