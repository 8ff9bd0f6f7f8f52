/**
 * Test fixture: a throw-away CA in a temp dir with a server, a client, a
 * revoked client and a client from an unrelated CA. For tests and benches only.
 */

import { initCa, issueCertificate } from "../../pki/ca.ts";
import { revokeCertificate } from "../../pki/revoke.ts";
import type { TlsCredentials } from "../../control/tls_channel.ts";

export interface TestPki {
  dir: string;
  caPem: string;
  crlPem: string;
  server: TlsCredentials;
  client: TlsCredentials;
  revokedClient: TlsCredentials;
  /** Signed by another CA, presenting our CA as its trust anchor. */
  foreignClient: TlsCredentials;
  /** A client certificate offered as a server certificate (wrong EKU). */
  clientAsServer: TlsCredentials;
  paths: Record<
    | "ca"
    | "crl"
    | "server"
    | "serverKey"
    | "client"
    | "clientKey"
    | "revoked"
    | "revokedKey"
    | "foreign"
    | "foreignKey",
    string
  >;
  cleanup(): Promise<void>;
}

export async function createTestPki(): Promise<TestPki> {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn-control-pki-" });
  const ca = `${dir}/ca`;
  const other = `${dir}/other`;
  await initCa(ca, { commonName: "tsvpn test CA" });
  await initCa(other, { commonName: "unrelated CA" });
  const srv = await issueCertificate(ca, { name: "server", type: "server", sans: ["DNS:server"] });
  const cli = await issueCertificate(ca, { name: "client1", type: "client" });
  const rev = await issueCertificate(ca, { name: "revoked1", type: "client" });
  const foreign = await issueCertificate(other, { name: "intruder", type: "client" });
  await revokeCertificate(ca, "revoked1");
  const read = (p: string) => Deno.readTextFileSync(p);
  const caPem = read(`${ca}/ca.crt`);
  const creds = (c: { certPath: string; keyPath: string }): TlsCredentials => ({
    ca: caPem,
    cert: read(c.certPath),
    key: read(c.keyPath),
  });
  return {
    dir,
    caPem,
    crlPem: read(`${ca}/crl.pem`),
    server: creds(srv),
    client: creds(cli),
    revokedClient: creds(rev),
    foreignClient: creds(foreign),
    clientAsServer: creds(cli),
    paths: {
      ca: `${ca}/ca.crt`,
      crl: `${ca}/crl.pem`,
      server: srv.certPath,
      serverKey: srv.keyPath,
      client: cli.certPath,
      clientKey: cli.keyPath,
      revoked: rev.certPath,
      revokedKey: rev.keyPath,
      foreign: foreign.certPath,
      foreignKey: foreign.keyPath,
    },
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}

let shared: Promise<TestPki> | undefined;

/**
 * One TestPki per test process, made on first use, so every test asks for it
 * itself (no "fixture" test that others depend on: `--filter` picks any test)
 * and the key generation is paid once. Its directory is removed when the
 * process unloads (synchronously: `unload` does not wait for promises).
 */
export function sharedTestPki(): Promise<TestPki> {
  shared ??= createRemovedOnUnload();
  return shared;
}

async function createRemovedOnUnload(): Promise<TestPki> {
  const pki = await createTestPki();
  globalThis.addEventListener("unload", () => Deno.removeSync(pki.dir, { recursive: true }));
  return pki;
}
