/**
 * sockaddr_in / sockaddr_in6 ⇄ `EndpointSlots` rows, written and read in
 * place (no allocation): the address form the UDP batches hand to the kernel.
 *
 *   sockaddr_in  (16): family u16 (host order) | port u16 (network) | addr[4]  | zero[8]
 *   sockaddr_in6 (28): family u16 (host order) | port u16 (network) | flowinfo u32 | addr[16] | scope_id u32
 *
 * An AF_INET6 socket is dual-stack: FAMILY_INET rows are written as v4-mapped
 * addresses, and v4-mapped sources are read back as FAMILY_INET rows. IPv6
 * scope ids are not kept.
 */

import {
  ENDPOINT_ROW_BYTES,
  type EndpointSlots,
  FAMILY_INET,
  FAMILY_INET6,
} from "../src/device/datagram_socket.ts";
import { AF_INET, AF_INET6 } from "./libc.ts";

/** sockaddr_in is 16 bytes, sockaddr_in6 28; one 32-byte slot holds either. */
export const SOCKADDR_SLOT_BYTES = 32;
export const SOCKADDR_IN_BYTES = 16;
export const SOCKADDR_IN6_BYTES = 28;

/**
 * Writes the sockaddr for endpoint row `row` of `slots` at `dst[off..]`, in
 * the form a socket of the given family takes (FAMILY_INET rows become
 * v4-mapped for AF_INET6). Returns the sockaddr length, or 0 when the row is
 * unset or cannot be reached from that family.
 */
export function encodeSockaddr(
  dst: Uint8Array,
  off: number,
  slots: EndpointSlots,
  row: number,
  socketFamily: number,
): number {
  const src = slots.bytes;
  const r = row * ENDPOINT_ROW_BYTES;
  const fam = src[r];
  if (socketFamily === AF_INET) {
    if (fam !== FAMILY_INET) return 0;
    dst[off] = AF_INET;
    dst[off + 1] = 0;
    dst[off + 2] = src[r + 1];
    dst[off + 3] = src[r + 2];
    for (let i = 0; i < 4; i++) dst[off + 4 + i] = src[r + 3 + i];
    for (let i = 8; i < SOCKADDR_IN_BYTES; i++) dst[off + i] = 0;
    return SOCKADDR_IN_BYTES;
  }
  if (fam !== FAMILY_INET && fam !== FAMILY_INET6) return 0;
  dst[off] = AF_INET6;
  dst[off + 1] = 0;
  dst[off + 2] = src[r + 1];
  dst[off + 3] = src[r + 2];
  for (let i = 4; i < 8; i++) dst[off + i] = 0; // sin6_flowinfo
  if (fam === FAMILY_INET6) {
    for (let i = 0; i < 16; i++) dst[off + 8 + i] = src[r + 3 + i];
  } else {
    for (let i = 8; i < 18; i++) dst[off + i] = 0;
    dst[off + 18] = 0xff;
    dst[off + 19] = 0xff;
    for (let i = 0; i < 4; i++) dst[off + 20 + i] = src[r + 3 + i];
  }
  for (let i = 24; i < SOCKADDR_IN6_BYTES; i++) dst[off + i] = 0; // sin6_scope_id
  return SOCKADDR_IN6_BYTES;
}

/**
 * Reads the sockaddr at `src[off..]` into endpoint row `row` of `slots`;
 * v4-mapped IPv6 addresses become FAMILY_INET. Returns false (row cleared)
 * for any other address family.
 */
export function decodeSockaddr(src: Uint8Array, off: number, slots: EndpointSlots, row: number): boolean {
  const dst = slots.bytes;
  const r = row * ENDPOINT_ROW_BYTES;
  const fam = src[off] | (src[off + 1] << 8);
  dst[r + 1] = src[off + 2];
  dst[r + 2] = src[off + 3];
  let a = -1; // start of 4 IPv4 address bytes in src, or -1 for a true IPv6 address
  if (fam === AF_INET) {
    a = off + 4;
  } else if (fam === AF_INET6) {
    if (isV4Mapped(src, off + 8)) a = off + 20;
  } else {
    for (let i = 0; i < ENDPOINT_ROW_BYTES; i++) dst[r + i] = 0;
    return false;
  }
  if (a >= 0) {
    dst[r] = FAMILY_INET;
    for (let i = 0; i < 4; i++) dst[r + 3 + i] = src[a + i];
    for (let i = 7; i < ENDPOINT_ROW_BYTES; i++) dst[r + i] = 0;
  } else {
    dst[r] = FAMILY_INET6;
    for (let i = 0; i < 16; i++) dst[r + 3 + i] = src[off + 8 + i];
    dst[r + 19] = 0;
  }
  return true;
}

function isV4Mapped(b: Uint8Array, o: number): boolean {
  for (let i = 0; i < 10; i++) if (b[o + i] !== 0) return false;
  return b[o + 10] === 0xff && b[o + 11] === 0xff;
}
