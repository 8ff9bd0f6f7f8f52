/**
 * A client host behind its own Linux NAT router (nftables masquerade) on the
 * e2e switch, as a home router: unsolicited datagrams from outside are
 * dropped. Used by the mesh e2e tests and `deno task bench:mesh`.
 *
 *   c<label> 10.<lan>.0.2 ── nat<label> (10.<lan>.0.1 | publicAddress, masquerade) ── sw
 */

import type { E2eLab } from "./lab.ts";

/** A client host `label` behind a NAT router on the switch at `publicAddress`; `symmetric`: a new port per flow. */
export async function behindNat(
  e: E2eLab,
  label: string,
  publicAddress: string,
  lan: number,
  symmetric: boolean,
): Promise<{ host: string; nat: string }> {
  const nat = await e.host(`nat${label}`, `${publicAddress}/24`);
  const host = await e.lab.addNamespace(`c${label}`);
  await e.lab.veth({ ns: nat, name: "lan0", address: `10.${lan}.0.1/24` }, {
    ns: host,
    name: "eth0",
    address: `10.${lan}.0.2/24`,
  });
  await e.exec(host, ["ip", "route", "add", "default", "via", `10.${lan}.0.1`]);
  await e.exec(nat, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]);
  const masquerade = symmetric ? "masquerade random" : "masquerade";
  const rules = [
    "table ip nat {",
    `  chain post { type nat hook postrouting priority srcnat; oifname "eth0" ${masquerade}; }`,
    "}",
    // Unsolicited datagrams from outside are dropped before their conntrack entry is confirmed, as a
    // home router's firewall does; else an early probe would hold the port and the reply mapping would move.
    "table ip filter {",
    '  chain pre { type filter hook prerouting priority filter; iifname "eth0" ct state new drop; }',
    "}",
  ].join("\n");
  await e.lab.exec(nat, ["nft", "-f", "-"], { stdin: rules });
  return { host, nat };
}
