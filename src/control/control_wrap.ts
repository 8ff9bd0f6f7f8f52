/**
 * Control-channel wrapping: none, tls-auth (HMAC) or tls-crypt (AES-256-CTR +
 * HMAC-SHA256), on the primitives of wrap_primitives.ts (OpenSSL when it
 * loads: keyed once, nothing allocated per packet). Each converts between the wire form and the plain form decoded
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

import { DROP_AUTH_FAILED, DROP_MALFORMED, VERDICT_OK } from "./drop_counters.ts";
import { SESSION_ID_SIZE } from "./opcode.ts";
import { defaultWrapPrimitives } from "./wrap_openssl.ts";
import { equalBytes, type KeyedCtr, type KeyedMac, type WrapPrimitives } from "./wrap_primitives.ts";

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
  readonly #size: number;
  readonly #send: KeyedMac;
  readonly #recv: KeyedMac;
  readonly #expect: Uint8Array;
  readonly #pidTime = new Uint8Array(8);

  constructor(
    key: Uint8Array,
    digest: TlsAuthDigest = "SHA1",
    direction?: 0 | 1,
    primitives: WrapPrimitives = defaultWrapPrimitives(),
  ) {
    checkStaticKey(key);
    this.#size = DIGEST_SIZE[digest];
    if (!this.#size) throw new RangeError(`Unsupported tls-auth digest ${digest}`);
    const sendHalf = direction === undefined ? 0 : direction;
    const recvHalf = direction === undefined ? 0 : 1 - direction;
    this.#send = primitives.mac(digest, hmacKey(key, sendHalf, this.#size), this.#size);
    this.#recv = primitives.mac(digest, hmacKey(key, recvHalf, this.#size), this.#size);
    this.#expect = new Uint8Array(this.#size);
    this.overhead = this.#size + 8;
  }

  unwrap(wire: Uint8Array, off: number, len: number, scratch: Uint8Array, res: WrapResult): number {
    const h = this.#size;
    if (len < OSID + h + 8 || off + len > wire.length) return DROP_MALFORMED;
    const pidTimeOff = off + OSID + h;
    const restOff = pidTimeOff + 8;
    const restLen = off + len - restOff;
    // HMAC(pid | time | op | sid | rest), checked before anything is copied.
    const mac = this.#recv;
    mac.begin();
    mac.update(wire, pidTimeOff, 8);
    mac.update(wire, off, OSID);
    mac.update(wire, restOff, restLen);
    mac.finish(this.#expect, 0);
    if (!equalBytes(this.#expect, 0, wire, off + OSID, h)) return DROP_AUTH_FAILED;
    const plainLen = OSID + restLen;
    if (scratch.length < plainLen) return DROP_MALFORMED;
    scratch.set(wire.subarray(off, off + OSID), 0);
    scratch.set(wire.subarray(restOff, off + len), OSID);
    res.buffer = scratch;
    res.offset = 0;
    res.length = plainLen;
    res.packetId = readU32(wire, pidTimeOff);
    res.time = readU32(wire, pidTimeOff + 4);
    return VERDICT_OK;
  }

  wrap(plain: Uint8Array, plainLen: number, packetId: number, time: number, out: Uint8Array): number {
    const h = this.#size;
    const pidTime = this.#pidTime;
    writeU32(pidTime, 0, packetId);
    writeU32(pidTime, 4, time);
    const mac = this.#send;
    mac.begin();
    mac.update(pidTime, 0, 8);
    mac.update(plain, 0, plainLen);
    mac.finish(out, OSID);
    out.set(plain.subarray(0, OSID), 0);
    out.set(pidTime, OSID + h);
    out.set(plain.subarray(OSID, plainLen), OSID + h + 8);
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
  readonly #encrypt: KeyedCtr;
  readonly #encMac: KeyedMac;
  readonly #decrypt: KeyedCtr;
  readonly #decMac: KeyedMac;
  readonly #expect = new Uint8Array(TC_TAG);

  constructor(
    key: Uint8Array,
    role: "client" | "server",
    primitives: WrapPrimitives = defaultWrapPrimitives(),
  ) {
    checkStaticKey(key);
    const out = role === "server" ? 0 : 1;
    const inn = 1 - out;
    this.#encrypt = primitives.ctr(cipherKey(key, out, 32));
    this.#encMac = primitives.mac("SHA256", hmacKey(key, out, 32), TC_TAG);
    this.#decrypt = primitives.ctr(cipherKey(key, inn, 32));
    this.#decMac = primitives.mac("SHA256", hmacKey(key, inn, 32), TC_TAG);
  }

  /**
   * The tag is an HMAC of the plaintext (SIV), so the ciphertext is decrypted
   * first, into `scratch` right after a copy of op|sid|pid|time: the HMAC then
   * runs over one contiguous range, and only a verified packet is compacted
   * to op|sid|plain.
   */
  unwrap(wire: Uint8Array, off: number, len: number, scratch: Uint8Array, res: WrapResult): number {
    if (len < TC_OFF_CT || off + len > wire.length) return DROP_MALFORMED;
    const ctLen = len - TC_OFF_CT;
    if (scratch.length < TC_OFF_TAG + ctLen) return DROP_MALFORMED;
    scratch.set(wire.subarray(off, off + TC_OFF_TAG), 0);
    this.#decrypt.xor(wire, off + TC_OFF_TAG, wire, off + TC_OFF_CT, ctLen, scratch, TC_OFF_TAG);
    const mac = this.#decMac;
    mac.begin();
    mac.update(scratch, 0, TC_OFF_TAG + ctLen);
    mac.finish(this.#expect, 0);
    if (!equalBytes(this.#expect, 0, wire, off + TC_OFF_TAG, TC_TAG)) return DROP_AUTH_FAILED;
    scratch.copyWithin(OSID, TC_OFF_TAG, TC_OFF_TAG + ctLen);
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
    const restLen = plainLen - OSID;
    const mac = this.#encMac;
    mac.begin();
    mac.update(out, 0, TC_OFF_TAG);
    mac.update(plain, OSID, restLen);
    mac.finish(out, TC_OFF_TAG);
    this.#encrypt.xor(out, TC_OFF_TAG, plain, OSID, restLen, out, TC_OFF_CT);
    return TC_OFF_CT + restLen;
  }
}

/** Builds the wrap for one side. tls-crypt needs the role to pick key halves. */
export function createControlWrap(
  config: ControlWrapConfig,
  role: "client" | "server",
  primitives: WrapPrimitives = defaultWrapPrimitives(),
): ControlWrap {
  switch (config.mode) {
    case "none":
      return new NoWrap();
    case "tls-auth":
      return new TlsAuthWrap(config.key, config.digest ?? "SHA1", config.direction, primitives);
    case "tls-crypt":
      return new TlsCryptWrap(config.key, role, primitives);
  }
}
