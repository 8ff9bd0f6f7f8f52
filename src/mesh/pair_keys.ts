/**
 * The mesh key schedule: each client makes an X25519 key pair per control
 * session key (a new one with every renegotiation, numbered by `epoch`), hands
 * the public half to the server over its own control channel, and the server
 * introduces two clients by passing each the other's public key, bound to the
 * certificate name it verified. Both then compute, with nobody else able to:
 *
 *   shared = X25519(own private, peer public)          refused when all zero (low-order peer key)
 *   (lo, hi) = the two public keys in bytewise order, names in the same order
 *   okm = HKDF-SHA256(ikm = shared, salt = lo || hi,
 *                     info = "tsvpn mesh v1" 0 cipher 0 name(lo) 0 name(hi), length 2 * (K + 8))
 *   okm = key(lo→hi) [K] | iv(lo→hi) [8] | key(hi→lo) [K] | iv(hi→lo) [8]
 *
 * K is the cipher's key length (16 for AES-128-GCM, 32 otherwise); the 8-byte
 * IV is the implicit part of the nonce, as in OpenVPN's AEAD data channel.
 * The owner of `lo` sends with the lo→hi key, so each side's send key is the
 * other's receive key. Binding both names and the cipher into `info` means a
 * key pair introduced under one identity or cipher never decrypts traffic
 * under another.
 */

import { x25519 } from "@noble/curves/ed25519.js";
import { hkdfSync } from "node:crypto";
import { cipherKeyLength, type CipherName } from "../data/aead.ts";
import { type DataKeyMaterial, dataKeysFromParts, IMPLICIT_IV_LEN } from "../data/key_material.ts";
import { KEY_ID_MASK } from "../data/data_header.ts";
import { isMeshName, X25519_KEY_LEN } from "./message_fields.ts";

export const PAIR_KDF_LABEL = "tsvpn mesh v1";

/** One client's key pair for one control-session key epoch. */
export interface MeshKeyPair {
  /** 1, 2, ...: increases with every renegotiation of the control session. */
  readonly epoch: number;
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/** Why pair keys could not be derived (the pair then stays relayed). */
export class PairKeyError extends Error {
  override name = "PairKeyError";
}

/** Makes a key pair from 32 bytes of `random` (injected: tests control it). */
export function generateMeshKeyPair(epoch: number, random: (n: number) => Uint8Array): MeshKeyPair {
  if (!Number.isInteger(epoch) || epoch < 1 || epoch > 0xffffffff) {
    throw new RangeError("Epoch must be 1..2^32-1");
  }
  const privateKey = random(X25519_KEY_LEN);
  if (privateKey.length !== X25519_KEY_LEN) throw new RangeError("Random source returned the wrong length");
  return { epoch, privateKey, publicKey: x25519.getPublicKey(privateKey) };
}

export interface PairKeyInput {
  own: MeshKeyPair;
  ownName: string;
  peerPublicKey: Uint8Array;
  peerName: string;
  cipher: CipherName;
}

/** X25519 of our private key and the peer's public key; PairKeyError for keys that give no secret. */
export function sharedSecret(own: MeshKeyPair, peerPublicKey: Uint8Array): Uint8Array {
  if (peerPublicKey.length !== X25519_KEY_LEN) throw new PairKeyError("peer public key is not 32 bytes");
  if (sameBytes(peerPublicKey, own.publicKey)) throw new PairKeyError("peer public key equals our own");
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(own.privateKey, peerPublicKey);
  } catch {
    throw new PairKeyError("peer public key is a low-order point");
  }
  // Belt and braces: RFC 7748 section 6.1's all-zero check, whatever the library does.
  if (shared.every((b) => b === 0)) throw new PairKeyError("shared secret is all zero (low-order peer key)");
  return shared;
}

/** A fixed scalar for `isUsablePublicKey` (any valid scalar works; the result is thrown away). */
const PROBE_SCALAR = new Uint8Array(32).fill(0x55);

/**
 * False for a public key no pair could use: wrong length or a low-order point
 * (the server checks a client's KEY before introducing anyone to it).
 */
export function isUsablePublicKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== X25519_KEY_LEN) return false;
  try {
    return !x25519.getSharedSecret(PROBE_SCALAR, publicKey).every((b) => b === 0);
  } catch {
    return false;
  }
}

/** Directional keys for one pair, seen from our side (encrypt = what we send with). */
export function derivePairKeys(input: PairKeyInput): DataKeyMaterial {
  if (!isMeshName(input.ownName) || !isMeshName(input.peerName)) {
    throw new PairKeyError("certificate name not meshable");
  }
  const shared = sharedSecret(input.own, input.peerPublicKey);
  const weAreLo = compareBytes(input.own.publicKey, input.peerPublicKey) < 0;
  const lo = weAreLo ? input.own.publicKey : input.peerPublicKey;
  const hi = weAreLo ? input.peerPublicKey : input.own.publicKey;
  const names = weAreLo ? [input.ownName, input.peerName] : [input.peerName, input.ownName];
  const k = cipherKeyLength(input.cipher);
  const block = k + IMPLICIT_IV_LEN;
  const okm = new Uint8Array(
    hkdfSync("sha256", shared, concat(lo, hi), pairKdfInfo(input.cipher, names), 2 * block),
  );
  shared.fill(0);
  const loToHi = { key: okm.subarray(0, k), iv: okm.subarray(k, block) };
  const hiToLo = { key: okm.subarray(block, block + k), iv: okm.subarray(block + k, 2 * block) };
  const send = weAreLo ? loToHi : hiToLo;
  const receive = weAreLo ? hiToLo : loToHi;
  const material = dataKeysFromParts(input.cipher, {
    encryptKey: send.key,
    encryptIv: send.iv,
    decryptKey: receive.key,
    decryptIv: receive.iv,
  });
  okm.fill(0);
  return material;
}

/** HKDF info: the label, the cipher and both names (lo's owner first), NUL separated. */
export function pairKdfInfo(cipher: CipherName, namesLoHi: readonly string[]): Uint8Array {
  return new TextEncoder().encode(`${PAIR_KDF_LABEL}\0${cipher}\0${namesLoHi[0]}\0${namesLoHi[1]}`);
}

/**
 * The data-channel key-id of the pair key made from these epochs. Both sides
 * compute the same value, and it changes with every renegotiation of either
 * side, so the replaced key keeps opening packets in flight (DataChannel's
 * transition window).
 */
export function pairKeyId(epochA: number, epochB: number): number {
  return (epochA + epochB) & KEY_ID_MASK;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length && i < b.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
