/**
 * tsvpn contenders: `deno run -A --unstable-net main.ts --server|--client
 * --config FILE` in the bench namespaces, with configs written from the
 * bench PKI. Until the server and client work, setup fails with the reason
 * (the process exiting, or no ping through the tunnel in time) and the table
 * says "unavailable" for these rows.
 */

import { stringify } from "yaml";
import {
  type Contender,
  type RunningTunnel,
  SERVER_UNDERLAY,
  stopAll,
  waitForTunnel,
  type Watched,
} from "../contender.ts";
import type { BenchPki } from "../pki.ts";
import { type OvpnCipher, startOpenvpnClient } from "./openvpn.ts";

export const TSVPN_NETWORK = "10.204.0.0/24";
export const TSVPN_SERVER_ADDRESS = "10.204.0.1";
export const TSVPN_PORT = 1194;
/** Deno start-up plus TLS handshake; generous so a slow first start is not "unavailable". */
const STARTUP_MS = 30_000;

export const MAIN_TS = new URL("../../../main.ts", import.meta.url).pathname;
/** Passed explicitly: config discovery would otherwise depend on the bench's working directory. */
const DENO_JSON = new URL("../../../deno.json", import.meta.url).pathname;

/** The V8 flags `deno task compile` bakes into the shipped executable; the bench runs tsvpn with the same. */
export const TSVPN_V8_FLAGS: readonly string[] = [
  "--max-semi-space-size=1",
  "--memory-saver-mode",
];

export interface TsvpnConfigOptions {
  proto: "udp" | "tcp";
  cipher: OvpnCipher;
  /** V8 flags for both tsvpn processes. @default TSVPN_V8_FLAGS */
  v8Flags?: readonly string[];
  /** Extra `deno run` flags for both tsvpn processes (measurements). @default [] */
  denoFlags?: readonly string[];
  /** The server's entry script (a wrapper, for measurements). @default MAIN_TS */
  serverEntry?: string;
  /** Words before the deno executable for both processes (e.g. env VAR=value), for measurements. @default [] */
  launcher?: readonly string[];
}

/** The server config (keys as in deploy/examples/server.yaml). */
export function tsvpnServerYaml(pki: BenchPki, o: TsvpnConfigOptions): string {
  return stringify({
    mode: "server",
    listen: { host: SERVER_UNDERLAY, port: TSVPN_PORT, proto: o.proto },
    dev: { type: "tun", name: "tsvpn0" },
    pki: { ca: pki.ca, cert: pki.serverCert, key: pki.serverKey },
    data: { ciphers: [o.cipher] },
    log: { level: "warn" },
    server: { network: TSVPN_NETWORK, topology: "subnet" },
  });
}

/** The client config (keys as in deploy/examples/client.yaml). */
export function tsvpnClientYaml(pki: BenchPki, o: TsvpnConfigOptions): string {
  return stringify({
    mode: "client",
    remotes: [{ host: SERVER_UNDERLAY, port: TSVPN_PORT }],
    proto: o.proto,
    dev: { type: "tun", name: "tsvpn0" },
    pki: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey },
    data: { ciphers: [o.cipher] },
    log: { level: "warn" },
  });
}

function tsvpnArgv(
  role: "server" | "client",
  configPath: string,
  v8Flags: readonly string[],
  denoFlags: readonly string[] = [],
  entry = MAIN_TS,
  launcher: readonly string[] = [],
): string[] {
  return [
    ...launcher,
    Deno.execPath(),
    "run",
    "-A",
    "--unstable-net",
    ...(v8Flags.length > 0 ? [`--v8-flags=${v8Flags.join(",")}`] : []),
    ...denoFlags,
    "--config",
    DENO_JSON,
    entry,
    `--${role}`,
    "--config",
    configPath,
  ];
}

export type TsvpnClientKind = "tsvpn" | "openvpn";

export function tsvpnContender(
  name: string,
  o: TsvpnConfigOptions,
  clientKind: TsvpnClientKind = "tsvpn",
): Contender {
  const clientText = clientKind === "tsvpn" ? "tsvpn client" : "stock openvpn 2.6 client (--disable-dco)";
  return {
    name,
    kind: "tsvpn",
    description: `tsvpn server, ${clientText}, ${o.proto.toUpperCase()}, ${o.cipher}`,
    programs: clientKind === "openvpn" ? ["openvpn"] : [],
    async setup(host): Promise<RunningTunnel> {
      const serverConfig = `${host.workDir}/tsvpn-server.yaml`;
      await Deno.writeTextFile(serverConfig, tsvpnServerYaml(host.pki, o));
      const watched: Watched[] = [{
        role: "server",
        proc: host.lab.spawn(
          host.server,
          tsvpnArgv(
            "server",
            serverConfig,
            o.v8Flags ?? TSVPN_V8_FLAGS,
            o.denoFlags,
            o.serverEntry,
            o.launcher,
          ),
        ),
      }];
      try {
        const notes: Record<string, string> = { cipher: o.cipher };
        if (clientKind === "tsvpn") {
          const clientConfig = `${host.workDir}/tsvpn-client.yaml`;
          await Deno.writeTextFile(clientConfig, tsvpnClientYaml(host.pki, o));
          watched.push({
            role: "client",
            proc: host.lab.spawn(
              host.client,
              tsvpnArgv(
                "client",
                clientConfig,
                o.v8Flags ?? TSVPN_V8_FLAGS,
                o.denoFlags,
                MAIN_TS,
                o.launcher,
              ),
            ),
          });
          await waitForTunnel(host, TSVPN_SERVER_ADDRESS, watched, STARTUP_MS);
        } else {
          const started = await startOpenvpnClient(host, TSVPN_SERVER_ADDRESS, watched[0], {
            remote: SERVER_UNDERLAY,
            port: TSVPN_PORT,
            proto: o.proto,
            cipher: o.cipher,
          });
          watched.push(started.client);
          if (started.cipher !== null) notes.cipher = started.cipher;
        }
        return {
          serverAddress: TSVPN_SERVER_ADDRESS,
          processes: watched.map((w) => ({
            role: w.role,
            program: w.role === "client" && clientKind === "openvpn" ? "openvpn" : "deno",
            pid: w.proc.pid,
          })),
          notes,
          stop: () => stopAll(watched),
        };
      } catch (err) {
        await stopAll(watched);
        throw err;
      }
    },
  };
}
