/**
 * Two hosts on the e2e switch (lab.ts) for tests of one server and one
 * client: "srv" at 172.31.0.1 and "cli" at 172.31.0.11, with alice's PKI.
 *
 *     await withPair(async (r) => {
 *       const server = await r.lab.startServer(r.srv, "server", yaml);
 *       const client = await tsvpnClientUp(r, ["reneg_sec: 4"]);
 *     });
 */

import { E2eLab, type LoggedProcess } from "./lab.ts";
import { createE2ePki, type E2ePki } from "./pki.ts";
import { startTsvpnClient, tsvpnClientConfig } from "./tsvpn_client.ts";

export interface PairRig {
  lab: E2eLab;
  pki: E2ePki;
  srv: string;
  cli: string;
}

/** Runs `fn` with the two hosts; removes the lab and the PKI afterwards, also on failure. */
export async function withPair(fn: (r: PairRig) => Promise<void>): Promise<void> {
  const pki = await createE2ePki(["alice"]);
  const lab = new E2eLab(pki.dir);
  try {
    await lab.init();
    const srv = await lab.host("srv", "172.31.0.1/24");
    const cli = await lab.host("cli", "172.31.0.11/24");
    await fn({ lab, pki, srv, cli });
  } finally {
    await lab.close();
    await pki.cleanup();
  }
}

/** `tsvpn --client` for alice in "cli" (a bundle config with tls-crypt plus `extra` YAML lines); resolves once the tunnel is up. */
export async function tsvpnClientUp(r: PairRig, extra: string[]): Promise<LoggedProcess> {
  const config = await tsvpnClientConfig(r.pki, "alice", "172.31.0.1:1194", { tlsCrypt: true, extra });
  const p = startTsvpnClient(r.lab, r.cli, "client", config);
  await p.waitFor(/tunnel up/, 20_000);
  return p;
}
