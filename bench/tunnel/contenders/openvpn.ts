/**
 * OpenVPN 2.6 from Debian, UDP, TLS with the bench PKI, userspace data channel
 * (--disable-dco: the kernel offload would measure the kernel, not OpenVPN).
 * Also provides the stock client used against the tsvpn server.
 */

import {
  type BenchHost,
  type Contender,
  ContenderUnavailable,
  type RunningTunnel,
  SERVER_UNDERLAY,
  stopAll,
  waitForTunnel,
  type Watched,
} from "../contender.ts";
import type { BenchPki } from "../pki.ts";

export const OPENVPN_NETWORK = "10.202.0.0";
export const OPENVPN_SERVER_ADDRESS = "10.202.0.1";
export const OPENVPN_PORT = 1194;
const STARTUP_MS = 20_000;

export type OvpnCipher = "AES-256-GCM" | "AES-128-GCM" | "CHACHA20-POLY1305";

export function openvpnServerArgs(pki: BenchPki, cipher: OvpnCipher, logPath: string): string[] {
  return [
    "openvpn",
    "--server",
    OPENVPN_NETWORK,
    "255.255.255.0",
    "--topology",
    "subnet",
    "--proto",
    "udp",
    "--local",
    SERVER_UNDERLAY,
    "--port",
    String(OPENVPN_PORT),
    "--dev",
    "tun",
    "--ca",
    pki.ca,
    "--cert",
    pki.serverCert,
    "--key",
    pki.serverKey,
    "--dh",
    "none",
    "--data-ciphers",
    cipher,
    "--disable-dco",
    "--keepalive",
    "10",
    "60",
    "--verb",
    "3",
    "--log",
    logPath,
  ];
}

export interface OpenvpnClientOptions {
  remote: string;
  port: number;
  proto: "udp" | "tcp";
  cipher: OvpnCipher;
  logPath: string;
}

export function openvpnClientArgs(pki: BenchPki, o: OpenvpnClientOptions): string[] {
  return [
    "openvpn",
    "--client",
    "--dev",
    "tun",
    "--proto",
    o.proto === "udp" ? "udp" : "tcp-client",
    "--remote",
    o.remote,
    String(o.port),
    "--nobind",
    "--ca",
    pki.ca,
    "--cert",
    pki.clientCert,
    "--key",
    pki.clientKey,
    "--remote-cert-tls",
    "server",
    "--data-ciphers",
    o.cipher,
    "--disable-dco",
    "--connect-retry-max",
    "3",
    "--verb",
    "3",
    "--log",
    o.logPath,
  ];
}

/** The data-channel cipher openvpn says it initialized, from its log; null when not found. */
export function negotiatedCipher(log: string): string | null {
  const m = /Data Channel: Cipher '([^']+)' initialized/.exec(log) ??
    /Data Channel: cipher '([^']+)'/.exec(log);
  return m === null ? null : m[1];
}

function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** Starts a stock openvpn client in the client namespace and waits until `serverAddress` answers pings. */
export async function startOpenvpnClient(
  host: BenchHost,
  serverAddress: string,
  server: Watched,
  options: Omit<OpenvpnClientOptions, "logPath">,
): Promise<{ client: Watched; cipher: string | null }> {
  const logPath = `${host.workDir}/openvpn-client.log`;
  const client: Watched = {
    role: "client",
    proc: host.lab.spawn(host.client, openvpnClientArgs(host.pki, { ...options, logPath })),
    logPath,
  };
  await waitForTunnel(host, serverAddress, [server, client], STARTUP_MS);
  return { client, cipher: negotiatedCipher(readText(logPath)) };
}

export function openvpnContender(name: string, cipher: OvpnCipher): Contender {
  return {
    name,
    kind: "openvpn",
    description: `OpenVPN 2.6 server and client, UDP, ${cipher}, userspace (--disable-dco)`,
    programs: ["openvpn"],
    async setup(host): Promise<RunningTunnel> {
      const serverLog = `${host.workDir}/openvpn-server.log`;
      const server: Watched = {
        role: "server",
        proc: host.lab.spawn(host.server, openvpnServerArgs(host.pki, cipher, serverLog)),
        logPath: serverLog,
      };
      let client: Watched | undefined;
      try {
        const started = await startOpenvpnClient(host, OPENVPN_SERVER_ADDRESS, server, {
          remote: SERVER_UNDERLAY,
          port: OPENVPN_PORT,
          proto: "udp",
          cipher,
        });
        client = started.client;
        if (started.cipher !== null && started.cipher !== cipher) {
          throw new ContenderUnavailable(`openvpn negotiated ${started.cipher}, not ${cipher}`);
        }
        const watched = [server, client];
        return {
          serverAddress: OPENVPN_SERVER_ADDRESS,
          processes: [
            { role: "server", program: "openvpn", pid: server.proc.pid },
            { role: "client", program: "openvpn", pid: client.proc.pid },
          ],
          notes: { cipher: started.cipher ?? "unknown" },
          stop: () => stopAll(watched),
        };
      } catch (err) {
        await stopAll(client === undefined ? [server] : [server, client]);
        throw err;
      }
    },
  };
}
