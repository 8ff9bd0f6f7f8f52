/**
 * OpenVPN's keepalive ping: a data-channel packet whose whole payload is these
 * 16 bytes (src/openvpn/ping.c ping_string, PING_STRING_SIZE). It is sealed
 * like any tunnel packet; the receiver treats it as liveness (resets
 * --ping-restart) and does not write it to the tun/tap device.
 *
 * A payload is a ping only if it is exactly these 16 bytes (ping.h is_ping_msg
 * compares the whole buffer). If compression framing is negotiated, the
 * datapath strips that byte before asking.
 */

// deno-fmt-ignore
export const PING_PAYLOAD: Readonly<Uint8Array> = Uint8Array.of(
  0x2a, 0x18, 0x7b, 0xf3, 0x64, 0x1e, 0xb4, 0xcb,
  0x07, 0xed, 0x2d, 0x0a, 0x98, 0x1f, 0xc7, 0x48,
);

export const PING_PAYLOAD_LEN = 16;

/** True when buf[off, off + len) is the keepalive ping payload. */
export function isPing(buf: Uint8Array, off: number, len: number): boolean {
  if (len !== PING_PAYLOAD_LEN || off < 0 || off + len > buf.length) return false;
  for (let i = 0; i < PING_PAYLOAD_LEN; i++) if (buf[off + i] !== PING_PAYLOAD[i]) return false;
  return true;
}

/** Writes the ping payload at buf[off] and returns its length (16). */
export function writePing(buf: Uint8Array, off: number): number {
  buf.set(PING_PAYLOAD, off);
  return PING_PAYLOAD_LEN;
}
