/**
 * rtnetlink attributes (struct rtattr): type-length-value records after a
 * message's fixed family header, host-endian and padded to 4 bytes.
 *
 *   0         2          4
 *   +---------+----------+-------------+----------+
 *   | rta_len | rta_type | payload ... | pad to 4 |
 *   +---------+----------+-------------+----------+
 *
 * Encoding builds `Attr` values for `encodeMessage`; decoding walks them in
 * place (`forEachAttr`) and reads host-order u32s and C strings; readers never
 * throw.
 */

/** One rtattr to encode. */
export interface Attr {
  type: number;
  data: Uint8Array;
}

export function attrU32(type: number, value: number): Attr {
  const data = new Uint8Array(4);
  new DataView(data.buffer).setUint32(0, value >>> 0, true);
  return { type, data };
}

/** A NUL-terminated string attribute (IFLA_IFNAME and friends). */
export function attrString(type: number, value: string): Attr {
  const bytes = new TextEncoder().encode(value);
  const data = new Uint8Array(bytes.length + 1);
  data.set(bytes);
  return { type, data };
}

/** `n` rounded up to netlink's 4-byte alignment. */
export const align4 = (n: number): number => (n + 3) & ~3;

/** Walks the attributes in `buf[off .. off + len)`; calls `fn(type, dataOff, dataLen)`. */
export function forEachAttr(
  buf: Uint8Array,
  off: number,
  len: number,
  fn: (type: number, dataOff: number, dataLen: number) => void,
): void {
  const end = off + len;
  while (off + 4 <= end) {
    const attrLen = buf[off] | (buf[off + 1] << 8);
    if (attrLen < 4 || off + attrLen > end) return;
    // Strip NLA_F_NESTED / NLA_F_NET_BYTEORDER.
    const type = (buf[off + 2] | (buf[off + 3] << 8)) & 0x3fff;
    fn(type, off + 4, attrLen - 4);
    off += align4(attrLen);
  }
}

/** The host-order (little-endian) u32 at buf[off]; the caller guarantees 4 bytes. */
export function u32At(buf: Uint8Array, off: number): number {
  return (buf[off] | (buf[off + 1] << 8) | (buf[off + 2] << 16) | (buf[off + 3] << 24)) >>> 0;
}

/** The NUL-terminated string in buf[off .. off + len) (all of it without a NUL). */
export function cStringAt(buf: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && buf[end] !== 0) end++;
  return new TextDecoder().decode(buf.subarray(off, end));
}
