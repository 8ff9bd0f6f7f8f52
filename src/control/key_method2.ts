/**
 * The key-method 2 message, the first plaintext each side writes into the TLS
 * channel once the handshake is done:
 *
 *   +---------+----+------------------------------+---------+----------+----------+-----------+
 *   | 0 (u32) | 2  | key source                   | options | username | password | peer-info |
 *   +---------+----+------------------------------+---------+----------+----------+-----------+
 *              u8   client: pre_master[48] random1[32] random2[32]
 *                   server: random1[32] random2[32]
 *
 * Strings are u16 BE length (including a trailing NUL), the bytes, then NUL;
 * an empty string is just a zero length. OpenVPN 2.x always writes all four
 * strings (peer-info empty from servers that send none). Decoding never throws.
 */

import { type KeySource, PRE_MASTER_SIZE, RANDOM_SIZE } from "./prf.ts";

export const KEY_METHOD_2 = 2;
/** Longest string accepted in a key-method 2 message (OpenVPN uses 512 for options, 128 for credentials). */
export const MAX_KM2_STRING = 8192;

export interface KeyMethod2Message {
  keySource: KeySource;
  /** OpenVPN's options compatibility string ("V4,dev-type tun,..."); informative only. */
  options: string;
  username: string;
  password: string;
  /** "IV_VER=...\nIV_PLAT=...\n"; empty when the peer sent none. */
  peerInfo: string;
}

export type KeyMethod2Decode =
  | { status: "ok"; message: KeyMethod2Message; consumed: number }
  | { status: "incomplete" }
  | { status: "invalid"; reason: string };

const enc = new TextEncoder();
const dec = new TextDecoder();

function stringBytes(s: string): Uint8Array {
  return s.length === 0 ? new Uint8Array(0) : enc.encode(s);
}

/** Serialises a message; `fromClient` decides whether the pre-master secret is written. */
export function encodeKeyMethod2(msg: KeyMethod2Message, fromClient: boolean): Uint8Array {
  const ks = msg.keySource;
  if (ks.random1.length !== RANDOM_SIZE || ks.random2.length !== RANDOM_SIZE) {
    throw new RangeError("Key source randoms must be 32 bytes");
  }
  if (fromClient && ks.preMaster?.length !== PRE_MASTER_SIZE) {
    throw new RangeError("Client key source needs a 48-byte pre-master secret");
  }
  const strs = [msg.options, msg.username, msg.password, msg.peerInfo].map(stringBytes);
  let size = 5 + (fromClient ? PRE_MASTER_SIZE : 0) + 2 * RANDOM_SIZE;
  for (const s of strs) size += 2 + (s.length > 0 ? s.length + 1 : 0);
  const out = new Uint8Array(size);
  let p = 4;
  out[p++] = KEY_METHOD_2;
  if (fromClient) {
    out.set(ks.preMaster!, p);
    p += PRE_MASTER_SIZE;
  }
  out.set(ks.random1, p);
  p += RANDOM_SIZE;
  out.set(ks.random2, p);
  p += RANDOM_SIZE;
  for (const s of strs) {
    if (s.length === 0) {
      p += 2;
      continue;
    }
    const n = s.length + 1;
    if (n > 0xffff) throw new RangeError("Key-method 2 string too long");
    out[p++] = n >>> 8;
    out[p++] = n & 0xff;
    out.set(s, p);
    p += n; // trailing NUL already zero
  }
  return out;
}

/** Reads a message sent by the client (`fromClient`) or the server from the start of `buf`. */
export function decodeKeyMethod2(buf: Uint8Array, fromClient: boolean): KeyMethod2Decode {
  const fixed = 5 + (fromClient ? PRE_MASTER_SIZE : 0) + 2 * RANDOM_SIZE;
  if (buf.length < fixed) return { status: "incomplete" };
  if (buf[0] !== 0 || buf[1] !== 0 || buf[2] !== 0 || buf[3] !== 0) {
    return { status: "invalid", reason: "key-method 2 message does not start with 4 zero bytes" };
  }
  if ((buf[4] & 0x0f) !== KEY_METHOD_2) {
    return { status: "invalid", reason: `unsupported key method ${buf[4] & 0x0f}` };
  }
  let p = 5;
  let preMaster: Uint8Array | undefined;
  if (fromClient) {
    preMaster = buf.slice(p, p + PRE_MASTER_SIZE);
    p += PRE_MASTER_SIZE;
  }
  const random1 = buf.slice(p, p + RANDOM_SIZE);
  p += RANDOM_SIZE;
  const random2 = buf.slice(p, p + RANDOM_SIZE);
  p += RANDOM_SIZE;
  const strs: string[] = [];
  for (let i = 0; i < 4; i++) {
    // The message arrives in one TLS record; ending right after the password means no peer-info.
    if (i === 3 && p === buf.length) {
      strs.push("");
      break;
    }
    if (p + 2 > buf.length) return { status: "incomplete" };
    const n = (buf[p] << 8) | buf[p + 1];
    p += 2;
    if (n > MAX_KM2_STRING) {
      return { status: "invalid", reason: `key-method 2 string of ${n} bytes is too long` };
    }
    if (p + n > buf.length) return { status: "incomplete" };
    let end = p;
    while (end < p + n && buf[end] !== 0) end++;
    strs.push(dec.decode(buf.subarray(p, end)));
    p += n;
  }
  const keySource: KeySource = preMaster ? { preMaster, random1, random2 } : { random1, random2 };
  return {
    status: "ok",
    message: { keySource, options: strs[0], username: strs[1], password: strs[2], peerInfo: strs[3] },
    consumed: p,
  };
}

/** Fresh key-method 2 entropy from the injected random source. */
export function randomKeySource(random: (n: number) => Uint8Array, client: boolean): KeySource {
  return client
    ? { preMaster: random(PRE_MASTER_SIZE), random1: random(RANDOM_SIZE), random2: random(RANDOM_SIZE) }
    : { random1: random(RANDOM_SIZE), random2: random(RANDOM_SIZE) };
}
