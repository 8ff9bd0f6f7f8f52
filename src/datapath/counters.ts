/**
 * Datapath counters: drops by reason and events (pings, floats, forwards), in
 * Float64Arrays indexed by the constants below so the hot path only does
 * `drops[DATAPATH_DROP_X]++`. Names are the keys of ServerSnapshot.drops.
 * The DATAPATH_ prefix keeps these apart from the control channel's DROP_*
 * reasons (control/drop_counters.ts), which number a different list.
 */

import {
  OPEN_BAD_PACKET_ID,
  OPEN_BAD_TAG,
  OPEN_COMPRESSED,
  OPEN_NOT_DATA,
  OPEN_REPLAY,
  OPEN_TOO_OLD,
  OPEN_TOO_SHORT,
  OPEN_UNKNOWN_KEY_ID,
  OPEN_VERDICT_COUNT,
} from "../data/verdicts.ts";

/** Authentication failed (forged, corrupted, or sealed under another key). */
export const DATAPATH_DROP_BAD_TAG = 0;
/** Packet-id already seen within the replay window. */
export const DATAPATH_DROP_REPLAY = 1;
/** Packet-id behind the replay window. */
export const DATAPATH_DROP_TOO_OLD = 2;
/** No key installed for the header's key-id. */
export const DATAPATH_DROP_UNKNOWN_KEY = 3;
/** Packet-id 0. */
export const DATAPATH_DROP_BAD_PACKET_ID = 4;
/** Datagram too short for a data packet. */
export const DATAPATH_DROP_TOO_SHORT = 5;
/** P_DATA_V2 naming no live peer, or P_DATA_V1 where a peer-id is required. */
export const DATAPATH_DROP_UNKNOWN_PEER = 6;
/** Inner source address outside what the sending peer may use. */
export const DATAPATH_DROP_SPOOFED = 7;
/** Destination owned by nobody (from the device), or unroutable. */
export const DATAPATH_DROP_NO_ROUTE = 8;
/** Inner packet or frame fails its header checks. */
export const DATAPATH_DROP_MALFORMED = 9;
/** Multicast destination in tun mode (layer 3 has no group delivery). */
export const DATAPATH_DROP_MULTICAST_IN_TUN = 10;
/** The destination peer has no send key yet. */
export const DATAPATH_DROP_NO_KEY = 11;
/** Sealing failed otherwise (packet-id exhausted, payload too large for a slot). */
export const DATAPATH_DROP_SEAL_FAILED = 12;
/** The tun/tap device queue was full. */
export const DATAPATH_DROP_DEVICE_FULL = 13;
/** The socket's send buffer was full. */
export const DATAPATH_DROP_SOCKET_FULL = 14;
/** Switch: the frame's destination is the port it came from. */
export const DATAPATH_DROP_SAME_PORT = 15;
/** Datagram larger than a slot (truncated by the receive). */
export const DATAPATH_DROP_OVERSIZE = 16;
/** Switch: the frame's source MAC would exceed the client's max_macs_per_client. */
export const DATAPATH_DROP_MAC_LIMIT = 17;
/** Switch: the frame's source MAC belongs to another port seen within the MAC age. */
export const DATAPATH_DROP_MAC_TAKEOVER = 18;
/** Authentic, but compressed (its compression framing says so): tsvpn never decompresses. */
export const DATAPATH_DROP_COMPRESSED = 19;
export const DATAPATH_DROP_COUNT = 20;

export const DATAPATH_DROP_NAMES: readonly string[] = [
  "bad_tag",
  "replay",
  "too_old",
  "unknown_key_id",
  "bad_packet_id",
  "too_short",
  "unknown_peer",
  "spoofed",
  "no_route",
  "malformed",
  "multicast_in_tun",
  "no_key",
  "seal_failed",
  "device_full",
  "socket_full",
  "same_port",
  "oversize",
  "mac_limit",
  "mac_takeover",
  "compressed",
];

export const STAT_PINGS_IN = 0;
export const STAT_PINGS_OUT = 1;
export const STAT_OCC_EXIT = 2;
export const STAT_FLOATS = 3;
/** Packets re-sealed from one peer to another inside the process (client-to-client). */
export const STAT_C2C = 4;
export const STAT_MSS_CLAMPED = 5;
export const STAT_FLOODED = 6;
export const STAT_CONTROL = 7;
export const STAT_TO_DEVICE = 8;
export const STAT_FROM_DEVICE = 9;
export const STAT_COUNT = 10;

export const STAT_NAMES: readonly string[] = [
  "pings_in",
  "pings_out",
  "occ_exit",
  "floats",
  "client_to_client",
  "mss_clamped",
  "flooded",
  "control_packets",
  "to_device",
  "from_device",
];

/** DataChannel.open() verdict → drop reason (OPEN_OK maps to -1). */
export const OPEN_TO_DROP: Int8Array = (() => {
  const t = new Int8Array(OPEN_VERDICT_COUNT).fill(DATAPATH_DROP_MALFORMED);
  t[0] = -1;
  t[OPEN_TOO_SHORT] = DATAPATH_DROP_TOO_SHORT;
  t[OPEN_NOT_DATA] = DATAPATH_DROP_MALFORMED;
  t[OPEN_UNKNOWN_KEY_ID] = DATAPATH_DROP_UNKNOWN_KEY;
  t[OPEN_BAD_PACKET_ID] = DATAPATH_DROP_BAD_PACKET_ID;
  t[OPEN_REPLAY] = DATAPATH_DROP_REPLAY;
  t[OPEN_TOO_OLD] = DATAPATH_DROP_TOO_OLD;
  t[OPEN_BAD_TAG] = DATAPATH_DROP_BAD_TAG;
  t[OPEN_COMPRESSED] = DATAPATH_DROP_COMPRESSED;
  return t;
})();

export class DatapathCounters {
  readonly drops = new Float64Array(DATAPATH_DROP_COUNT);
  readonly stats = new Float64Array(STAT_COUNT);

  /** Drops by name, every reason present (zeros included). */
  dropRecord(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < DATAPATH_DROP_COUNT; i++) out[DATAPATH_DROP_NAMES[i]] = this.drops[i];
    return out;
  }

  statRecord(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < STAT_COUNT; i++) out[STAT_NAMES[i]] = this.stats[i];
    return out;
  }

  drop(name: string): number {
    const i = DATAPATH_DROP_NAMES.indexOf(name);
    if (i < 0) throw new RangeError(`Unknown drop reason ${name}`);
    return this.drops[i];
  }

  stat(name: string): number {
    const i = STAT_NAMES.indexOf(name);
    if (i < 0) throw new RangeError(`Unknown datapath statistic ${name}`);
    return this.stats[i];
  }
}
