/**
 * A client host behind its own Linux NAT router (nftables masquerade) on the
 * e2e switch, as a home router: unsolicited datagrams from outside are
 * dropped. Used by the mesh e2e tests and `deno task bench:mesh`.
 *
 *   c<label> 10.<lan>.0.2 ── nat<label> (10.<lan>.0.1 | publicAddress, masquerade) ── sw
 */

import { E2eLab, type LoggedProcess } from "./lab.ts";
import { createE2ePki, type E2ePki } from "./pki.ts";

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

/**
 * Runs `body` in a fresh lab with a PKI for `names`; the processes `body` pushes onto `started` are
 * stopped, and on failure their mesh, error and warning lines printed, before the lab goes.
 */
export async function withMeshLab(
  names: string[],
  body: (e: E2eLab, pki: E2ePki, started: LoggedProcess[]) => Promise<void>,
): Promise<void> {
  const pki = await createE2ePki(names);
  const e = new E2eLab(pki.dir);
  const started: LoggedProcess[] = [];
  try {
    await e.init();
    await body(e, pki, started);
  } catch (err) {
    for (const p of started) {
      console.error(p.log().split("\n").filter((l) => /mesh|error|warn/i.test(l)).join("\n"));
    }
    throw err;
  } finally {
    for (const p of started) await p.stop();
    await e.close();
    await pki.cleanup();
  }
}
