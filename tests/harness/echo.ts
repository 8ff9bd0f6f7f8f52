/**
 * Minimal packet work for real-kernel tests, demos and benches: build ICMP
 * echo requests, and answer echo requests and ARP requests in place, the way
 * a remote host behind a tun/tap device would. All functions work on
 * (buf, off, len) and allocate nothing.
 */

/** Internet checksum (RFC 1071) of buf[off .. off+len), folded, not inverted. */
export function onesSum(buf: Uint8Array, off: number, len: number, initial = 0): number {
  let sum = initial;
  let i = off;
  const end = off + len - 1;
  for (; i < end; i += 2) sum += (buf[i] << 8) | buf[i + 1];
  if (i === end) sum += buf[i] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** RFC 1624 update of a stored checksum when one 16-bit word changes. */
function adjustChecksum(buf: Uint8Array, at: number, oldWord: number, newWord: number): void {
  const stored = (buf[at] << 8) | buf[at + 1];
  let sum = (~stored & 0xffff) + (~oldWord & 0xffff) + newWord;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const result = ~sum & 0xffff;
  buf[at] = result >>> 8;
  buf[at + 1] = result & 0xff;
}

function swap(buf: Uint8Array, a: number, b: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const t = buf[a + i];
    buf[a + i] = buf[b + i];
    buf[b + i] = t;
  }
}

/**
 * Writes an IPv4 ICMP echo request (20-byte header, 8-byte ICMP header,
 * `payloadLen` bytes of pattern) at `off`; returns its length.
 * Addresses are u32 numbers (0x0a4d0001 is 10.77.0.1).
 */
export function writeEchoRequest4(
  buf: Uint8Array,
  off: number,
  src: number,
  dst: number,
  id: number,
  seq: number,
  payloadLen: number,
): number {
  const len = 28 + payloadLen;
  buf[off] = 0x45;
  buf[off + 1] = 0;
  buf[off + 2] = len >>> 8;
  buf[off + 3] = len & 0xff;
  buf[off + 4] = id >>> 8;
  buf[off + 5] = id & 0xff;
  buf[off + 6] = 0x40; // DF
  buf[off + 7] = 0;
  buf[off + 8] = 64;
  buf[off + 9] = 1;
  buf[off + 10] = 0;
  buf[off + 11] = 0;
  for (let i = 0; i < 4; i++) {
    buf[off + 12 + i] = (src >>> (24 - 8 * i)) & 0xff;
    buf[off + 16 + i] = (dst >>> (24 - 8 * i)) & 0xff;
  }
  const ipSum = ~onesSum(buf, off, 20) & 0xffff;
  buf[off + 10] = ipSum >>> 8;
  buf[off + 11] = ipSum & 0xff;
  const icmp = off + 20;
  buf[icmp] = 8;
  buf[icmp + 1] = 0;
  buf[icmp + 2] = 0;
  buf[icmp + 3] = 0;
  buf[icmp + 4] = id >>> 8;
  buf[icmp + 5] = id & 0xff;
  buf[icmp + 6] = seq >>> 8;
  buf[icmp + 7] = seq & 0xff;
  for (let i = 0; i < payloadLen; i++) buf[icmp + 8 + i] = (i + seq) & 0xff;
  const sum = ~onesSum(buf, icmp, 8 + payloadLen) & 0xffff;
  buf[icmp + 2] = sum >>> 8;
  buf[icmp + 3] = sum & 0xff;
  return len;
}

/** True if buf[off..off+len) is an IPv4 or IPv6 ICMP echo reply. */
export function isEchoReply(buf: Uint8Array, off: number, len: number): boolean {
  const v = buf[off] >>> 4;
  if (v === 4 && len >= 28) {
    const ihl = (buf[off] & 0x0f) * 4;
    return buf[off + 9] === 1 && len >= ihl + 8 && buf[off + ihl] === 0;
  }
  if (v === 6 && len >= 48) return buf[off + 6] === 58 && buf[off + 40] === 129;
  return false;
}

/**
 * Turns an IPv4 or IPv6 ICMP echo request at `off` into the matching echo
 * reply, in place (addresses swapped, type changed, checksums kept valid).
 * Returns false (leaving the bytes alone) for anything else.
 */
export function echoReplyInPlace(buf: Uint8Array, off: number, len: number): boolean {
  const v = buf[off] >>> 4;
  if (v === 4) {
    const ihl = (buf[off] & 0x0f) * 4;
    if (len < ihl + 8 || buf[off + 9] !== 1 || buf[off + ihl] !== 8) return false;
    // Swapping source and destination leaves the IPv4 header checksum unchanged.
    swap(buf, off + 12, off + 16, 4);
    buf[off + ihl] = 0;
    adjustChecksum(buf, off + ihl + 2, 0x0800 | buf[off + ihl + 1], buf[off + ihl + 1]);
    return true;
  }
  if (v === 6) {
    // Only a bare ICMPv6 header (no extension headers), which is what ping sends.
    if (len < 48 || buf[off + 6] !== 58 || buf[off + 40] !== 128) return false;
    swap(buf, off + 8, off + 24, 16);
    buf[off + 40] = 129;
    adjustChecksum(buf, off + 42, 0x8000 | buf[off + 41], 0x8100 | buf[off + 41]);
    return true;
  }
  return false;
}

const ETH_HLEN = 14;

/**
 * Answers one Ethernet frame read from a tap device, in place, as a host with
 * MAC `mac` (6 bytes) and IPv4 address `ip` (u32): an ARP request for `ip`
 * becomes the ARP reply; an IPv4 ICMP echo request to `mac` becomes the echo
 * reply. Returns the reply's length, or 0 when the frame needs no answer.
 */
export function answerFrameInPlace(
  buf: Uint8Array,
  off: number,
  len: number,
  mac: Uint8Array,
  ip: number,
): number {
  if (len < ETH_HLEN) return 0;
  const type = (buf[off + 12] << 8) | buf[off + 13];
  if (type === 0x0806) {
    const a = off + ETH_HLEN;
    if (len < ETH_HLEN + 28) return 0;
    const isRequest = buf[a + 6] === 0 && buf[a + 7] === 1 && buf[a + 2] === 0x08 && buf[a + 3] === 0x00;
    const target = ((buf[a + 24] << 24) | (buf[a + 25] << 16) | (buf[a + 26] << 8) | buf[a + 27]) >>> 0;
    if (!isRequest || target !== ip) return 0;
    for (let i = 0; i < 6; i++) buf[off + i] = buf[off + 6 + i];
    buf.set(mac, off + 6);
    buf[a + 7] = 2;
    // Target (hw, ip) := requester's sender (hw, ip); sender := us.
    for (let i = 0; i < 10; i++) buf[a + 18 + i] = buf[a + 8 + i];
    buf.set(mac, a + 8);
    buf[a + 14] = ip >>> 24;
    buf[a + 15] = (ip >>> 16) & 0xff;
    buf[a + 16] = (ip >>> 8) & 0xff;
    buf[a + 17] = ip & 0xff;
    return ETH_HLEN + 28;
  }
  if (type === 0x0800) {
    for (let i = 0; i < 6; i++) if (buf[off + i] !== mac[i]) return 0;
    if (!echoReplyInPlace(buf, off + ETH_HLEN, len - ETH_HLEN)) return 0;
    swap(buf, off, off + 6, 6);
    return len;
  }
  return 0;
}

/** "10.77.0.1" → 0x0a4d0001 (test helper; no validation beyond shape). */
export function ipv4(text: string): number {
  const p = text.split(".").map(Number);
  if (p.length !== 4 || p.some((x) => !(x >= 0 && x <= 255))) throw new Error(`Not an IPv4 address: ${text}`);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}
