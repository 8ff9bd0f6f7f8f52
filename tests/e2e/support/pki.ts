/**
 * A throw-away PKI for end-to-end tests: a CA with a server certificate,
 * client certificates, a tls-crypt key, and stock OpenVPN profiles made by
 * src/pki/bundle.ts (the same code as `tsvpn pki bundle --format ovpn`).
 */

import { initCa, issueCertificate } from "../../../src/pki/ca.ts";
import { bundle } from "../../../src/pki/bundle.ts";
import { revokeCertificate } from "../../../src/pki/revoke.ts";
import { createTlsCryptKey } from "../../../src/pki/tls_crypt_key.ts";

export interface E2ePki {
  /** Temp directory holding everything (the CA is in `${dir}/ca`). */
  dir: string;
  caDir: string;
  ca: string;
  cert: string;
  key: string;
  crl: string;
  tlsCrypt: string;
  /** Writes a .ovpn profile for `name` and returns its path. */
  profile(
    name: string,
    remote: string,
    options?: { proto?: "udp" | "tcp"; tlsCrypt?: boolean },
  ): Promise<string>;
  revoke(name: string): Promise<void>;
  issue(name: string): Promise<void>;
  cleanup(): Promise<void>;
}

export async function createE2ePki(clients: string[]): Promise<E2ePki> {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn-e2e-" });
  const caDir = `${dir}/ca`;
  await initCa(caDir, { commonName: "tsvpn e2e CA" });
  const server = await issueCertificate(caDir, { name: "server", type: "server" });
  // One at a time: issuing rewrites the CA's index file.
  for (const name of clients) await issueCertificate(caDir, { name, type: "client" });
  const tlsCrypt = await createTlsCryptKey(caDir);
  return {
    dir,
    caDir,
    ca: `${caDir}/ca.crt`,
    cert: server.certPath,
    key: server.keyPath,
    crl: `${caDir}/crl.pem`,
    tlsCrypt,
    async profile(name, remote, options = {}) {
      const text = await bundle(caDir, name, {
        remote,
        format: "ovpn",
        proto: options.proto ?? "udp",
        tlsCryptKey: options.tlsCrypt ? tlsCrypt : undefined,
      });
      // bundle() picks up the CA's tc.key by default; strip it when the test runs without tls-crypt.
      const body = options.tlsCrypt ? text : text.replace(/<tls-crypt>[\s\S]*<\/tls-crypt>\n/, "");
      const path = `${dir}/${name}-${options.proto ?? "udp"}${options.tlsCrypt ? "-tc" : ""}.ovpn`;
      await Deno.writeTextFile(path, body);
      return path;
    },
    async revoke(name) {
      await revokeCertificate(caDir, name);
    },
    async issue(name) {
      await issueCertificate(caDir, { name, type: "client" });
    },
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}
