/**
 * Field codecs for the mesh control messages (messages.ts): the line is split
 * into `key=value` fields, each value parsed strictly by one of these
 * functions. Every failure is a `MeshMessageError` with a one-line reason
 * that quotes at most a short, sanitized piece of the hostile text.
 */

import { formatNumericIp, type NumericIp, parseNumericIp } from "../addr/ip.ts";
import { formatPrefix, type NumericPrefix, parsePrefix } from "../addr/prefix.ts";
import { CIPHER_NAMES, type CipherName } from "../data/aead.ts";
import { type Endpoint, formatEndpoint, isUsableCandidate, parseEndpoint } from "./endpoint.ts";

/** The only error a mesh message parser throws. */
export class MeshMessageError extends Error {
  override name = "MeshMessageError";
}

/** Certificate names the mesh carries: what `tsvpn pki` issues, plus '@' and '+' (e-mail style names). */
const MESH_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$/;
const UINT_RE = /^(0|[1-9][0-9]{0,9})$/;
const BASE64_KEY_RE = /^[A-Za-z0-9+/]{43}=$/;

export const X25519_KEY_LEN = 32;

/** A short printable rendering of hostile text for error messages. */
export function quote(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, "?");
  return JSON.stringify(clean.length > 40 ? clean.slice(0, 40) + "…" : clean);
}

/** True when `name` may be carried in mesh messages (clients with other names stay relayed). */
export function isMeshName(name: string): boolean {
  return MESH_NAME_RE.test(name);
}

export function parseName(key: string, text: string): string {
  if (!isMeshName(text)) throw new MeshMessageError(`${key}: invalid certificate name ${quote(text)}`);
  return text;
}

/** A decimal integer in [min, max]. */
export function parseUint(key: string, text: string, min: number, max: number): number {
  if (!UINT_RE.test(text)) throw new MeshMessageError(`${key}: expected a whole number, got ${quote(text)}`);
  const n = Number(text);
  if (n < min || n > max) throw new MeshMessageError(`${key}: ${n} is outside ${min}..${max}`);
  return n;
}

/** Exactly one of `allowed`. */
export function parseEnum<T extends string>(key: string, text: string, allowed: readonly T[]): T {
  const hit = allowed.find((a) => a === text);
  if (hit === undefined) {
    throw new MeshMessageError(`${key}: expected one of ${allowed.join("|")}, got ${quote(text)}`);
  }
  return hit;
}

export function parseCipher(key: string, text: string): CipherName {
  return parseEnum(key, text, CIPHER_NAMES);
}

/** Canonical base64 of exactly 32 bytes (44 characters, one '=' of padding). */
export function parseKey(key: string, text: string): Uint8Array {
  if (!BASE64_KEY_RE.test(text)) throw new MeshMessageError(`${key}: expected base64 of 32 bytes`);
  const bin = atob(text);
  const out = new Uint8Array(X25519_KEY_LEN);
  for (let i = 0; i < X25519_KEY_LEN; i++) out[i] = bin.charCodeAt(i);
  if (formatKey(out) !== text) throw new MeshMessageError(`${key}: base64 is not canonical`);
  return out;
}

export function formatKey(bytes: Uint8Array): string {
  if (bytes.length !== X25519_KEY_LEN) throw new RangeError(`Mesh keys are ${X25519_KEY_LEN} bytes`);
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** Space-separated items, 1..max of them, no duplicates (empty lists are sent as an absent field). */
function parseList<T>(
  key: string,
  text: string,
  max: number,
  item: (t: string) => T,
  id: (v: T) => string,
): T[] {
  const parts = text.split(" ");
  if (parts.length > max) throw new MeshMessageError(`${key}: more than ${max} items`);
  const seen = new Set<string>();
  const out: T[] = [];
  for (const p of parts) {
    if (p === "") throw new MeshMessageError(`${key}: empty item (items are separated by one space)`);
    const v = item(p);
    const k = id(v);
    if (seen.has(k)) throw new MeshMessageError(`${key}: duplicate item ${quote(p)}`);
    seen.add(k);
    out.push(v);
  }
  return out;
}

export function parseEndpointValue(key: string, text: string): Endpoint {
  const e = asMeshError(key, parseEndpoint)(text);
  if (!isUsableCandidate(e)) {
    throw new MeshMessageError(`${key}: endpoint ${formatEndpoint(e)} cannot be probed`);
  }
  return e;
}

export function parseEndpointList(key: string, text: string, max: number): Endpoint[] {
  return parseList(key, text, max, (t) => parseEndpointValue(key, t), formatEndpoint);
}

/** `parse` with its SyntaxError turned into a MeshMessageError naming the field. */
function asMeshError<T>(key: string, parse: (t: string) => T): (t: string) => T {
  return (t) => {
    try {
      return parse(t);
    } catch (err) {
      throw new MeshMessageError(`${key}: ${(err as Error).message}`);
    }
  };
}

export function parseAddressList(key: string, text: string, max: number): NumericIp[] {
  return parseList(key, text, max, asMeshError(key, parseNumericIp), formatNumericIp);
}

export function parsePrefixList(key: string, text: string, max: number): NumericPrefix[] {
  return parseList(key, text, max, asMeshError(key, (t) => parsePrefix(t)), formatPrefix);
}

/** Splits "k=v,k=v" into ordered pairs; rejects empty keys, missing '=', duplicate keys. */
export function splitFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) throw new MeshMessageError(`malformed field ${quote(part)} (expected key=value)`);
    const key = part.slice(0, eq);
    if (!/^[a-z][a-z_]{0,15}$/.test(key)) throw new MeshMessageError(`malformed field name ${quote(key)}`);
    if (fields.has(key)) throw new MeshMessageError(`duplicate field ${key}`);
    fields.set(key, part.slice(eq + 1));
  }
  return fields;
}
