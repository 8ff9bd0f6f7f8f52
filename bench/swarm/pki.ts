/**
 * The swarm's throw-away PKI: a CA and server certificate made by src/pki
 * (`initCa`, `issueCertificate`), and one client certificate per emulated
 * client signed in memory (`signCertificate`: the same extensions as
 * `tsvpn client add`, without a CA index entry per client). Generating
 * 10,000 ECDSA keys takes a while, so the clients are cached as one JSON
 * file in the PKI directory and only the missing ones are made on the next
 * run; `--fresh-pki` (or deleting the directory) starts over.
 */

import { initCa, issueCertificate, loadCa, signCertificate } from "../../src/pki/ca.ts";
import type { TlsCredentials } from "../../src/control/tls_channel.ts";
import { pathExists } from "../../src/fs/path_exists.ts";

export interface SwarmPki {
  dir: string;
  caPath: string;
  serverCert: string;
  serverKey: string;
  caPem: string;
  /** Client i's certificate is named `swarm-<i>`. */
  clients: ClientCredentials[];
}

export interface ClientCredentials {
  name: string;
  cert: string;
  key: string;
}

const CLIENTS_FILE = "swarm-clients.json";
/** Keys made concurrently: WebCrypto work runs off the main thread. */
const BATCH = 64;

/** Opens (or creates) the PKI in `dir` with at least `count` client certificates. */
export async function openSwarmPki(
  dir: string,
  count: number,
  log: (line: string) => void = () => {},
): Promise<SwarmPki> {
  const caDir = `${dir}/ca`;
  if (!(await pathExists(`${caDir}/ca.crt`))) {
    await initCa(caDir, { commonName: "tsvpn swarm CA" });
    await issueCertificate(caDir, { name: "server", type: "server" });
  }
  const clients = await readClients(`${dir}/${CLIENTS_FILE}`);
  if (clients.length < count) {
    const started = performance.now();
    const ca = await loadCa(caDir);
    while (clients.length < count) {
      const batch = Math.min(BATCH, count - clients.length);
      const made = await Promise.all(Array.from({ length: batch }, (_, i) => {
        const name = `swarm-${clients.length + i}`;
        return signCertificate(ca, { name, type: "client" }).then((c) => ({
          name,
          cert: c.cert.toString("pem") + "\n",
          key: c.keyPem,
        }));
      }));
      clients.push(...made);
    }
    await Deno.writeTextFile(`${dir}/${CLIENTS_FILE}`, JSON.stringify(clients));
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    log(`pki: ${count} client certificates ready in ${dir} (made the missing ones in ${secs} s)`);
  }
  return {
    dir,
    caPath: `${caDir}/ca.crt`,
    serverCert: `${caDir}/server.crt`,
    serverKey: `${caDir}/server.key`,
    caPem: await Deno.readTextFile(`${caDir}/ca.crt`),
    clients: clients.slice(0, count),
  };
}

async function readClients(path: string): Promise<ClientCredentials[]> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as ClientCredentials[];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw new Error(`${path}: ${(e as Error).message} (delete it, or run with --fresh-pki)`);
  }
}

/** TLS credentials of client i. */
export function clientCredentials(pki: SwarmPki, i: number): TlsCredentials {
  const c = pki.clients[i];
  return { ca: pki.caPem, cert: c.cert, key: c.key };
}
