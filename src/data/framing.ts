/**
 * OpenVPN's compression framing without compression, for older profiles
 * (src/openvpn/comp.h, compstub.c). A peer configured with a compression
 * option puts a framing byte in every data-channel payload (pings and OCC
 * included) and expects one back; tsvpn writes "not compressed" every time
 * and drops any payload that says it is compressed.
 *
 *   lzo-no  (`comp-lzo no`)        0xFA, then the packet
 *   stub    (`compress` / `compress stub`, and lz4's v1 framing)
 *                                  0xFB, the packet from its 2nd byte, then its 1st byte
 *                                  (the first byte is swapped to the end)
 *   stub-v2 (`compress stub-v2`)   the packet as is, unless its first byte is 0x50:
 *                                  then 0x50 0x00 in front (an IP packet never starts
 *                                  with 0x50; an Ethernet frame can)
 *
 * Everything works in place on the caller's buffer: `frame` writes at most
 * FRAMING_MAX_PREFIX bytes before the payload and one after it, `unframe`
 * only moves one byte. Nothing allocates.
 */

export type CompressFraming = "none" | "lzo-no" | "stub" | "stub-v2";
export const COMPRESS_FRAMINGS: readonly CompressFraming[] = ["none", "lzo-no", "stub", "stub-v2"];

export const FRAMING_NONE = 0;
export const FRAMING_LZO_NO = 1;
export const FRAMING_STUB = 2;
export const FRAMING_STUB_V2 = 3;

/** The most bytes framing writes in front of a payload (stub-v2's escape). */
export const FRAMING_MAX_PREFIX = 2;

const NO_COMPRESS_BYTE = 0xfa;
const NO_COMPRESS_BYTE_SWAP = 0xfb;
const V2_INDICATOR = 0x50;
const V2_NONE = 0x00;

export function framingCode(framing: CompressFraming): number {
  return COMPRESS_FRAMINGS.indexOf(framing);
}

/** Bytes `frame` writes in front of the payload starting at buf[off] (0, 1 or 2). */
export function framingPrefix(mode: number, buf: Uint8Array, off: number): number {
  if (mode === FRAMING_LZO_NO) return 1;
  if (mode === FRAMING_STUB_V2 && buf[off] === V2_INDICATOR) return 2;
  return 0;
}

/** Bytes `frame` writes after the payload (stub's swapped byte). */
export function framingSuffix(mode: number): number {
  return mode === FRAMING_STUB ? 1 : 0;
}

/**
 * Frames buf[off, off + len) in place (the caller made room: framingPrefix
 * bytes before, framingSuffix after); returns the framed length, which starts
 * at off - framingPrefix(mode, buf, off) as computed before the call.
 */
export function frame(mode: number, buf: Uint8Array, off: number, len: number): number {
  if (mode === FRAMING_LZO_NO) {
    buf[off - 1] = NO_COMPRESS_BYTE;
    return len + 1;
  }
  if (mode === FRAMING_STUB) {
    buf[off + len] = buf[off];
    buf[off] = NO_COMPRESS_BYTE_SWAP;
    return len + 1;
  }
  if (mode === FRAMING_STUB_V2 && buf[off] === V2_INDICATOR) {
    buf[off - 2] = V2_INDICATOR;
    buf[off - 1] = V2_NONE;
    return len + 2;
  }
  return len;
}

/**
 * How many bytes of the received framed payload buf[off, off + len) come
 * before the packet, or -1 when it is compressed (or not framed as agreed):
 * such a payload is dropped.
 */
export function unframeSkip(mode: number, buf: Uint8Array, off: number, len: number): number {
  if (mode === FRAMING_NONE) return 0;
  if (len < 1) return -1;
  const b = buf[off];
  if (mode === FRAMING_LZO_NO) return b === NO_COMPRESS_BYTE ? 1 : -1;
  if (mode === FRAMING_STUB) return b === NO_COMPRESS_BYTE_SWAP ? 0 : -1;
  if (b !== V2_INDICATOR) return 0;
  return len >= 2 && buf[off + 1] === V2_NONE ? 2 : -1;
}

/**
 * Unframes in place after unframeSkip said `skip` (>= 0); returns the
 * packet's length; it starts at off + skip. Stub moves its swapped byte back.
 */
export function unframe(mode: number, buf: Uint8Array, off: number, len: number, skip: number): number {
  if (mode === FRAMING_STUB) {
    buf[off] = buf[off + len - 1];
    return len - 1;
  }
  return len - skip;
}

/** The OpenVPN option that asks a peer for each framing (what a server pushes). */
export const FRAMING_OPTION: Readonly<Record<Exclude<CompressFraming, "none">, string>> = {
  "lzo-no": "comp-lzo no",
  stub: "compress stub",
  "stub-v2": "compress stub-v2",
};

/**
 * The framing an OpenVPN `comp-lzo`/`compress` option (pushed or in a
 * profile) asks for: `undefined` when the text is not a compression option,
 * `null` when it asks for real compression, which tsvpn does not do.
 */
export function framingOfOption(text: string): CompressFraming | null | undefined {
  const [name, arg, ...rest] = text.trim().split(/\s+/);
  if (name !== "comp-lzo" && name !== "compress") return undefined;
  if (rest.length > 0) return null;
  if (name === "comp-lzo") return arg === "no" ? "lzo-no" : null;
  if (arg === undefined || arg === "stub") return "stub";
  return arg === "stub-v2" ? "stub-v2" : null;
}
