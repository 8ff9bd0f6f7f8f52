/** The server's address pool from its configuration (none with bridge: true). */

import type { ServerConfig } from "../config/schema.ts";
import { AddressPool, type StaticAddress } from "../pool/address_pool.ts";
import { planLayout } from "../pool/topology.ts";

export function poolFromConfig(config: ServerConfig, clock?: () => number): AddressPool | null {
  const s = config.server;
  if (s.bridge || (s.network === null && s.network6 === null)) return null;
  const layout = planLayout({
    network4: s.network?.text,
    network6: s.network6?.text,
    topology: s.topology,
    device: config.dev.type,
  });
  const statics: Record<string, StaticAddress> = {};
  for (const [name, c] of s.clients) {
    if (!c.address && !c.address6) continue;
    statics[name] = {};
    if (c.address) statics[name].ipv4 = c.address.text;
    if (c.address6) statics[name].ipv6 = c.address6.text;
  }
  return new AddressPool(layout, { statics, duplicateNames: s.duplicateCn, clock });
}
