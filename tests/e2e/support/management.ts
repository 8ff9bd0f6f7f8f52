/**
 * Talking to a server's management interface from e2e tests. The interface
 * listens on 127.0.0.1 inside the server's namespace, so the test process
 * cannot reach it; these helpers run inside the namespace:
 *
 * - `managementSession` types raw command lines over bash's /dev/tcp (the
 *   bytes a human with telnet would send), all in one session, so a
 *   `kill alice` followed by `status 2` sees the server right after the kill;
 * - `statusJson` runs `main.ts status --management ADDR --json`, the real CLI.
 */

import type { ServerSnapshot } from "../../../src/ops/server_control.ts";
import { type E2eLab, MAIN } from "./lab.ts";

/**
 * Sends each command line, then `quit`, in one session; returns everything the
 * server wrote after its greeting, one string per line (CRs removed).
 */
export async function managementSession(
  lab: E2eLab,
  ns: string,
  address: string,
  commands: string[],
): Promise<string[]> {
  const [host, port] = address.split(":");
  const script = 'exec 3<>"/dev/tcp/$1/$2" || exit 3; shift 2; ' +
    'for c in "$@" quit; do printf "%s\\r\\n" "$c" >&3; done; timeout 5 cat <&3';
  const r = await lab.exec(ns, ["bash", "-c", script, "mgmt", host, port, ...commands]);
  const lines = r.stdout.replaceAll("\r", "").split("\n");
  if (!lines[0].startsWith(">INFO:OpenVPN Management Interface")) {
    throw new Error(`No management greeting from ${address}: ${JSON.stringify(r.stdout.slice(0, 200))}`);
  }
  return lines.slice(1).filter((l) => l !== "");
}

/** `tsvpn status --management ADDR --json` inside `ns`, parsed. */
export async function statusJson(lab: E2eLab, ns: string, address: string): Promise<ServerSnapshot> {
  const r = await lab.exec(ns, [
    Deno.execPath(),
    "run",
    "-A",
    MAIN,
    "status",
    "--management",
    address,
    "--json",
  ]);
  return JSON.parse(r.stdout) as ServerSnapshot;
}

/** The CLIENT_LIST rows of a `status 2` reply, split on commas, keyed by common name. */
export function clientListRows(lines: string[]): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const l of lines) {
    const f = l.split(",");
    if (f[0] === "CLIENT_LIST") rows.set(f[1], f);
  }
  return rows;
}
