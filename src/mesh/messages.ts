/**
 * The mesh's control messages: text lines carried over each client's
 * authenticated control channel like OpenVPN's own (PUSH_REPLY, INFO, ...),
 * as one NUL-terminated TLS write. Stock OpenVPN never sends the
 * `TSVPN_MESH_` prefix, and a tsvpn server sends these only to clients that
 * announced IV_TSVPN, so stock peers never see them.
 *
 *   TSVPN_MESH_HELLO,v=1,keepalive=25,punch=5,retry=30                      server → client
 *   TSVPN_MESH_KEY,v=1,epoch=1,pub=<b64>[,local=<ep> <ep>...]              client → server
 *   TSVPN_MESH_INTRO,v=1,pair=17,peer=bob,cipher=AES-256-GCM,epoch=1,
 *     peer_epoch=4,pub=<b64>,public=<ep>[,local=<ep>...][,addr=<ip> <ip>]
 *     [,iroute=<prefix> ...]                                                server → client
 *   TSVPN_MESH_CLOSE,v=1,pair=17,reason=revoked                              server → client
 *   TSVPN_MESH_STATE,v=1,pair=17,path=direct[,endpoint=<ep>][,rtt=12]        client → server
 *
 * Fields are `key=value` separated by ',', lists separated by one space, `v`
 * first. Decoding is strict: printable ASCII only, bounded length and list
 * sizes, every required field once, no unknown field, values validated; the
 * only error it throws is `MeshMessageError`, with a one-line reason.
 * Encoders validate too (RangeError: a programming error on our side).
 */

import { formatNumericIp, type NumericIp } from "../addr/ip.ts";
import { formatPrefix, type NumericPrefix } from "../addr/prefix.ts";
import type { CipherName } from "../data/aead.ts";
import { type Endpoint, formatEndpoint } from "./endpoint.ts";
import {
  formatKey,
  isMeshName,
  MeshMessageError,
  parseAddressList,
  parseCipher,
  parseEndpointList,
  parseEndpointValue,
  parseEnum,
  parseKey,
  parseName,
  parsePrefixList,
  parseUint,
  quote,
  splitFields,
} from "./message_fields.ts";

export { MeshMessageError };

export const MESH_MESSAGE_PREFIX = "TSVPN_MESH_";
export const MESH_PROTOCOL_VERSION = 1;
/** Longest mesh message accepted or produced (an INTRO with every list full fits). */
export const MAX_MESH_MESSAGE = 6144;
export const MAX_LOCAL_ENDPOINTS = 8;
export const MAX_PEER_ADDRESSES = 4;
export const MAX_PEER_IROUTES = 64;
/** Pair ids are 24-bit, like OpenVPN peer-ids; 0 and 0xFFFFFF are never used. */
export const MAX_PAIR_ID = 0xfffffe;
export const MAX_EPOCH = 0xffffffff;
export const MAX_RTT_MS = 600_000;

export const CLOSE_REASONS = ["revoked", "killed", "left", "lost", "policy"] as const;
export type CloseReason = typeof CLOSE_REASONS[number];
export const PATH_KINDS = ["direct", "relayed"] as const;
export type PathKind = typeof PATH_KINDS[number];

export interface MeshHello {
  kind: "hello";
  keepaliveS: number;
  punchTimeoutS: number;
  retryS: number;
}

export interface MeshKey {
  kind: "key";
  epoch: number;
  publicKey: Uint8Array;
  localEndpoints: Endpoint[];
}

export interface MeshIntro {
  kind: "intro";
  pairId: number;
  peerName: string;
  cipher: CipherName;
  /** The epoch of the receiver's own key this introduction was made with. */
  epoch: number;
  peerEpoch: number;
  peerPublicKey: Uint8Array;
  publicEndpoint: Endpoint;
  localEndpoints: Endpoint[];
  addresses: NumericIp[];
  iroutes: NumericPrefix[];
}

export interface MeshClose {
  kind: "close";
  pairId: number;
  reason: CloseReason;
}

export interface MeshState {
  kind: "state";
  pairId: number;
  path: PathKind;
  endpoint: Endpoint | null;
  rttMs: number | null;
}

export type MeshMessage = MeshHello | MeshKey | MeshIntro | MeshClose | MeshState;

const KIND_NAMES: Record<MeshMessage["kind"], string> = {
  hello: "HELLO",
  key: "KEY",
  intro: "INTRO",
  close: "CLOSE",
  state: "STATE",
};

interface Schema {
  required: readonly string[];
  optional: readonly string[];
}

const SCHEMAS: Record<MeshMessage["kind"], Schema> = {
  hello: { required: ["keepalive", "punch", "retry"], optional: [] },
  key: { required: ["epoch", "pub"], optional: ["local"] },
  intro: {
    required: ["pair", "peer", "cipher", "epoch", "peer_epoch", "pub", "public"],
    optional: ["local", "addr", "iroute"],
  },
  close: { required: ["pair", "reason"], optional: [] },
  state: { required: ["pair", "path"], optional: ["endpoint", "rtt"] },
};

/** True when `text` is a mesh message (to be handed to `parseMeshMessage`), by its prefix alone. */
export function isMeshMessage(text: string): boolean {
  return text.startsWith(MESH_MESSAGE_PREFIX);
}

/** Parses one message; throws only MeshMessageError. */
export function parseMeshMessage(text: string): MeshMessage {
  if (typeof text !== "string") throw new MeshMessageError("mesh message is not text");
  if (text.length > MAX_MESH_MESSAGE) {
    throw new MeshMessageError(`mesh message longer than ${MAX_MESH_MESSAGE}`);
  }
  if (!/^[\x20-\x7e]*$/.test(text)) throw new MeshMessageError("mesh message has non-printable characters");
  if (!isMeshMessage(text)) throw new MeshMessageError(`not a mesh message: ${quote(text)}`);
  const comma = text.indexOf(",");
  if (comma < 0) throw new MeshMessageError(`mesh message without fields: ${quote(text)}`);
  const name = text.slice(MESH_MESSAGE_PREFIX.length, comma);
  const kind = (Object.keys(KIND_NAMES) as MeshMessage["kind"][]).find((k) => KIND_NAMES[k] === name);
  if (kind === undefined) throw new MeshMessageError(`unknown mesh message ${quote(name)}`);
  const rest = text.slice(comma + 1);
  if (!rest.startsWith("v=")) throw new MeshMessageError(`${name}: the first field must be v`);
  const fields = splitFields(rest);
  const version = parseUint("v", fields.get("v")!, 1, 65535);
  if (version !== MESH_PROTOCOL_VERSION) {
    throw new MeshMessageError(`${name}: unsupported version ${version}`);
  }
  fields.delete("v");
  checkSchema(name, fields, SCHEMAS[kind]);
  return DECODERS[kind](fields);
}

/** `parseMeshMessage` as a result, for callers that log and carry on. */
export function tryParseMeshMessage(
  text: string,
): { ok: true; message: MeshMessage } | { ok: false; error: string } {
  try {
    return { ok: true, message: parseMeshMessage(text) };
  } catch (e) {
    if (e instanceof MeshMessageError) return { ok: false, error: e.message };
    throw e;
  }
}

function checkSchema(name: string, fields: Map<string, string>, schema: Schema): void {
  for (const key of fields.keys()) {
    if (!schema.required.includes(key) && !schema.optional.includes(key)) {
      throw new MeshMessageError(`${name}: unknown field ${key}`);
    }
  }
  for (const key of schema.required) {
    if (!fields.has(key)) throw new MeshMessageError(`${name}: missing field ${key}`);
  }
}

type Decoder = (f: Map<string, string>) => MeshMessage;

const pair = (f: Map<string, string>) => parseUint("pair", f.get("pair")!, 1, MAX_PAIR_ID);
const epoch = (f: Map<string, string>, key: string) => parseUint(key, f.get(key)!, 1, MAX_EPOCH);
const optional = <T>(f: Map<string, string>, key: string, read: (t: string) => T[]): T[] =>
  f.has(key) ? read(f.get(key)!) : [];

const DECODERS: Record<MeshMessage["kind"], Decoder> = {
  hello: (f) => ({
    kind: "hello",
    keepaliveS: parseUint("keepalive", f.get("keepalive")!, 1, 3600),
    punchTimeoutS: parseUint("punch", f.get("punch")!, 1, 300),
    retryS: parseUint("retry", f.get("retry")!, 1, 86400),
  }),
  key: (f) => ({
    kind: "key",
    epoch: epoch(f, "epoch"),
    publicKey: parseKey("pub", f.get("pub")!),
    localEndpoints: optional(f, "local", (t) => parseEndpointList("local", t, MAX_LOCAL_ENDPOINTS)),
  }),
  intro: (f) => ({
    kind: "intro",
    pairId: pair(f),
    peerName: parseName("peer", f.get("peer")!),
    cipher: parseCipher("cipher", f.get("cipher")!),
    epoch: epoch(f, "epoch"),
    peerEpoch: epoch(f, "peer_epoch"),
    peerPublicKey: parseKey("pub", f.get("pub")!),
    publicEndpoint: parseEndpointValue("public", f.get("public")!),
    localEndpoints: optional(f, "local", (t) => parseEndpointList("local", t, MAX_LOCAL_ENDPOINTS)),
    addresses: optional(f, "addr", (t) => parseAddressList("addr", t, MAX_PEER_ADDRESSES)),
    iroutes: optional(f, "iroute", (t) => parsePrefixList("iroute", t, MAX_PEER_IROUTES)),
  }),
  close: (f) => ({
    kind: "close",
    pairId: pair(f),
    reason: parseEnum("reason", f.get("reason")!, CLOSE_REASONS),
  }),
  state: (f) => {
    const path = parseEnum("path", f.get("path")!, PATH_KINDS);
    const endpoint = f.has("endpoint") ? parseEndpointValue("endpoint", f.get("endpoint")!) : null;
    if ((path === "direct") !== (endpoint !== null)) {
      throw new MeshMessageError(
        "STATE: endpoint is required with path=direct and refused with path=relayed",
      );
    }
    const rttMs = f.has("rtt") ? parseUint("rtt", f.get("rtt")!, 0, MAX_RTT_MS) : null;
    return { kind: "state", pairId: pair(f), path, endpoint, rttMs };
  },
};

// -- Encoding --

function line(kind: MeshMessage["kind"], fields: [string, string | null][]): string {
  let s = `${MESH_MESSAGE_PREFIX}${KIND_NAMES[kind]},v=${MESH_PROTOCOL_VERSION}`;
  for (const [k, v] of fields) if (v !== null) s += `,${k}=${v}`;
  if (s.length > MAX_MESH_MESSAGE) throw new RangeError(`Mesh ${KIND_NAMES[kind]} message too long`);
  return s;
}

function list<T>(items: readonly T[], max: number, fmt: (v: T) => string, what: string): string | null {
  if (items.length > max) throw new RangeError(`At most ${max} ${what} fit a mesh message`);
  return items.length === 0 ? null : items.map(fmt).join(" ");
}

function checkInt(value: number, min: number, max: number, what: string): string {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} must be ${min}..${max}`);
  }
  return String(value);
}

/** Encodes any mesh message; parseMeshMessage(encodeMeshMessage(m)) equals m. */
export function encodeMeshMessage(m: MeshMessage): string {
  switch (m.kind) {
    case "hello":
      return line("hello", [
        ["keepalive", checkInt(m.keepaliveS, 1, 3600, "keepalive")],
        ["punch", checkInt(m.punchTimeoutS, 1, 300, "punch timeout")],
        ["retry", checkInt(m.retryS, 1, 86400, "retry")],
      ]);
    case "key":
      return line("key", [
        ["epoch", checkInt(m.epoch, 1, MAX_EPOCH, "epoch")],
        ["pub", formatKey(m.publicKey)],
        ["local", list(m.localEndpoints, MAX_LOCAL_ENDPOINTS, formatEndpoint, "local endpoints")],
      ]);
    case "intro":
      return encodeIntro(m);
    case "close":
      return line("close", [["pair", checkInt(m.pairId, 1, MAX_PAIR_ID, "pair id")], ["reason", m.reason]]);
    case "state":
      if ((m.path === "direct") !== (m.endpoint !== null)) {
        throw new RangeError("A direct path needs its endpoint");
      }
      return line("state", [
        ["pair", checkInt(m.pairId, 1, MAX_PAIR_ID, "pair id")],
        ["path", m.path],
        ["endpoint", m.endpoint === null ? null : formatEndpoint(m.endpoint)],
        [
          "rtt",
          m.rttMs === null ? null : checkInt(Math.min(MAX_RTT_MS, Math.round(m.rttMs)), 0, MAX_RTT_MS, "rtt"),
        ],
      ]);
  }
}

function encodeIntro(m: MeshIntro): string {
  if (!isMeshName(m.peerName)) throw new RangeError(`Certificate name ${quote(m.peerName)} cannot be meshed`);
  return line("intro", [
    ["pair", checkInt(m.pairId, 1, MAX_PAIR_ID, "pair id")],
    ["peer", m.peerName],
    ["cipher", m.cipher],
    ["epoch", checkInt(m.epoch, 1, MAX_EPOCH, "epoch")],
    ["peer_epoch", checkInt(m.peerEpoch, 1, MAX_EPOCH, "peer epoch")],
    ["pub", formatKey(m.peerPublicKey)],
    ["public", formatEndpoint(m.publicEndpoint)],
    ["local", list(m.localEndpoints, MAX_LOCAL_ENDPOINTS, formatEndpoint, "local endpoints")],
    ["addr", list(m.addresses, MAX_PEER_ADDRESSES, formatNumericIp, "addresses")],
    ["iroute", list(m.iroutes, MAX_PEER_IROUTES, formatPrefix, "iroutes")],
  ]);
}
