/**
 * The DHCP server that configured the host, for redirect-gateway
 * bypass-dhcp. Linux keeps no single record of it, so the usual lease files
 * are read: ISC dhclient (`option dhcp-server-identifier A;`, the last lease
 * wins), systemd-networkd and NetworkManager's internal client
 * (`SERVER_ADDRESS=A`). Unknown → null, and bypass-dhcp adds nothing.
 */

import { parseIp } from "../addr/ip.ts";

export const LEASE_DIRS = [
  "/var/lib/dhcp",
  "/var/lib/dhclient",
  "/run/systemd/netif/leases",
  "/var/lib/NetworkManager",
];

/** The DHCP server named in one lease file's text, or null. */
export function dhcpServerFromLease(text: string): string | null {
  let found: string | null = null;
  for (const match of text.matchAll(/option\s+dhcp-server-identifier\s+([0-9.]+)\s*;/g)) found = match[1];
  const networkdServer = /^SERVER_ADDRESS=([0-9.]+)\s*$/m.exec(text);
  if (networkdServer) found = networkdServer[1];
  return found && parseIp(found)?.family === 4 ? found : null;
}

/** Looks through the lease directories; the most recently modified lease naming a server wins. */
export async function findDhcpServer(dirs: readonly string[] = LEASE_DIRS): Promise<string | null> {
  let best: { server: string; mtime: number } | null = null;
  for (const dir of dirs) {
    let entries: Deno.DirEntry[] = [];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch {
      continue;
    }
    for (const entry of entries.slice(0, 64)) {
      if (!entry.isFile) continue;
      const path = `${dir}/${entry.name}`;
      try {
        const info = await Deno.stat(path);
        if (info.size > 1 << 20) continue;
        const server = dhcpServerFromLease(await Deno.readTextFile(path));
        const mtime = info.mtime?.getTime() ?? 0;
        if (server && (!best || mtime > best.mtime)) best = { server, mtime };
      } catch {
        // Unreadable lease: skip it.
      }
    }
  }
  return best?.server ?? null;
}
