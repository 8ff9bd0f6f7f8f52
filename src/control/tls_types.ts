/**
 * What both TLS engines share (node:tls in `tls_node.ts`, libssl in
 * `tls_openssl.ts`): the credentials, the channel contract the session drives,
 * and the bookkeeping every channel does the same way.
 */

import { sameBytes } from "../pki/der.ts";

export interface TlsCredentials {
  /** PEM CA bundle (also given to TLS so it can request client certificates). */
  ca: string;
  /** PEM certificate (chain) of this side. */
  cert: string;
  /** PEM private key of this side. */
  key: string;
  /** A node:tls context already built from exactly these three (the swarm's clients do); the node engine uses it as is. */
  context?: import("node:tls").SecureContext;
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

/**
 * A TLS endpoint whose ciphertext is carried by the reliability layer rather than a socket. Ciphertext the
 * peer sent is fed in order with feed(); ciphertext TLS produces comes out of onCiphertext. Certificate
 * checks are NOT done by the engine: the session verifies the peer certificate from onSecure before using
 * the channel.
 */
export interface TlsEndpoint {
  readonly secure: boolean;
  /** Ciphertext from the peer, in stream order. */
  feed(bytes: Uint8Array): void;
  /** Application data to encrypt; held until the handshake completes. */
  write(bytes: Uint8Array): void;
  /** Tears down without further output. */
  destroy(): void;
}

let liveChannels = 0;

/** Channels made and not yet destroyed (the status shows it: one per key state, none left behind). */
export function liveTlsChannels(): number {
  return liveChannels;
}

/** Called by an engine when a channel is made (+1) and destroyed (-1). */
export function countTlsChannel(delta: 1 | -1): void {
  liveChannels += delta;
}

/** Certificates after the leaf passed on to the verifier, at most. */
export const MAX_PEER_CHAIN = 8;

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

/** What a session keeps of the certificates the peer sent after its leaf: at most MAX_PEER_CHAIN, shared copies. */
export function peerChainFor(sent: Uint8Array[]): Uint8Array[] {
  return sent.slice(0, MAX_PEER_CHAIN).map(sharedChainCertificate);
}
