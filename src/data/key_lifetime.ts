/**
 * When a data key is worn out (OpenVPN's --reneg-bytes and packet-id wrap
 * trigger) and how long a replaced key lives (--tran-window); DataChannel
 * keeps the per-key counters these read.
 */

/** OpenVPN's PACKET_ID_WRAP_TRIGGER: renegotiate once a send counter gets here. */
export const PACKET_ID_REKEY_THRESHOLD = 0xff000000;
export const PACKET_ID_MAX = 0xffffffff;
/**
 * How long a replaced key keeps opening packets. OpenVPN's --tran-window
 * default is 3600 s, which in practice keeps the old key until the next hourly
 * renegotiation. The old key is only needed for packets in flight and for a
 * peer that completes the exchange after us, which it does within the
 * handshake window (--hand-window, 60 s) or the session ends; so 60 s.
 */
export const DEFAULT_TRANSITION_WINDOW_MS = 60_000;

/**
 * Bytes counted per data packet beyond the plaintext towards renegBytes, as
 * OpenVPN does for --reneg-bytes: it counts a received packet from its
 * packet-id on, i.e. the packet-id (4) and tag (16) too.
 */
export const RENEG_BYTES_PACKET_OVERHEAD = 20;

/** Per-key counters, indexes into the Float64Array from DataChannel.keyCounters(). */
export const KEY_PACKETS_OUT = 0;
export const KEY_BYTES_OUT = 1;
export const KEY_PACKETS_IN = 2;
export const KEY_BYTES_IN = 3;

/** Plaintext both ways plus OpenVPN's per-packet share (packet-id and tag). */
export function keyBytes(c: Float64Array): number {
  return c[KEY_BYTES_OUT] + c[KEY_BYTES_IN] +
    (c[KEY_PACKETS_OUT] + c[KEY_PACKETS_IN]) * RENEG_BYTES_PACKET_OVERHEAD;
}

/** Why the send key should be replaced (DataChannel.rekeyReason). */
export type RekeyReason = "packet-id" | "bytes";
