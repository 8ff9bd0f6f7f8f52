/**
 * The local endpoints a mesh client reports in its KEY message (docs/mesh.md
 * "Candidates"): each address of its host's interfaces with the UDP port it
 * shares with the server. Two clients on one LAN behind one NAT reach each
 * other over these even when the NAT gives no hairpin or maps symmetrically.
 * Left out: the tunnel device (its addresses are reached through the mesh
 * itself), loopback, IPv6 link-local (no scope survives the trip), and
 * whatever isUsableCandidate refuses.
 */

import { type Endpoint, isUsableCandidate, parseEndpoint } from "../mesh/endpoint.ts";
import { MAX_LOCAL_ENDPOINTS } from "../mesh/messages.ts";

/** The fields of Deno.NetworkInterfaceInfo this needs (tests pass plain objects). */
export interface HostInterface {
  name: string;
  family: "IPv4" | "IPv6";
  address: string;
}

export function localMeshEndpoints(
  interfaces: HostInterface[],
  port: number,
  tunnelDevice: string,
): Endpoint[] {
  if (!(port >= 1 && port <= 65535)) return [];
  const out: Endpoint[] = [];
  for (const i of interfaces) {
    if (i.name === tunnelDevice || i.name === "lo") continue;
    if (i.family === "IPv6" && /^fe[89ab]/i.test(i.address)) continue;
    const text = i.family === "IPv6" ? `[${i.address}]:${port}` : `${i.address}:${port}`;
    let endpoint: Endpoint;
    try {
      endpoint = parseEndpoint(text);
    } catch {
      continue; // an address form we do not carry (e.g. a zone suffix)
    }
    if (isUsableCandidate(endpoint)) out.push(endpoint);
    if (out.length === MAX_LOCAL_ENDPOINTS) break;
  }
  return out;
}
