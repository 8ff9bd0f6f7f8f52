/**
 * Auth tokens (OpenVPN's auth-gen-token): after a client's password was accepted, the server pushes
 * `auth-token TOKEN`; the client then sends the token instead of its password on renegotiations and
 * reconnects, so a one-time (2FA) code is asked once per session. The layout follows OpenVPN 2.6:
 *
 *   "SESS_ID_AT_" base64( session id [12] | initial time [8, BE seconds] | time [8] | HMAC [32] )
 *
 * HMAC-SHA256 under the server's secret over the username, the common name, the session id and both
 * times, so a token is good only for the username and certificate it was issued to, and only until
 * `lifetime` seconds after the first authentication (0: as long as the secret lasts). A token is
 * compared in constant time and a client cannot tell an expired one from a forged one.
 */

import { createHmac, timingSafeEqual } from "node:crypto";

export const AUTH_TOKEN_PREFIX = "SESS_ID_AT_";
const SESSION_ID_LEN = 12;
const HMAC_LEN = 32;
const DATA_LEN = SESSION_ID_LEN + 16 + HMAC_LEN;
/** base64 of DATA_LEN (a multiple of 3) bytes has no padding. */
const TOKEN_LEN = AUTH_TOKEN_PREFIX.length + (DATA_LEN / 3) * 4;
/** Smallest secret accepted. */
export const MIN_AUTH_TOKEN_SECRET = 32;

export interface AuthTokenOptions {
  secret: Uint8Array;
  /** Seconds from the first authentication; 0 = no limit. */
  lifetimeS: number;
  /** Seconds since the epoch. */
  now: () => number;
  random: (n: number) => Uint8Array;
}

export type TokenCheck =
  | { status: "valid"; sessionId: string; initialS: number }
  | { status: "expired" | "invalid" };

/** True when `password` has the shape of a token (the server then checks it instead of the script). */
export function isAuthToken(password: string): boolean {
  return password.length === TOKEN_LEN && password.startsWith(AUTH_TOKEN_PREFIX);
}

export class AuthTokens {
  readonly #o: AuthTokenOptions;

  constructor(o: AuthTokenOptions) {
    if (o.secret.length < MIN_AUTH_TOKEN_SECRET) {
      throw new RangeError(`Auth token secret must be at least ${MIN_AUTH_TOKEN_SECRET} bytes`);
    }
    this.#o = o;
  }

  /** A new token for `username`/`commonName`; keeps the session id and initial time of `renew`. */
  issue(username: string, commonName: string, renew?: { sessionId: string; initialS: number }): string {
    const now = Math.floor(this.#o.now());
    const data = new Uint8Array(DATA_LEN);
    data.set(renew ? base64Bytes(renew.sessionId) : this.#o.random(SESSION_ID_LEN), 0);
    const view = new DataView(data.buffer);
    view.setBigUint64(SESSION_ID_LEN, BigInt(renew?.initialS ?? now));
    view.setBigUint64(SESSION_ID_LEN + 8, BigInt(now));
    data.set(this.#mac(username, commonName, data.subarray(0, DATA_LEN - HMAC_LEN)), DATA_LEN - HMAC_LEN);
    return AUTH_TOKEN_PREFIX + bytesBase64(data);
  }

  /** Checks a token presented by `username` with a certificate of `commonName`. */
  check(token: string, username: string, commonName: string): TokenCheck {
    if (!isAuthToken(token)) return { status: "invalid" };
    let data: Uint8Array;
    try {
      data = base64Bytes(token.slice(AUTH_TOKEN_PREFIX.length));
    } catch {
      return { status: "invalid" };
    }
    if (data.length !== DATA_LEN) return { status: "invalid" };
    const expect = this.#mac(username, commonName, data.subarray(0, DATA_LEN - HMAC_LEN));
    if (!timingSafeEqual(expect, data.subarray(DATA_LEN - HMAC_LEN))) return { status: "invalid" };
    const view = new DataView(data.buffer, data.byteOffset);
    const initialS = Number(view.getBigUint64(SESSION_ID_LEN));
    const lifetime = this.#o.lifetimeS;
    if (lifetime > 0 && this.#o.now() > initialS + lifetime) return { status: "expired" };
    return { status: "valid", sessionId: bytesBase64(data.subarray(0, SESSION_ID_LEN)), initialS };
  }

  #mac(username: string, commonName: string, body: Uint8Array): Uint8Array {
    const h = createHmac("sha256", this.#o.secret);
    // Length-prefixed, so no username/common name pair can be shifted into another.
    for (const s of [username, commonName]) {
      const b = new TextEncoder().encode(s);
      h.update(new Uint8Array([b.length >>> 8, b.length & 0xff]));
      h.update(b);
    }
    h.update(body);
    return new Uint8Array(h.digest());
  }
}

function bytesBase64(b: Uint8Array): string {
  return btoa(String.fromCharCode(...b));
}

function base64Bytes(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

/**
 * The secret from OpenVPN's auth-gen-token-secret file ("-----BEGIN OpenVPN auth-token server
 * key-----", base64) or, for any other file, its bytes; at least MIN_AUTH_TOKEN_SECRET bytes.
 */
export function parseAuthTokenSecret(text: string): Uint8Array {
  const pem = /-----BEGIN ([^\n]+?)-----([\s\S]*?)-----END \1-----/.exec(text);
  let secret: Uint8Array;
  if (pem) {
    try {
      secret = base64Bytes(pem[2].replace(/\s+/g, ""));
    } catch {
      throw new SyntaxError("Auth token secret has a PEM block that is not base64");
    }
  } else {
    secret = new TextEncoder().encode(text.trim());
  }
  if (secret.length < MIN_AUTH_TOKEN_SECRET) {
    throw new RangeError(`Auth token secret must be at least ${MIN_AUTH_TOKEN_SECRET} bytes`);
  }
  return secret;
}
