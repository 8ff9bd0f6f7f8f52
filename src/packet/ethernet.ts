/**
 * Ethernet II header reads on (buf, off). MACs come back as 48-bit numbers
 * (see `addr/mac.ts`); the hi16/lo32 readers avoid building a double.
 *
 *    +-------------------+-------------------+-----------+---------
 *    | destination (6)   | source (6)        | type (2)  | payload
 *    +-------------------+-------------------+-----------+---------
 */

export const ETH_HEADER_LEN = 14;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;
export const ETHERTYPE_IPV6 = 0x86dd;

const TWO_32 = 0x1_0000_0000;

/** High 16 bits of the MAC at `p`. */
export function macHi16At(buf: Uint8Array, p: number): number {
  return (buf[p] << 8) | buf[p + 1];
}

/** Low 32 bits of the MAC at `p`, unsigned. */
export function macLo32At(buf: Uint8Array, p: number): number {
  return ((buf[p + 2] << 24) | (buf[p + 3] << 16) | (buf[p + 4] << 8) | buf[p + 5]) >>> 0;
}

/** Destination MAC as a 48-bit number. */
export function ethDst(buf: Uint8Array, off: number): number {
  return macHi16At(buf, off) * TWO_32 + macLo32At(buf, off);
}

/** Source MAC as a 48-bit number. */
export function ethSrc(buf: Uint8Array, off: number): number {
  return macHi16At(buf, off + 6) * TWO_32 + macLo32At(buf, off + 6);
}

/** EtherType (or 802.1Q TPID) field. */
export function ethType(buf: Uint8Array, off: number): number {
  return (buf[off + 12] << 8) | buf[off + 13];
}

/** True if the destination is a group address (multicast or broadcast). */
export function ethDstIsMulticast(buf: Uint8Array, off: number): boolean {
  return (buf[off] & 1) === 1;
}

/** True if the destination is ff:ff:ff:ff:ff:ff. */
export function ethDstIsBroadcast(buf: Uint8Array, off: number): boolean {
  return (buf[off] & buf[off + 1] & buf[off + 2] & buf[off + 3] & buf[off + 4] & buf[off + 5]) === 0xff;
}

/** True if the source is a group address, which no station may send from (drop such frames). */
export function ethSrcIsMulticast(buf: Uint8Array, off: number): boolean {
  return (buf[off + 6] & 1) === 1;
}

/** True if `len` holds at least an Ethernet header. */
export function ethLengthOk(len: number): boolean {
  return len >= ETH_HEADER_LEN;
}
