/**
 * OpenVPN Configuration Control (OCC) messages, carried as data-channel
 * payloads (src/openvpn/occ.c, occ.h):
 *
 *   [occ_magic: 16 bytes][opcode: 1 byte][opcode-specific body]
 *
 * The one tsvpn needs is OCC_EXIT (explicit-exit-notify): magic + 0x06 and
 * nothing else. On receipt OpenVPN restarts that session (SIGUSR1,
 * "remote-exit"). A payload is OCC if it starts with the magic (occ.h
 * is_occ_msg compares the head only); the datapath consumes it and never
 * writes it to the tun/tap device. Peers that negotiate CC_EXIT_NOTIFY send
 * the exit on the control channel instead ("EXIT" message); that is the
 * control channel's business.
 */

// deno-fmt-ignore
export const OCC_MAGIC: Readonly<Uint8Array> = Uint8Array.of(
  0x28, 0x7f, 0x34, 0x6b, 0xd4, 0xef, 0x7a, 0x81,
  0x2d, 0x56, 0xb8, 0xd3, 0xaf, 0xc5, 0x45, 0x9c,
);

export const OCC_MAGIC_LEN = 16;

export const OCC_REQUEST = 0;
export const OCC_REPLY = 1;
export const OCC_MTU_LOAD_REQUEST = 2;
export const OCC_MTU_LOAD = 3;
export const OCC_MTU_REQUEST = 4;
export const OCC_MTU_REPLY = 5;
export const OCC_EXIT = 6;

/** Magic plus the opcode byte. */
export const OCC_EXIT_PAYLOAD_LEN = 17;

/** True when buf[off, off + len) starts with the OCC magic. */
export function isOcc(buf: Uint8Array, off: number, len: number): boolean {
  if (len < OCC_MAGIC_LEN || off < 0 || off + len > buf.length) return false;
  for (let i = 0; i < OCC_MAGIC_LEN; i++) if (buf[off + i] !== OCC_MAGIC[i]) return false;
  return true;
}

/** The OCC opcode of the payload, or -1 when it is not an OCC message with an opcode. */
export function occOpcode(buf: Uint8Array, off: number, len: number): number {
  return len > OCC_MAGIC_LEN && isOcc(buf, off, len) ? buf[off + OCC_MAGIC_LEN] : -1;
}

/** True when the payload is an OCC_EXIT (explicit exit notification). */
export function isOccExit(buf: Uint8Array, off: number, len: number): boolean {
  return occOpcode(buf, off, len) === OCC_EXIT;
}

/** Writes an OCC_EXIT payload at buf[off] and returns its length (17). */
export function writeOccExit(buf: Uint8Array, off: number): number {
  buf.set(OCC_MAGIC, off);
  buf[off + OCC_MAGIC_LEN] = OCC_EXIT;
  return OCC_EXIT_PAYLOAD_LEN;
}
