/**
 * tsvpn clients in e2e tests, started exactly as a user would: a YAML config
 * made by src/pki/bundle.ts (the code behind `tsvpn pki bundle --format yaml`)
 * and `main.ts --client --config FILE` inside a lab host. The client logs
 * "tunnel up" once the pushed settings are applied.
 *
 *     const path = await tsvpnClientConfig(pki, "bob", "172.31.0.1:1194", { tlsCrypt: true });
 *     const bob = startTsvpnClient(lab, ns, "bob", path);
 *     await bob.waitFor(/tunnel up/, 20_000);
 */

import { bundle } from "../../../src/pki/bundle.ts";
import { type E2eLab, type LoggedProcess, MAIN } from "./lab.ts";
import type { E2ePki } from "./pki.ts";

export interface TsvpnClientOptions {
  /** Keep the CA's tls-crypt key in the config. @default false */
  tlsCrypt?: boolean;
  /** YAML lines appended at the top level (e.g. "reconnect: { initial_delay: 1, max_delay: 2 }"). */
  extra?: string[];
}

/** Writes `${pki.dir}/${name}.yaml` (a bundle, its host journal in `${pki.dir}/${name}-state`) and returns its path. */
export async function tsvpnClientConfig(
  pki: E2ePki,
  name: string,
  remote: string,
  options: TsvpnClientOptions = {},
): Promise<string> {
  const text = await bundle(pki.caDir, name, {
    remote,
    format: "yaml",
    tlsCryptKey: options.tlsCrypt ? pki.tlsCrypt : undefined,
  });
  // bundle() picks up the CA's tc.key by default; drop it when the test runs without tls-crypt.
  const body = options.tlsCrypt ? text : text.replace(/^ {2}tls_crypt_pem: \|\n(?: {4}.*\n)+/m, "");
  const path = `${pki.dir}/${name}.yaml`;
  const extra = [`state_dir: ${pki.dir}/${name}-state`, ...options.extra ?? []];
  await Deno.writeTextFile(path, body + extra.map((l) => l + "\n").join(""), { mode: 0o600 });
  return path;
}

/** Starts `main.ts --client --config FILE` in `ns`, logging to `${lab.dir}/${name}.log`. */
export function startTsvpnClient(lab: E2eLab, ns: string, name: string, config: string): LoggedProcess {
  return lab.spawnLogged(ns, name, [
    Deno.execPath(),
    "run",
    "-A",
    "--unstable-net",
    MAIN,
    "--client",
    "--config",
    config,
  ]);
}
