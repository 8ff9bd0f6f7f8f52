/**
 * Internet checksum (RFC 1071) helpers and the incremental update of RFC 1624.
 * All functions read (buf, off, len) and allocate nothing.
 */

/** Adds the bytes of `buf[off .. off+len)` as big-endian 16-bit words to `initial`; unfolded. */
export function onesComplementSum(buf: Uint8Array, off: number, len: number, initial = 0): number {
  let sum = initial;
  const end = off + len - 1;
  let i = off;
  for (; i < end; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (i === end) sum += buf[i] << 8;
  return sum;
}

/** Folds a running sum to 16 bits and complements it: the value to store in a checksum field. */
export function finishChecksum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/**
 * RFC 1624 eqn. 3: the new checksum after one 16-bit word of the covered data
 * changed from `oldWord` to `newWord`: HC' = ~(~HC + ~m + m').
 */
export function checksumUpdate16(check: number, oldWord: number, newWord: number): number {
  let sum = (~check & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The IPv4 header checksum of the header at `off` (the checksum field is skipped). */
export function ipv4HeaderChecksum(buf: Uint8Array, off: number): number {
  const hlen = (buf[off] & 0x0f) * 4;
  let sum = onesComplementSum(buf, off, 10);
  sum = onesComplementSum(buf, off + 12, hlen - 12, sum);
  return finishChecksum(sum);
}

/**
 * The TCP/UDP/ICMPv6 checksum for the IP packet at `off`, over the pseudo-header
 * and the transport segment, with the segment's own checksum field (at
 * `checksumAt` bytes into the segment) treated as zero. ICMPv4 has no
 * pseudo-header: pass `pseudo = false`. For IPv4 `len` bounds are taken from
 * the header's total length; for IPv6 from its payload length. Extension
 * headers are not walked.
 */
export function transportChecksum(buf: Uint8Array, off: number, checksumAt: number, pseudo = true): number {
  const version = buf[off] >> 4;
  let sum = 0;
  let seg: number;
  let segLen: number;
  if (version === 4) {
    const hlen = (buf[off] & 0x0f) * 4;
    const total = (buf[off + 2] << 8) | buf[off + 3];
    seg = off + hlen;
    segLen = total - hlen;
    if (pseudo) {
      sum = onesComplementSum(buf, off + 12, 8);
      sum += buf[off + 9] + segLen;
    }
  } else {
    seg = off + 40;
    segLen = (buf[off + 4] << 8) | buf[off + 5];
    if (pseudo) {
      sum = onesComplementSum(buf, off + 8, 32);
      sum += segLen + buf[off + 6];
    }
  }
  sum = onesComplementSum(buf, seg, checksumAt, sum);
  sum = onesComplementSum(buf, seg + checksumAt + 2, segLen - checksumAt - 2, sum);
  return finishChecksum(sum);
}
