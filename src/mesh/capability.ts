/**
 * The mesh capability in peer-info. A tsvpn client announces
 * `IV_TSVPN=<version>` in its key-method 2 peer-info (peer_info.ts
 * `buildClientPeerInfo` adds it); version 1 and later speak the mesh messages
 * of messages.ts. Stock OpenVPN clients send no IV_TSVPN and are never
 * offered the mesh: they stay relayed and see nothing of it.
 */

import { TSVPN_EXTENSION_VERSION } from "../control/peer_info.ts";
import { MESH_PROTOCOL_VERSION } from "./messages.ts";

export const MESH_PEER_INFO_KEY = "IV_TSVPN";

/** The peer-info line a mesh-capable client announces. */
export function meshPeerInfoEntry(): [string, string] {
  return [MESH_PEER_INFO_KEY, TSVPN_EXTENSION_VERSION];
}

/**
 * The tsvpn extension version a client announced: a decimal 1..9999, or 0
 * when absent or malformed (treated as a stock client).
 */
export function announcedTsvpnVersion(peerInfo: ReadonlyMap<string, string>): number {
  const v = peerInfo.get(MESH_PEER_INFO_KEY);
  if (v === undefined || !/^[1-9][0-9]{0,3}$/.test(v)) return 0;
  return Number(v);
}

/** True when the client announced a tsvpn version that speaks this mesh protocol. */
export function announcesMesh(peerInfo: ReadonlyMap<string, string>): boolean {
  return announcedTsvpnVersion(peerInfo) >= MESH_PROTOCOL_VERSION;
}

/** The ciphers a client listed in IV_CIPHERS (upper-cased, as OpenVPN compares them). */
export function announcedCiphers(peerInfo: ReadonlyMap<string, string>): string[] {
  const v = peerInfo.get("IV_CIPHERS") ?? "";
  return v === "" ? [] : v.split(":").map((c) => c.trim().toUpperCase()).filter((c) => c !== "");
}
