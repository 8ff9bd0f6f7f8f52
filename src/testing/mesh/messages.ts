/** Sample mesh messages for the mesh's tests (src/mesh/). */

import { parseNumericIp } from "../../addr/ip.ts";
import { parsePrefix } from "../../addr/prefix.ts";
import { parseEndpoint } from "../../mesh/endpoint.ts";
import type { MeshIntro } from "../../mesh/messages.ts";

export const KEY = new Uint8Array(32).map((_, i) => i * 7 + 1);
export const KEY_B64 = btoa(String.fromCharCode(...KEY));

export function sampleIntro(): MeshIntro {
  return {
    kind: "intro",
    pairId: 17,
    peerName: "bob.example",
    cipher: "AES-256-GCM",
    epoch: 1,
    peerEpoch: 4,
    peerPublicKey: KEY,
    publicEndpoint: parseEndpoint("198.51.100.7:40001"),
    localEndpoints: [parseEndpoint("192.168.1.20:1194"), parseEndpoint("[fd00::20]:1194")],
    addresses: [parseNumericIp("10.8.0.7"), parseNumericIp("fd00:8::7")],
    iroutes: [parsePrefix("192.168.50.0/24"), parsePrefix("fd00:50::/64")],
  };
}
