/**
 * Client administration for a zero-config server (its state directory):
 *
 *   tsvpn client add NAME [--remote HOST:PORT] [--format ovpn|yaml] [--proto udp|tcp] [--state-dir DIR]
 *   tsvpn client revoke NAME [--state-dir DIR]
 *   tsvpn client cleanup [--config FILE | --state-dir DIR]   (client_cleanup.ts)
 *
 * `add` issues a client certificate from the state's CA and prints a one-file
 * profile on stdout (remote defaults to the server certificate's first
 * address and server.yaml's port and protocol). `revoke` revokes it, re-signs
 * the CRL and, when server.yaml names a management interface that answers,
 * sends `reload-crl` so a live session ends at once.
 *
 * Exit codes: 0 done, 1 the operation failed, 2 usage error; messages are one line.
 */
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../config/load.ts";
import { DEFAULTS, type ServerConfig } from "../config/schema.ts";
import type { NetConfig } from "../device/net_config.ts";
import { formatManagementAddress } from "../ops/listen_address.ts";
import { managementRequest } from "../ops/management_client.ts";
import { readPasswordFile } from "../ops/management_guard.ts";
import { bundle, type BundleFormat, type BundleProto, parseRemote } from "../pki/bundle.ts";
import { issueCertificate, validateName } from "../pki/ca.ts";
import { revokeCertificate } from "../pki/revoke.ts";
import { SubjectAlternativeNameExtension, X509Certificate } from "../pki/x509.ts";
import { SERVER_CONFIG_FILE } from "../server/zero_config.ts";
import { DEFAULT_STATE_DIR } from "./args.ts";
import { firstLine, oneOf, reportCommandError, UsageError, writeStderr, writeStdout } from "./command_io.ts";

export interface ClientAdminIo {
  /** Receives the profile (add) and results (revoke). Default: stdout. */
  out?: (text: string) => void;
  /** Receives notes and errors, newline-terminated. Default: stderr. */
  err?: (text: string) => void;
  now?: () => Date;
  /** Time allowed to the management interface for reload-crl. @default 3000 */
  timeoutMs?: number;
  /** The host `cleanup` restores (null: rtnetlink in this namespace). @default null */
  net?: NetConfig | null;
}

export const CLIENT_USAGE = `Usage:
  tsvpn client add NAME [--remote HOST:PORT] [--format ovpn|yaml] [--proto udp|tcp] [--state-dir DIR]
  tsvpn client revoke NAME [--state-dir DIR]
  (DIR defaults to ${DEFAULT_STATE_DIR}, the zero-config server's state directory)
  tsvpn client cleanup [--config FILE | --state-dir DIR]
  (undoes the host changes a client killed before its stop left behind, from the journal in the
  config's state_dir, or every journal of this network namespace in DIR, default ${DEFAULTS.clientStateDir})`;

interface ServerState {
  config: ServerConfig;
  /** The CA directory (where server.yaml's pki.ca lives). */
  pkiDir: string;
}

async function loadState(stateDir: string): Promise<ServerState> {
  const path = `${stateDir}/${SERVER_CONFIG_FILE}`;
  try {
    await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        `No tsvpn server state in ${stateDir} (${SERVER_CONFIG_FILE} is missing): start the server once with "tsvpn --server --state-dir ${stateDir}"`,
      );
    }
    throw e;
  }
  const config = await loadConfig(path);
  if (config.mode !== "server") throw new Error(`${path} is not a server config (mode: ${config.mode})`);
  if (config.pki.ca.kind !== "file") {
    throw new Error(`${path} has an inline CA: manage its clients with "tsvpn pki" instead`);
  }
  return { config, pkiDir: dirname(config.pki.ca.path) };
}

/** The server certificate's first IP SAN (else first DNS SAN), or null. */
async function serverCertAddress(config: ServerConfig): Promise<string | null> {
  const src = config.pki.cert;
  const pem = src.kind === "file" ? await Deno.readTextFile(src.path) : src.pem;
  const san = new X509Certificate(pem).getExtension(SubjectAlternativeNameExtension);
  if (san === null) return null;
  const names = san.names.items;
  return names.find((n) => n.type === "ip")?.value ?? names.find((n) => n.type === "dns")?.value ?? null;
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

async function add(args: string[], io: Required<ClientAdminIo>): Promise<number> {
  const { values, positionals } = parse(args, {
    remote: { type: "string" },
    format: { type: "string" },
    proto: { type: "string" },
    "state-dir": { type: "string" },
  });
  const name = requireName(positionals, "add");
  const format = oneOf<BundleFormat>(values.format, "--format", ["ovpn", "yaml"]) ?? "ovpn";
  const protoFlag = oneOf<BundleProto>(values.proto, "--proto", ["udp", "tcp"]);
  if (values.remote !== undefined) {
    try {
      parseRemote(values.remote as string);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const stateDir = (values["state-dir"] as string | undefined) ?? DEFAULT_STATE_DIR;
  const { config, pkiDir } = await loadState(stateDir);
  let remote = values.remote as string | undefined;
  if (remote === undefined) {
    const host = await serverCertAddress(config);
    if (host === null) {
      throw new Error("The server certificate names no address: give --remote HOST:PORT");
    }
    remote = hostPort(host, config.listen.port);
  }
  const proto = protoFlag ?? config.listen.proto;
  const issued = await issueCertificate(pkiDir, { name, type: "client", now: io.now() });
  const text = await bundle(pkiDir, name, { remote, format, proto });
  io.out(text);
  io.err(
    `Issued client certificate "${name}" (serial ${issued.record.serial}); ${format} profile for ${proto} ${remote} written to stdout\n`,
  );
  return 0;
}

async function revoke(args: string[], io: Required<ClientAdminIo>): Promise<number> {
  const { values, positionals } = parse(args, { "state-dir": { type: "string" } });
  const name = requireName(positionals, "revoke");
  const stateDir = (values["state-dir"] as string | undefined) ?? DEFAULT_STATE_DIR;
  const { config, pkiDir } = await loadState(stateDir);
  const record = await revokeCertificate(pkiDir, name, { now: io.now() });
  io.out(`Revoked "${name}" (serial ${record.serial}); CRL updated: ${pkiDir}/crl.pem\n`);
  if (config.management === null) {
    io.out(
      "No management interface in server.yaml: a running server applies the revocation when it reloads its CRL or restarts\n",
    );
    return 0;
  }
  const address = formatManagementAddress(config.management.listen);
  try {
    const pwFile = config.management.passwordFile;
    const password = pwFile === null ? null : (await readPasswordFile(pwFile)).password;
    const reply = await managementRequest(address, "reload-crl", { timeoutMs: io.timeoutMs, password });
    const line = reply[0] ?? "(no reply)";
    if (line.startsWith("SUCCESS:")) {
      io.out(`Server at ${address}: ${line.slice("SUCCESS:".length).trim()}\n`);
    } else {
      io.err(
        `Server at ${address} did not reload its CRL (${line}): the revocation applies when it reloads its CRL or restarts\n`,
      );
    }
  } catch (e) {
    const why = (e as Error).message;
    io.out(`Server not reached: ${why}; the revocation applies when it starts or reloads its CRL\n`);
  }
  return 0;
}

async function cleanup(args: string[], io: Required<ClientAdminIo>): Promise<number> {
  const { values, positionals } = parse(args, {
    config: { type: "string" },
    "state-dir": { type: "string" },
  });
  if (positionals.length > 0) throw new UsageError(`Unexpected argument "${positionals[0]}"`);
  const { runCleanup } = await import("./client_cleanup.ts");
  return await runCleanup(
    { config: values.config as string | undefined, stateDir: values["state-dir"] as string | undefined },
    { out: io.out, err: io.err, net: io.net ?? undefined },
  );
}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

function parse(
  args: string[],
  options: Record<string, { type: "string" | "boolean" }>,
): { values: Values; positionals: string[] } {
  try {
    const parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
    return { values: parsed.values as Values, positionals: parsed.positionals };
  } catch (e) {
    throw new UsageError(firstLine(e).replace(/\.$/, ""));
  }
}

function requireName(positionals: string[], command: string): string {
  if (positionals.length === 0) throw new UsageError(`Missing NAME for client ${command}`);
  if (positionals.length > 1) throw new UsageError(`Unexpected argument "${positionals[1]}"`);
  try {
    validateName(positionals[0]);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return positionals[0];
}

/** Runs `tsvpn client ARGS` (without the leading "client"); resolves to the exit code. */
export async function runClientAdmin(args: string[], io: ClientAdminIo = {}): Promise<number> {
  const full: Required<ClientAdminIo> = {
    out: io.out ?? writeStdout,
    err: io.err ?? writeStderr,
    now: io.now ?? (() => new Date()),
    timeoutMs: io.timeoutMs ?? 3000,
    net: io.net ?? null,
  };
  const [command, ...rest] = args;
  try {
    switch (command) {
      case "add":
        return await add(rest, full);
      case "revoke":
        return await revoke(rest, full);
      case "cleanup":
        return await cleanup(rest, full);
      case "help":
      case "--help":
      case "-h":
        full.out(CLIENT_USAGE + "\n");
        return 0;
      case undefined:
        throw new UsageError("Missing client command (add, revoke or cleanup)");
      default:
        throw new UsageError(`Unknown client command "${command}"`);
    }
  } catch (e) {
    return reportCommandError("client", e, full.err);
  }
}
