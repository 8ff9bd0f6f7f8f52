/**
 * `server.mesh` (direct client-to-client paths, docs/mesh.md) and its rules
 * across sections: enabled only with `client_to_client: true` and a tun device
 * (the mesh routes by IP address).
 */

import { DEFAULT_MESH_SETTINGS, type MeshSettings } from "../mesh/settings.ts";
import { MESH_KEYS } from "./keys.ts";
import type { DevConfig } from "./schema.ts";
import type { MapView } from "./yaml_reader.ts";

/** Reads `server.mesh` from the `server:` map; absent means the defaults (disabled). */
export function readMesh(server: MapView, dev: DevConfig, clientToClient: boolean): MeshSettings {
  const f = server.opt("mesh");
  if (!f) return { ...DEFAULT_MESH_SETTINGS };
  const m = f.map(MESH_KEYS);
  const enabledField = m.opt("enabled");
  const enabled = enabledField ? enabledField.bool() : DEFAULT_MESH_SETTINGS.enabled;
  if (enabled && !clientToClient) {
    enabledField!.fail(
      "expected false without server.client_to_client: true (the mesh shortcuts relayed traffic)",
    );
  }
  if (enabled && dev.type !== "tun") {
    enabledField!.fail(`expected false with dev.type ${dev.type} (the mesh routes by IP address, needs tun)`);
  }
  const int = (key: string, min: number, max: number, fallback: number): number => {
    const v = m.opt(key);
    return v ? v.int(min, max, `a whole number from ${min} to ${max}`) : fallback;
  };
  const d = DEFAULT_MESH_SETTINGS;
  return {
    enabled,
    punchTimeoutS: int("punch_timeout", 1, 300, d.punchTimeoutS),
    keepaliveS: int("keepalive", 1, 3600, d.keepaliveS),
    retryS: int("retry", 1, 86400, d.retryS),
    maxPairs: int("max_pairs", 1, 1 << 20, d.maxPairs),
  };
}
