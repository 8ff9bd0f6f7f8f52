/**
 * Zero-config start: `tsvpn --server` with no --config. The first start makes
 * a complete server in the state directory; every later start reuses it and
 * creates nothing.
 *
 *   STATE/              0700 (re-applied on every start)
 *   STATE/server.yaml   the config (edit freely; paths inside are relative to it)
 *   STATE/pki/          the CA (src/pki): ca.crt ca.key crl.pem index.json,
 *                       server.crt server.key (SANs: the host's addresses), tc.key
 *   STATE/ipp.txt       pool persistence, STATE/status.log the status file (both written by the server)
 *   STATE/management.sock  the management interface (0600, only while the server runs;
 *                       `tsvpn status` finds it here)
 *
 * A start interrupted half-way resumes: each piece is made only if missing,
 * and server.yaml, written last and atomically, marks the state as complete.
 */
import { resolve } from "node:path";
import { loadConfig } from "../config/load.ts";
import { ensurePrivateDir, writeFileExclusive } from "../fs/safe_file.ts";
import { pathExists } from "../fs/path_exists.ts";
import type { Logger } from "../log/log.ts";
import { activeRecord, readIndex } from "../pki/ca_index.ts";
import { createTlsCryptKey, TLS_CRYPT_FILE } from "../pki/tls_crypt_key.ts";

export const SERVER_CONFIG_FILE = "server.yaml";
export const PKI_SUBDIR = "pki";
export const SERVER_CERT_NAME = "server";
export const MANAGEMENT_SOCKET = "management.sock";

export interface ZeroConfigOptions {
  log: Logger;
  /** Server certificate SANs; default: the host's addresses (hostAddresses()). */
  sans?: string[];
  now?: Date;
}

export interface ZeroConfigResult {
  /** Absolute path of server.yaml. */
  configPath: string;
  /** True when this call created it (first start). */
  created: boolean;
}

type InterfaceInfo = Pick<Deno.NetworkInterfaceInfo, "family" | "name" | "address">;

function isSkipped(info: InterfaceInfo): boolean {
  // Our own VPN devices' addresses are not reachable from where clients are.
  if (info.name.startsWith("tsvpn")) return true;
  const a = info.address.toLowerCase();
  if (info.family === "IPv4") return a.startsWith("127.") || a.startsWith("169.254.");
  return a === "::1" || /^fe[89ab]/.test(a) || a.startsWith("::ffff:");
}

/**
 * The host's addresses clients could reach: IPv4 first, then IPv6, without
 * loopback, link-local or tsvpn devices, each once.
 */
export function hostAddresses(interfaces: InterfaceInfo[] = Deno.networkInterfaces()): string[] {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const info of interfaces) {
    if (isSkipped(info)) continue;
    const list = info.family === "IPv4" ? v4 : v6;
    const address = info.address.replace(/%.*$/, "");
    if (!list.includes(address)) list.push(address);
  }
  return [...v4, ...v6];
}

/** The server.yaml a first start writes. */
export function zeroConfigYaml(now: Date, stateDir: string): string {
  return `# tsvpn server, created by the zero-config start on ${now.toISOString()}.
# Later starts reuse this file: edit it freely. Relative paths are relative to this file.
# Add a client:  tsvpn client add NAME --state-dir ${stateDir} > NAME.ovpn
mode: server
listen:
  host: 0.0.0.0
  port: 1194
  proto: udp
dev:
  type: tun
  name: tsvpn0
pki:
  ca: ${PKI_SUBDIR}/ca.crt
  cert: ${PKI_SUBDIR}/${SERVER_CERT_NAME}.crt
  key: ${PKI_SUBDIR}/${SERVER_CERT_NAME}.key
  crl: ${PKI_SUBDIR}/crl.pem
  tls_crypt: ${PKI_SUBDIR}/${TLS_CRYPT_FILE}
keepalive:
  interval: 10
  timeout: 60
# A unix socket only root can open; \`tsvpn status\` finds it in the state directory.
management:
  listen: ./${MANAGEMENT_SOCKET}
server:
  network: 10.8.0.0/24
  topology: subnet
  client_to_client: false
  pool_persist: ipp.txt
  status_file: status.log
`;
}

/**
 * Makes sure STATE holds a complete zero-config server and returns its
 * config. Creates only what is missing; with server.yaml present, nothing.
 */
export async function prepareZeroConfig(
  stateDir: string,
  options: ZeroConfigOptions,
): Promise<ZeroConfigResult> {
  const log = options.log;
  const dir = resolve(stateDir);
  const configPath = `${dir}/${SERVER_CONFIG_FILE}`;
  // Every start, not only the first: a state directory opened up by hand is closed again.
  await ensurePrivateDir(dir);
  if (await pathExists(configPath)) {
    log.info("zero-config: using the existing server state", { config: configPath });
    return { configPath, created: false };
  }
  const now = options.now ?? new Date();
  const pki = `${dir}/${PKI_SUBDIR}`;
  const made: string[] = [];

  // The CA code (and @peculiar/x509 with it) loads only on a first start:
  // later starts of a running server never pay its memory.
  const { initCa, issueCertificate } = await import("../pki/ca.ts");
  if (!await pathExists(`${pki}/ca.crt`)) {
    await initCa(pki, { commonName: "tsvpn CA", now });
    made.push("CA");
  }
  if (activeRecord(await readIndex(pki), SERVER_CERT_NAME) === undefined) {
    const sans = options.sans ?? hostAddresses();
    if (sans.length === 0) {
      log.warn(
        "zero-config: no address to put in the server certificate; clients need --remote HOST:PORT",
      );
    }
    await issueCertificate(pki, { name: SERVER_CERT_NAME, type: "server", sans, now });
    made.push(`server certificate (${sans.length > 0 ? sans.join(", ") : "no SANs"})`);
  }
  if (!await pathExists(`${pki}/${TLS_CRYPT_FILE}`)) {
    await createTlsCryptKey(pki);
    made.push("tls-crypt key");
  }

  await writeFileExclusive(configPath, zeroConfigYaml(now, dir), { mode: 0o600 });
  // The file must load: a failure here is a bug in this module, better found at once.
  await loadConfig(configPath);
  made.push("server.yaml");

  log.info(`zero-config: first start, created ${made.join(", ")}`, { dir });
  log.info("zero-config: server config", { config: configPath });
  log.info("zero-config: CA and keys", { pki });
  log.info(
    `zero-config: add a client with "tsvpn client add NAME --state-dir ${dir} > NAME.ovpn"`,
  );
  return { configPath, created: true };
}
