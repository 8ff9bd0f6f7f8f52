/**
 * Control messages: NUL-terminated text strings exchanged over the TLS
 * plaintext stream after key-method 2 (PUSH_REQUEST, PUSH_REPLY,...,
 * AUTH_FAILED, RESTART, EXIT, INFO,...). Each is written in its own TLS write
 * with its trailing NUL, as OpenVPN does.
 */

export type ControlMessageKind =
  | "PUSH_REQUEST"
  | "PUSH_REPLY"
  | "AUTH_FAILED"
  | "AUTH_PENDING"
  | "RESTART"
  | "HALT"
  | "EXIT"
  | "INFO"
  | "INFO_PRE"
  | "CR_RESPONSE"
  | "OTHER";

const KINDS: ControlMessageKind[] = [
  "PUSH_REQUEST",
  "PUSH_REPLY",
  "AUTH_FAILED",
  "AUTH_PENDING",
  "RESTART",
  "HALT",
  "EXIT",
  "INFO_PRE",
  "INFO",
  "CR_RESPONSE",
];

/** Longest control message accepted; a longer one is a protocol error. */
export const MAX_CONTROL_MESSAGE = 65536;

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeControlMessage(text: string): Uint8Array {
  if (text.includes("\0")) throw new RangeError("Control message must not contain NUL");
  const b = enc.encode(text);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** The message's keyword: the text up to the first ',' or ':' or end matched against known kinds. */
export function controlMessageKind(text: string): ControlMessageKind {
  for (const k of KINDS) {
    if (text === k || text.startsWith(k + ",") || text.startsWith(k + ":") || text.startsWith(k + " ")) {
      return k;
    }
  }
  return "OTHER";
}

/** Text after "KEYWORD," (or "KEYWORD:"), or "" when the message is the bare keyword. */
export function controlMessageArgument(text: string, kind: ControlMessageKind): string {
  if (kind === "OTHER" || text.length <= kind.length) return "";
  return text.slice(kind.length + 1);
}

/**
 * Drops trailing CR/LF. A loop, not /[\r\n]+$/: V8 runs that regex in time
 * quadratic in a run of line breaks not at the end, so one 64 KiB message of
 * "\n"s from a peer would stall the process for seconds.
 */
function trimLineEnd(s: string): string {
  let end = s.length;
  while (end > 0 && (s.charCodeAt(end - 1) === 10 || s.charCodeAt(end - 1) === 13)) end--;
  return end === s.length ? s : s.slice(0, end);
}

/** Splits a plaintext byte stream into messages at NUL bytes, buffering partial ones. */
export class ControlMessageReader {
  #pending: Uint8Array = new Uint8Array(0);
  #max: number;

  constructor(max = MAX_CONTROL_MESSAGE) {
    this.#max = max;
  }

  /** Returns complete messages; null when the peer exceeded the size limit. Empty strings are skipped. */
  push(bytes: Uint8Array): string[] | null {
    let buf = bytes;
    if (this.#pending.length > 0) {
      buf = new Uint8Array(this.#pending.length + bytes.length);
      buf.set(this.#pending);
      buf.set(bytes, this.#pending.length);
    }
    const out: string[] = [];
    let start = 0;
    for (let i = 0; i < buf.length; i++) {
      if (buf[i] !== 0) continue;
      if (i > start) out.push(trimLineEnd(dec.decode(buf.subarray(start, i))));
      start = i + 1;
    }
    this.#pending = buf.slice(start);
    if (this.#pending.length > this.#max) return null;
    return out;
  }
}
