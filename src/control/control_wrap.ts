/**
 * Control-channel wrapping: none, tls-auth (HMAC) or tls-crypt (AES-256-CTR +
 * HMAC-SHA256). Each converts between the wire form and the plain form decoded
 * by control_packet.ts ("op|sid|rest"). Unwrapping is stateless: replay state
 * lives per session (ControlReplayGuard), so a packet is fully authenticated
 * before anything about a session changes.
 *
 * tls-auth wire form (h = digest size):
 *   | op | sid(8) | hmac(h) | pid(4) | time(4) | rest... |
 *   hmac = HMAC(key, pid | time | op | sid | rest)
 *
 * tls-crypt wire form:
 *   | op | sid(8) | pid(4) | time(4) | tag(32) | AES-256-CTR(rest) |
 *   tag = HMAC-SHA256(Ka, op | sid | pid | time | rest); CTR IV = tag[0..16)
 *
 * Static key layout (256 bytes): two 128-byte halves, each 64 bytes cipher key
 * then 64 bytes HMAC key. tls-crypt: the server sends with half 0 and receives
 * with half 1, the client the reverse. tls-auth: key-direction 0 sends with
 * half 0 / receives with half 1, direction 1 the reverse, no direction uses
 * half 0 both ways.
 */

import crypto from "node:crypto";
import { DROP_AUTH_FAILED, DROP_MALFORMED, VERDICT_OK } from "./drop_counters.ts";
import { SESSION_ID_SIZE } from "./opcode.ts";

export type WrapMode = "none" | "tls-auth" | "tls-crypt";
export type TlsAuthDigest = "SHA1" | "SHA256" | "SHA384" | "SHA512";

export type ControlWrapConfig =
  | { mode: "none" }
  | { mode: "tls-auth"; key: Uint8Array; digest?: TlsAuthDigest; direction?: 0 | 1 }
  | { mode: "tls-crypt"; key: Uint8Array };

/** Where unwrap() left the plain packet and the replay fields it read. */
export class WrapResult {
  buffer: Uint8Array = new Uint8Array(0);
  offset = 0;
  length = 0;
  packetId = 0;
  time = 0;
}

export interface ControlWrap {
  readonly mode: WrapMode;
  /** Wire bytes added to the plain form. */
  readonly overhead: number;
  /** Authenticates and unwraps; returns VERDICT_OK (plain packet in `res`) or a DROP_* reason. */
  unwrap(wire: Uint8Array, off: number, len: number, scratch: Uint8Array, res: WrapResult): number;
  /** Wraps a plain packet into `out`; returns the wire length. */
  wrap(plain: Uint8Array, plainLen: number, packetId: number, time: number, out: Uint8Array): number;
}

const OSID = 1 + SESSION_ID_SIZE;

function writeU32(b: Uint8Array, p: number, v: number): void {
  b[p] = v >>> 24;
  b[p + 1] = (v >>> 16) & 0xff;
  b[p + 2] = (v >>> 8) & 0xff;
  b[p + 3] = v & 0xff;
}

function readU32(b: Uint8Array, p: number): number {
  return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
}

export class NoWrap implements ControlWrap {
  readonly mode = "none" as const;
  readonly overhead = 0;

  unwrap(wire: Uint8Array, off: number, len: number, _scratch: Uint8Array, res: WrapResult): number {
    if (len < OSID || off + len > wire.length) return DROP_MALFORMED;
    res.buffer = wire;
    res.offset = off;
    res.length = len;
    res.packetId = 0;
    res.time = 0;
    return VERDICT_OK;
  }

  wrap(plain: Uint8Array, plainLen: number, _pid: number, _time: number, out: Uint8Array): number {
    out.set(plain.subarray(0, plainLen));
    return plainLen;
  }
}

const DIGEST_SIZE: Record<TlsAuthDigest, number> = { SHA1: 20, SHA256: 32, SHA384: 48, SHA512: 64 };

function hmacKey(key: Uint8Array, half: number, size: number): Uint8Array {
  const start = half * 128 + 64;
  return key.slice(start, start + size);
}

function cipherKey(key: Uint8Array, half: number, size: number): Uint8Array {
  const start = half * 128;
  return key.slice(start, start + size);
}

function checkStaticKey(key: Uint8Array): void {
  if (key.length !== 256) throw new RangeError(`Static key must be 256 bytes, got ${key.length}`);
}

export class TlsAuthWrap implements ControlWrap {
  readonly mode = "tls-auth" as const;
  readonly overhead: number;
  readonly #alg: string;
  readonly #size: number;
  readonly #sendKey: Uint8Array;
  readonly #recvKey: Uint8Array;

  constructor(key: Uint8Array, digest: TlsAuthDigest = "SHA1", direction?: 0 | 1) {
    checkStaticKey(key);
    this.#size = DIGEST_SIZE[digest];
    if (!this.#size) throw new RangeError(`Unsupported tls-auth digest ${digest}`);
    this.#alg = digest.toLowerCase();
    const sendHalf = direction === undefined ? 0 : direction;
    const recvHalf = direction === undefined ? 0 : 1 - direction;
    this.#sendKey = hmacKey(key, sendHalf, this.#size);
    this.#recvKey = hmacKey(key, recvHalf, this.#size);
    this.overhead = this.#size + 8;
  }

  #mac(key: Uint8Array, pidTime: Uint8Array, osid: Uint8Array, rest: Uint8Array): Uint8Array {
    return crypto.createHmac(this.#alg, key).update(pidTime).update(osid).update(rest).digest();
  }

  unwrap(wire: Uint8Array, off: number, len: number, scratch: Uint8Array, res: WrapResult): number {
    const h = this.#size;
    if (len < OSID + h + 8 || off + len > wire.length) return DROP_MALFORMED;
    const osid = wire.subarray(off, off + OSID);
    const tag = wire.subarray(off + OSID, off + OSID + h);
    const pidTime = wire.subarray(off + OSID + h, off + OSID + h + 8);
    const rest = wire.subarray(off + OSID + h + 8, off + len);
    const expect = this.#mac(this.#recvKey, pidTime, osid, rest);
    if (!crypto.timingSafeEqual(expect, tag)) return DROP_AUTH_FAILED;
    const plainLen = OSID + rest.length;
    if (scratch.length < plainLen) return DROP_MALFORMED;
    scratch.set(osid, 0);
    scratch.set(rest, OSID);
    res.buffer = scratch;
    res.offset = 0;
    res.length = plainLen;
    res.packetId = readU32(pidTime, 0);
    res.time = readU32(pidTime, 4);
    return VERDICT_OK;
  }

  wrap(plain: Uint8Array, plainLen: number, packetId: number, time: number, out: Uint8Array): number {
    const h = this.#size;
    const pidTime = new Uint8Array(8);
    writeU32(pidTime, 0, packetId);
    writeU32(pidTime, 4, time);
    const osid = plain.subarray(0, OSID);
    const rest = plain.subarray(OSID, plainLen);
    const tag = this.#mac(this.#sendKey, pidTime, osid, rest);
    out.set(osid, 0);
    out.set(tag, OSID);
    out.set(pidTime, OSID + h);
    out.set(rest, OSID + h + 8);
    return plainLen + h + 8;
  }
}

const TC_TAG = 32;
const TC_OFF_PID = OSID;
const TC_OFF_TAG = OSID + 8;
const TC_OFF_CT = TC_OFF_TAG + TC_TAG;

export class TlsCryptWrap implements ControlWrap {
  readonly mode = "tls-crypt" as const;
  readonly overhead = 8 + TC_TAG;
  readonly #encKey: Uint8Array;
  readonly #encMac: Uint8Array;
  readonly #decKey: Uint8Array;
  readonly #decMac: Uint8Array;

  constructor(key: Uint8Array, role: "client" | "server") {
    checkStaticKey(key);
    const out = role === "server" ? 0 : 1;
    const inn = 1 - out;
    this.#encKey = cipherKey(key, out, 32);
    this.#encMac = hmacKey(key, out, 32);
    this.#decKey = cipherKey(key, inn, 32);
    this.#decMac = hmacKey(key, inn, 32);
  }

  unwrap(wire: Uint8Array, off: number, len: number, scratch: Uint8Array, res: WrapResult): number {
    if (len < TC_OFF_CT || off + len > wire.length) return DROP_MALFORMED;
    const ctLen = len - TC_OFF_CT;
    if (scratch.length < OSID + ctLen) return DROP_MALFORMED;
    const tag = wire.subarray(off + TC_OFF_TAG, off + TC_OFF_CT);
    const decipher = crypto.createDecipheriv("aes-256-ctr", this.#decKey, tag.subarray(0, 16));
    const plain = decipher.update(wire.subarray(off + TC_OFF_CT, off + len));
    decipher.final();
    const expect = crypto.createHmac("sha256", this.#decMac)
      .update(wire.subarray(off, off + TC_OFF_TAG)).update(plain).digest();
    if (!crypto.timingSafeEqual(expect, tag)) return DROP_AUTH_FAILED;
    scratch.set(wire.subarray(off, off + OSID), 0);
    scratch.set(plain, OSID);
    res.buffer = scratch;
    res.offset = 0;
    res.length = OSID + ctLen;
    res.packetId = readU32(wire, off + TC_OFF_PID);
    res.time = readU32(wire, off + TC_OFF_PID + 4);
    return VERDICT_OK;
  }

  wrap(plain: Uint8Array, plainLen: number, packetId: number, time: number, out: Uint8Array): number {
    out.set(plain.subarray(0, OSID), 0);
    writeU32(out, TC_OFF_PID, packetId);
    writeU32(out, TC_OFF_PID + 4, time);
    const rest = plain.subarray(OSID, plainLen);
    const tag = crypto.createHmac("sha256", this.#encMac)
      .update(out.subarray(0, TC_OFF_TAG)).update(rest).digest();
    out.set(tag, TC_OFF_TAG);
    const cipher = crypto.createCipheriv("aes-256-ctr", this.#encKey, tag.subarray(0, 16));
    const ct = cipher.update(rest);
    cipher.final();
    out.set(ct, TC_OFF_CT);
    return TC_OFF_CT + ct.length;
  }
}

/** Builds the wrap for one side. tls-crypt needs the role to pick key halves. */
export function createControlWrap(config: ControlWrapConfig, role: "client" | "server"): ControlWrap {
  switch (config.mode) {
    case "none":
      return new NoWrap();
    case "tls-auth":
      return new TlsAuthWrap(config.key, config.digest ?? "SHA1", config.direction);
    case "tls-crypt":
      return new TlsCryptWrap(config.key, role);
  }
}
