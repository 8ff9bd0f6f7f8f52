/**
 * The mesh's tunables, as the server's configuration will carry them
 * (`server.mesh.*`, see docs/mesh.md "Wiring"), and how they reach clients:
 * the server's HELLO carries keepalive, punch timeout and retry, so every
 * pair on a server behaves alike whatever each client was built with.
 */

import type { MeshHello } from "./messages.ts";
import { DEFAULT_PATH_TIMINGS, type PathTimings } from "./path.ts";

export interface MeshSettings {
  /** `server.mesh.enabled` (requires client_to_client). @default false */
  enabled: boolean;
  /** Keepalive on a direct path, seconds. @default 25 */
  keepaliveS: number;
  /** `server.mesh.punch_timeout`: no direct path within this → relayed, seconds. @default 5 */
  punchTimeoutS: number;
  /** First retry after a failed punch, seconds (doubling, capped at 15 min). @default 30 */
  retryS: number;
  /** Most pairs the server keeps introduced at once. @default 4096 */
  maxPairs: number;
}

export const DEFAULT_MESH_SETTINGS: Readonly<MeshSettings> = {
  enabled: false,
  keepaliveS: 25,
  punchTimeoutS: 5,
  retryS: 30,
  maxPairs: 4096,
};

/** Throws a RangeError naming the first setting out of range. */
export function checkMeshSettings(s: MeshSettings): MeshSettings {
  const ranges: [keyof MeshSettings, number, number][] = [
    ["keepaliveS", 1, 3600],
    ["punchTimeoutS", 1, 300],
    ["retryS", 1, 86400],
    ["maxPairs", 1, 1 << 20],
  ];
  for (const [key, min, max] of ranges) {
    const v = s[key] as number;
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(`mesh ${key} must be ${min}..${max}, got ${v}`);
    }
  }
  return s;
}

export function helloFor(s: MeshSettings): MeshHello {
  return { kind: "hello", keepaliveS: s.keepaliveS, punchTimeoutS: s.punchTimeoutS, retryS: s.retryS };
}

/** Path timings from the server's HELLO; the probe interval and retry cap are the client's own. */
export function timingsFromHello(hello: MeshHello, base: Partial<PathTimings> = {}): PathTimings {
  const t = { ...DEFAULT_PATH_TIMINGS, ...base };
  return {
    ...t,
    keepaliveMs: hello.keepaliveS * 1000,
    punchTimeoutMs: hello.punchTimeoutS * 1000,
    retryMs: hello.retryS * 1000,
    retryMaxMs: Math.max(t.retryMaxMs, hello.retryS * 1000),
    probeIntervalMs: Math.min(t.probeIntervalMs, hello.punchTimeoutS * 1000),
  };
}
