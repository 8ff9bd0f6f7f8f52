/** `tsvpn status` for a client: its ClientSnapshot as a few aligned lines. */

import type { ClientSnapshot } from "./client_control.ts";

export function isClientSnapshot(v: unknown): v is ClientSnapshot {
  if (typeof v !== "object" || v === null) return false;
  const s = v as Record<string, unknown>;
  return s.mode === "client" && typeof s.version === "string" && typeof s.state === "string" &&
    typeof s.connects === "number" && typeof s.drops === "object" && s.drops !== null &&
    Array.isArray(s.meshPeers);
}

export function formatClientStatusText(s: ClientSnapshot): string[] {
  const drops = Object.entries(s.drops).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`);
  const lines = [
    `tsvpn client ${s.version}, pid ${s.pid}`,
    `state       ${s.state} (${s.connects} connection${s.connects === 1 ? "" : "s"} so far)`,
    `remote      ${s.remote ?? "-"}`,
    `address     ${[s.address, s.address6].filter((a) => a !== null).join(", ") || "-"}`,
    `tunnel      ${s.tunWriteBytes} bytes in, ${s.tunReadBytes} bytes out`,
    `datagrams   ${s.linkReadBytes} bytes received, ${s.linkWriteBytes} bytes sent`,
    `drops       ${drops.join(", ") || "none"}`,
    `last error  ${s.lastError ?? "-"}`,
  ];
  for (const p of s.meshPeers) {
    lines.push(`mesh peer   ${p.peer}: ${p.path}${p.endpoint ? ` via ${p.endpoint}` : ""}`);
  }
  return lines;
}
