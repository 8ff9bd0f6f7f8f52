/**
 * A TLS endpoint whose ciphertext is carried by the reliability layer rather
 * than a socket: Deno's node:tls TLSSocket over an in-memory Duplex. Ciphertext
 * the peer sent is fed in order with feed(); ciphertext TLS produces comes out
 * of onCiphertext. Certificate checks are NOT done here (node:tls over a
 * Duplex completes handshakes with untrusted peers): the session verifies the
 * peer certificate from onSecure before using the channel.
 */

import tls from "node:tls";
import process from "node:process";
import { Duplex } from "node:stream";
import { sameBytes } from "../pki/der.ts";

export interface TlsCredentials {
  /** PEM CA bundle (also given to TLS so it can request client certificates). */
  ca: string;
  /** PEM certificate (chain) of this side. */
  cert: string;
  /** PEM private key of this side. */
  key: string;
  /** A node:tls context already built from exactly these three (at start-up, as the swarm's clients do); used as is. */
  context?: tls.SecureContext;
}

export interface TlsSecureInfo {
  /** DER of the peer's leaf certificate, null when none was presented. */
  peerCertificate: Uint8Array | null;
  /** DER of further certificates the peer sent (untrusted, may help build the chain). */
  peerChain: Uint8Array[];
  protocol: string | null;
  cipher: string | null;
}

export interface TlsChannelHandlers {
  onCiphertext(bytes: Uint8Array): void;
  onSecure(info: TlsSecureInfo): void;
  onPlaintext(bytes: Uint8Array): void;
  onError(reason: string): void;
}

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

/** Most distinct chain certificates shared (a deployment's CAs and intermediates: a handful). */
const SHARED_CHAIN_LIMIT = 16;
const sharedChain: Uint8Array[] = [];
let nextSharedSlot = 0;

/**
 * One copy of each certificate the peers' chains carry: every client of a CA presents (or resolves to) the
 * same issuer certificate, and each session keeps its chain for later CRL checks. Compared byte for byte;
 * the shared copies are never written. Slots are reused in turn, so chains a peer made up before it was
 * verified cannot keep a deployment's real CA out for long; a session holding a replaced copy keeps it.
 */
function sharedChainCertificate(raw: Uint8Array): Uint8Array {
  for (const c of sharedChain) if (sameBytes(c, raw)) return c;
  const copy = new Uint8Array(raw);
  sharedChain[nextSharedSlot] = copy;
  nextSharedSlot = (nextSharedSlot + 1) % SHARED_CHAIN_LIMIT;
  return copy;
}

let liveChannels = 0;

/** Channels made and not yet destroyed (the status shows it: one per key state, none left behind). */
export function liveTlsChannels(): number {
  return liveChannels;
}

interface PeerCert {
  raw?: Uint8Array;
  issuerCertificate?: PeerCert;
}

/** Certificates after the leaf passed on to the verifier, at most. */
const MAX_PEER_CHAIN = 8;

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

export class TlsChannel {
  readonly #socket: tls.TLSSocket;
  readonly #duplex: Duplex;
  readonly #handlers: TlsChannelHandlers;
  #closed = false;
  #secure = false;
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
    liveChannels++;
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
    const chain = certs.slice(1, 1 + MAX_PEER_CHAIN).map(sharedChainCertificate);
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
    liveChannels--;
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

/** TLS alert descriptions used when tsvpn refuses a peer certificate after the handshake. */
export const ALERT_BAD_CERTIFICATE = 42;
export const ALERT_CERTIFICATE_REVOKED = 44;
export const ALERT_CERTIFICATE_EXPIRED = 45;
export const ALERT_UNKNOWN_CA = 48;

/**
 * A fatal TLS alert record in the clear. Sent after refusing a certificate of
 * a peer whose handshake already completed: OpenSSL fails the connection on
 * it (as a fatal alert or an undecryptable record), so a stock OpenVPN peer
 * gives up at once instead of waiting for its handshake window.
 */
export function fatalAlertRecord(description: number): Uint8Array {
  return Uint8Array.of(21, 3, 3, 0, 2, 2, description & 0xff);
}
