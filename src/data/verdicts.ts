/**
 * Results of DataChannel.open() and DataChannel.seal(). Numbers, not
 * exceptions: they index the channel's counter arrays and cost nothing to
 * return on the hot path.
 */

/** Authentic, fresh packet: plaintext at result.plainOff/plainLen. */
export const OPEN_OK = 0;
/** Shorter than opcode + header + tag + 1 payload byte (OpenVPN drops empty payloads). */
export const OPEN_TOO_SHORT = 1;
/** Not P_DATA_V2/P_DATA_V1 (control packets belong to the control channel). */
export const OPEN_NOT_DATA = 2;
/** No key installed (or it expired) for the header's key-id. */
export const OPEN_UNKNOWN_KEY_ID = 3;
/** Packet-id 0: never sent by a correct peer. */
export const OPEN_BAD_PACKET_ID = 4;
/** Packet-id already accepted within the replay window. */
export const OPEN_REPLAY = 5;
/** Packet-id behind the replay window. */
export const OPEN_TOO_OLD = 6;
/** Authentication failed: forged, corrupted, or sealed under another key. */
export const OPEN_BAD_TAG = 7;
/** Authentic, but its compression framing says compressed (or is not the agreed framing): tsvpn never decompresses. */
export const OPEN_COMPRESSED = 8;
export const OPEN_VERDICT_COUNT = 9;

export const OPEN_VERDICT_NAMES: readonly string[] = [
  "ok",
  "too_short",
  "not_data",
  "unknown_key_id",
  "bad_packet_id",
  "replay",
  "too_old",
  "bad_tag",
  "compressed",
];

/** seal() failures are negative; a non-negative result is the datagram length. */
export const SEAL_NO_KEY = -1;
/** The send key used packet-id 2^32-1; nothing more may be sent under it. */
export const SEAL_PACKET_ID_EXHAUSTED = -2;
/** Empty payload, or the payload range does not fit the slot with its headroom. */
export const SEAL_BAD_ARGS = -3;
/** Counter slots in DataChannel.sealCounts: index 0 = sealed, index -code for failures. */
export const SEAL_COUNT_SLOTS = 4;
