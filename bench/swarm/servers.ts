/**
 * The two servers the swarm drives, one after the other in the server
 * namespace, with the equivalent configuration: UDP on SERVER_UNDERLAY:1194,
 * tun, topology subnet over a /16 pool, AES-256-GCM only, no tls-auth /
 * tls-crypt, keepalive 10/120, room for every client, default logging
 * (tsvpn `info`, openvpn `--verb 3`). OpenVPN's `--connect-freq-initial`
 * (2.6 default: 100 stateless replies per 10 s) is lifted, or it would cap
 * the swarm at 10 new clients per second; so is tsvpn's `server.handshake_rate`
 * (default 100/s, set to HANDSHAKE_RATE); tsvpn's per-source reset limit
 * (8/s, burst 32) is not reached because consecutive clients use different
 * source addresses (plan.ts).
 */

import { stringify } from "yaml";
import type { NetnsLab } from "../../tests/harness/netns.ts";
import { until } from "../../src/testing/wait.ts";
import type { SwarmPki } from "./pki.ts";

export const SERVER_UNDERLAY = "172.30.0.1";
export const GENERATOR_PREFIX = "172.31";
export const SERVER_PORT = 1194;
export const CIPHER = "AES-256-GCM";
/** The tunnel pool; the server holds the first address. */
export const TUNNEL_NETWORK = "10.80.0.0";
export const TUNNEL_ADDRESS = "10.80.0.1";
export const KEEPALIVE = { interval: 10, timeout: 120 };
/** tsvpn's new-session limit for the swarm (default 100/s), lifted like OpenVPN's connect-freq-initial. */
export const HANDSHAKE_RATE = 2000;

const ROOT = new URL("../../", import.meta.url).pathname;
/** The V8 flags `deno task compile` bakes into the shipped executable. */
const TSVPN_V8_FLAGS = ["--max-semi-space-size=1", "--memory-saver-mode"];

export type ServerKind = "tsvpn" | "openvpn";

export interface SwarmServer {
  kind: ServerKind;
  pid: number;
  logPath: string;
  /** One line: what runs, with which settings. */
  description: string;
  running(): boolean;
  stop(): Promise<void>;
}

function spawnLogged(lab: NetnsLab, ns: string, logPath: string, argv: string[]) {
  const quoted = argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  return lab.spawn(ns, ["sh", "-c", `exec ${quoted} >'${logPath}' 2>&1`]);
}

function readLog(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

export function tsvpnServerYaml(pki: SwarmPki, clients: number): string {
  return stringify({
    mode: "server",
    listen: { host: SERVER_UNDERLAY, port: SERVER_PORT, proto: "udp" },
    dev: { type: "tun", name: "tsvpn0" },
    pki: { ca: pki.caPath, cert: pki.serverCert, key: pki.serverKey },
    data: { ciphers: [CIPHER] },
    keepalive: KEEPALIVE,
    log: { level: "info" },
    server: {
      network: `${TUNNEL_NETWORK}/16`,
      topology: "subnet",
      max_clients: clients + 16,
      handshake_rate: HANDSHAKE_RATE,
    },
  });
}

export function openvpnServerArgs(pki: SwarmPki, clients: number): string[] {
  return [
    "openvpn",
    ...["--server", TUNNEL_NETWORK, "255.255.0.0", "--topology", "subnet"],
    ...["--proto", "udp", "--local", SERVER_UNDERLAY, "--port", String(SERVER_PORT), "--dev", "tun"],
    ...["--ca", pki.caPath, "--cert", pki.serverCert, "--key", pki.serverKey, "--dh", "none"],
    ...["--data-ciphers", CIPHER, "--disable-dco"],
    ...["--keepalive", String(KEEPALIVE.interval), String(KEEPALIVE.timeout)],
    ...["--max-clients", String(clients + 16), "--connect-freq-initial", "1000000", "1"],
    ...["--verb", "3"],
  ];
}

/** Waits until the server's tunnel address is on its device and its UDP port is bound. */
async function waitReady(lab: NetnsLab, ns: string, logPath: string, running: () => boolean): Promise<void> {
  await until(async () => {
    if (!running()) throw new Error(`the server exited during start-up:\n${readLog(logPath).slice(-2000)}`);
    const addr = await lab.exec(ns, ["ip", "-4", "-o", "addr", "show"], { check: false });
    const port = await lab.exec(ns, ["ss", "-Hlun", `sport = :${SERVER_PORT}`], { check: false });
    return addr.stdout.includes(`${TUNNEL_ADDRESS}/`) && port.stdout.trim() !== "";
  }, {
    what: "the server to listen",
    timeoutMs: 60_000,
    intervalMs: 200,
    detail: () => readLog(logPath).slice(-2000),
  });
}

export async function startServer(
  kind: ServerKind,
  lab: NetnsLab,
  ns: string,
  dir: string,
  pki: SwarmPki,
  clients: number,
): Promise<SwarmServer> {
  const logPath = `${dir}/${kind}-server.log`;
  let argv: string[];
  let description: string;
  if (kind === "tsvpn") {
    const config = `${dir}/tsvpn-server.yaml`;
    await Deno.writeTextFile(config, tsvpnServerYaml(pki, clients));
    argv = [Deno.execPath(), "run", "-A", "--unstable-net", `--v8-flags=${TSVPN_V8_FLAGS.join(",")}`];
    argv.push("--config", `${ROOT}deno.json`, `${ROOT}main.ts`, "--server", "--config", config);
    description = `tsvpn (deno run, V8 flags as the compiled binary), ${CIPHER}, subnet /16, no tls-crypt`;
  } else {
    argv = openvpnServerArgs(pki, clients);
    description =
      `openvpn 2.6 --disable-dco, ${CIPHER}, subnet /16, no tls-crypt, connect-freq-initial lifted`;
  }
  const proc = spawnLogged(lab, ns, logPath, argv);
  const server: SwarmServer = {
    kind,
    pid: proc.pid,
    logPath,
    description,
    running: () => proc.running,
    stop: () => proc.stop(10_000),
  };
  try {
    await waitReady(lab, ns, logPath, server.running);
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}
