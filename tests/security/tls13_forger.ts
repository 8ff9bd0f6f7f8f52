/**
 * Test support: a TLS 1.3 peer that presents a certificate chain it was given
 * and signs CertificateVerify with whatever key it was given — usually not
 * the certificate's. It speaks just enough TLS 1.3 (x25519,
 * TLS_AES_128_GCM_SHA256, no HelloRetryRequest, no resumption) to complete a
 * full handshake with Deno's node:tls in either role, so a test can see
 * whether the other side ever checks that the peer holds its key.
 *
 * Client role: ClientHello → (ServerHello, EE, CertificateRequest, Certificate,
 * CertificateVerify, Finished) → Certificate, CertificateVerify, Finished.
 * Server role: ClientHello → ServerHello, EE, [CertificateRequest],
 * Certificate, CertificateVerify, Finished → ([Certificate, CertificateVerify],
 * Finished).
 */

import { Buffer } from "node:buffer";
import {
  constants,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from "node:crypto";
import {
  concat,
  CONTENT_ALERT,
  CONTENT_APPLICATION_DATA,
  CONTENT_CHANGE_CIPHER_SPEC,
  CONTENT_HANDSHAKE,
  EXT_KEY_SHARE,
  EXT_SIGNATURE_ALGORITHMS,
  EXT_SUPPORTED_GROUPS,
  EXT_SUPPORTED_VERSIONS,
  extension,
  finishedMac,
  GROUP_X25519,
  handshake,
  HandshakeReader,
  HS_CERTIFICATE,
  HS_CERTIFICATE_REQUEST,
  HS_CERTIFICATE_VERIFY,
  HS_CLIENT_HELLO,
  HS_ENCRYPTED_EXTENSIONS,
  HS_FINISHED,
  HS_SERVER_HELLO,
  KeySchedule,
  plaintextRecord,
  Reader,
  readExtensions,
  RecordProtection,
  RecordReader,
  sameBytes,
  TLS_AES_128_GCM_SHA256,
  Transcript,
  u16,
  u8,
  vec,
} from "./tls13_wire.ts";

export type ForgerRole = "client" | "server";

export interface ForgeryPlan {
  /** DER certificates to present, leaf first, sent exactly as given. */
  chain: Uint8Array[];
  /** The key that signs CertificateVerify (ECDSA P-256/P-384, Ed25519 or RSA). */
  signingKey: KeyObject;
  /** Server role: ask the client for a certificate. @default true */
  requestClientCertificate?: boolean;
}

const SIGNATURE_SCHEMES = [0x0403, 0x0503, 0x0804, 0x0805, 0x0807];
const X25519_SPKI_PREFIX = Uint8Array.of(
  0x30,
  0x2a,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x6e,
  0x03,
  0x21,
  0x00,
);

/** The TLS 1.3 signature scheme for `key` and a signature over `data` with it. */
function signWith(key: KeyObject, data: Uint8Array): { scheme: number; signature: Uint8Array } {
  const type = key.asymmetricKeyType;
  if (type === "ed25519") return { scheme: 0x0807, signature: new Uint8Array(sign(null, data, key)) };
  if (type === "rsa") {
    const signature = sign("sha256", data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    return { scheme: 0x0804, signature: new Uint8Array(signature) };
  }
  if (type === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? "";
    const p384 = curve === "secp384r1" || curve === "P-384";
    const signature = sign(p384 ? "sha384" : "sha256", data, { key, dsaEncoding: "der" });
    return { scheme: p384 ? 0x0503 : 0x0403, signature: new Uint8Array(signature) };
  }
  throw new Error(`the forger cannot sign with a ${type} key`);
}

function certificateVerifyInput(role: ForgerRole, th: Uint8Array): Uint8Array {
  const label = new TextEncoder().encode(`TLS 1.3, ${role} CertificateVerify`);
  return concat(new Uint8Array(64).fill(0x20), label, u8(0), th);
}

function certificateMessage(context: Uint8Array, chain: Uint8Array[]): Uint8Array {
  const entries = chain.map((der) => concat(vec(3, der), u16(0)));
  return handshake(HS_CERTIFICATE, concat(vec(1, context), vec(3, concat(...entries))));
}

/** An x25519 key pair: the private KeyObject and the raw 32-byte public value. */
function x25519(): { privateKey: KeyObject; raw: Uint8Array } {
  const { privateKey, publicKey } = generateKeyPairSync("x25519");
  const spki = new Uint8Array(publicKey.export({ format: "der", type: "spki" }));
  return { privateKey, raw: spki.subarray(spki.length - 32) };
}

function sharedSecret(mine: KeyObject, peerRaw: Uint8Array): Uint8Array {
  const der = Buffer.from(concat(X25519_SPKI_PREFIX, peerRaw));
  const publicKey = createPublicKey({ key: der, format: "der", type: "spki" });
  return new Uint8Array(diffieHellman({ privateKey: mine, publicKey }));
}

/** The peer's x25519 share from a key_share extension (client or server form). */
function x25519Share(body: Uint8Array, fromClient: boolean): Uint8Array {
  const r = new Reader(body);
  const shares = fromClient ? new Reader(r.vec(2)) : r;
  while (!shares.done) {
    const group = shares.uint(2);
    const key = shares.vec(2);
    if (group === GROUP_X25519) return key;
  }
  throw new Error("the peer offered no x25519 key share (HelloRetryRequest is not supported)");
}

export class Tls13Forger {
  /** Alert description the peer sent, when it sent one. */
  alert: number | null = null;
  /** Set when the forger's side of the handshake completed. */
  handshakeDone = false;
  /** Why the forger stopped (a protocol problem on its own side), or null. */
  failure: string | null = null;

  readonly #records = new RecordReader();
  readonly #messages = new HandshakeReader();
  readonly #transcript = new Transcript();
  readonly #share = x25519();
  #schedule: KeySchedule | null = null;
  #hs: { client: Uint8Array; server: Uint8Array } | null = null;
  #read: RecordProtection | null = null;
  #write: RecordProtection | null = null;
  #certificateContext: Uint8Array | null = null;
  /** Server role: the transcript hash through the server's Finished (application secrets come from it). */
  #serverFinishedHash: Uint8Array | null = null;

  constructor(
    readonly role: ForgerRole,
    readonly plan: ForgeryPlan,
    readonly send: (bytes: Uint8Array) => void,
  ) {}

  /** Client role: sends the ClientHello. */
  start(): void {
    if (this.role !== "client") return;
    const exts = concat(
      extension(EXT_SUPPORTED_VERSIONS, vec(1, u16(0x0304))),
      extension(EXT_SUPPORTED_GROUPS, vec(2, u16(GROUP_X25519))),
      extension(EXT_SIGNATURE_ALGORITHMS, vec(2, concat(...SIGNATURE_SCHEMES.map(u16)))),
      extension(EXT_KEY_SHARE, vec(2, concat(u16(GROUP_X25519), vec(2, this.#share.raw)))),
    );
    const body = concat(
      u16(0x0303),
      randomBytes(32),
      vec(1, randomBytes(32)),
      vec(2, u16(TLS_AES_128_GCM_SHA256)),
      vec(1, u8(0)),
      vec(2, exts),
    );
    const hello = handshake(HS_CLIENT_HELLO, body);
    this.#transcript.add(hello);
    this.send(plaintextRecord(CONTENT_HANDSHAKE, hello));
  }

  /** Bytes from the peer, in stream order. */
  receive(bytes: Uint8Array): void {
    if (this.failure !== null || this.alert !== null) return;
    try {
      for (const record of this.#records.push(bytes)) this.#onRecord(record.type, record.header, record.body);
    } catch (e) {
      this.failure = (e as Error).message;
    }
  }

  #onRecord(type: number, header: Uint8Array, body: Uint8Array): void {
    if (type === CONTENT_CHANGE_CIPHER_SPEC) return;
    if (type === CONTENT_ALERT) {
      this.alert = body[1] ?? 0;
      return;
    }
    if (type === CONTENT_APPLICATION_DATA && this.#read) {
      const inner = this.#read.open(header, body);
      if (inner.type === CONTENT_ALERT) this.alert = inner.content[1] ?? 0;
      else if (inner.type === CONTENT_HANDSHAKE) this.#onHandshakeBytes(inner.content);
      return;
    }
    if (type === CONTENT_HANDSHAKE && !this.#read) {
      this.#onHandshakeBytes(body);
      return;
    }
    throw new Error(`unexpected record of type ${type}`);
  }

  #onHandshakeBytes(bytes: Uint8Array): void {
    for (const message of this.#messages.push(bytes)) {
      if (this.handshakeDone) continue; // NewSessionTicket, KeyUpdate: nothing to do
      if (this.role === "client") this.#clientOn(message);
      else this.#serverOn(message);
    }
  }

  #startHandshakeKeys(peerShare: Uint8Array): void {
    this.#schedule = new KeySchedule(sharedSecret(this.#share.privateKey, peerShare));
    this.#hs = this.#schedule.handshakeSecrets(this.#transcript.hash());
    const [read, write] = this.role === "client"
      ? [this.#hs.server, this.#hs.client]
      : [this.#hs.client, this.#hs.server];
    this.#read = new RecordProtection(read);
    this.#write = new RecordProtection(write);
  }

  #sendProtected(message: Uint8Array): void {
    this.#transcript.add(message);
    this.send(this.#write!.seal(CONTENT_HANDSHAKE, message));
  }

  /** Certificate and a CertificateVerify signed with the plan's key. */
  #sendCertificateAndProof(context: Uint8Array): void {
    this.#sendProtected(certificateMessage(context, this.plan.chain));
    const proof = signWith(this.plan.signingKey, certificateVerifyInput(this.role, this.#transcript.hash()));
    this.#sendProtected(handshake(HS_CERTIFICATE_VERIFY, concat(u16(proof.scheme), vec(2, proof.signature))));
  }

  #checkPeerFinished(message: Uint8Array): void {
    const peerSecret = this.role === "client" ? this.#hs!.server : this.#hs!.client;
    const expected = finishedMac(peerSecret, this.#transcript.hash());
    if (!sameBytes(message.subarray(4), expected)) throw new Error("the peer's Finished does not verify");
    this.#transcript.add(message);
  }

  #clientOn(message: Uint8Array): void {
    const type = message[0];
    const body = new Reader(message.subarray(4));
    if (type === HS_SERVER_HELLO) {
      body.bytes(2 + 32);
      body.vec(1);
      if (body.uint(2) !== TLS_AES_128_GCM_SHA256) throw new Error("the server chose another cipher suite");
      body.bytes(1);
      const share = readExtensions(body).get(EXT_KEY_SHARE);
      if (!share) throw new Error("ServerHello without a key share");
      this.#transcript.add(message);
      this.#startHandshakeKeys(x25519Share(share, false));
      return;
    }
    if (type === HS_CERTIFICATE_REQUEST) this.#certificateContext = body.vec(1).slice();
    if (type !== HS_FINISHED) {
      this.#transcript.add(message);
      return;
    }
    this.#checkPeerFinished(message);
    const app = this.#schedule!.applicationSecrets(this.#transcript.hash());
    if (this.#certificateContext !== null) this.#sendCertificateAndProof(this.#certificateContext);
    this.#sendProtected(handshake(HS_FINISHED, finishedMac(this.#hs!.client, this.#transcript.hash())));
    this.#read = new RecordProtection(app.server);
    this.#write = new RecordProtection(app.client);
    this.handshakeDone = true;
  }

  #serverOn(message: Uint8Array): void {
    const type = message[0];
    if (type === HS_CLIENT_HELLO) {
      this.#transcript.add(message);
      this.#answerClientHello(new Reader(message.subarray(4)));
      return;
    }
    if (type !== HS_FINISHED) {
      this.#transcript.add(message);
      return;
    }
    const app = this.#schedule!.applicationSecrets(this.#serverFinishedHash!);
    this.#checkPeerFinished(message);
    this.#read = new RecordProtection(app.client);
    this.#write = new RecordProtection(app.server);
    this.handshakeDone = true;
  }

  #answerClientHello(body: Reader): void {
    body.bytes(2 + 32);
    const sessionId = body.vec(1).slice();
    const suites = new Reader(body.vec(2));
    let offered = false;
    while (!suites.done) if (suites.uint(2) === TLS_AES_128_GCM_SHA256) offered = true;
    if (!offered) throw new Error("the client did not offer TLS_AES_128_GCM_SHA256");
    body.vec(1);
    const share = readExtensions(body).get(EXT_KEY_SHARE);
    if (!share) throw new Error("ClientHello without a key share");
    const peerShare = x25519Share(share, true);
    const exts = concat(
      extension(EXT_SUPPORTED_VERSIONS, u16(0x0304)),
      extension(EXT_KEY_SHARE, concat(u16(GROUP_X25519), vec(2, this.#share.raw))),
    );
    const hello = handshake(
      HS_SERVER_HELLO,
      concat(
        u16(0x0303),
        randomBytes(32),
        vec(1, sessionId),
        u16(TLS_AES_128_GCM_SHA256),
        u8(0),
        vec(2, exts),
      ),
    );
    this.#transcript.add(hello);
    this.send(plaintextRecord(CONTENT_HANDSHAKE, hello));
    this.#startHandshakeKeys(peerShare);
    this.#sendProtected(handshake(HS_ENCRYPTED_EXTENSIONS, vec(2, new Uint8Array(0))));
    if (this.plan.requestClientCertificate ?? true) {
      const sigAlgs = extension(EXT_SIGNATURE_ALGORITHMS, vec(2, concat(...SIGNATURE_SCHEMES.map(u16))));
      this.#sendProtected(
        handshake(HS_CERTIFICATE_REQUEST, concat(vec(1, new Uint8Array(0)), vec(2, sigAlgs))),
      );
    }
    this.#sendCertificateAndProof(new Uint8Array(0));
    this.#sendProtected(handshake(HS_FINISHED, finishedMac(this.#hs!.server, this.#transcript.hash())));
    this.#serverFinishedHash = this.#transcript.hash();
  }
}
