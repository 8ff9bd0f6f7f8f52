/**
 * A stock `openvpn` 2.6 server in the client lab's "srv" host
 * (tests/e2e/support/client_lab.ts), with the lab PKI and tls-crypt; `extra`
 * carries the mode, addresses and pushes of each test.
 */

import { OPENVPN } from "../../interop/openvpn_harness.ts";
import type { ClientNet } from "./client_lab.ts";
import type { LoggedProcess } from "./lab.ts";
import type { E2ePki } from "./pki.ts";

export function startOpenvpn(
  n: ClientNet,
  pki: E2ePki,
  name: string,
  extra: string[],
): LoggedProcess {
  return n.e.spawnLogged(n.srv, name, [
    OPENVPN!,
    "--dev",
    "tun",
    "--ca",
    pki.ca,
    "--cert",
    pki.cert,
    "--key",
    pki.key,
    "--dh",
    "none",
    "--tls-crypt",
    pki.tlsCrypt,
    "--verb",
    "3",
    ...extra,
  ]);
}

export async function openvpnUp(
  n: ClientNet,
  pki: E2ePki,
  name: string,
  extra: string[],
): Promise<LoggedProcess> {
  const p = startOpenvpn(n, pki, name, extra);
  await p.waitFor(/Initialization Sequence Completed/, 15_000);
  return p;
}
