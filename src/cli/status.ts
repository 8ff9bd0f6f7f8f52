/**
 * `tsvpn status [--management ADDR | --config FILE | --state-dir DIR]
 * [--password-file FILE] [--json]`: asks a running server's management
 * interface for `status json` and prints it as tables (or as JSON); the
 * same for a running client (`--config` its config, a client snapshot).
 *
 * Where the interface is: --management; else the `management` section of
 * --config's server config (listen and password_file); else the state
 * directory's server.yaml (a zero-config server, /var/lib/tsvpn by default),
 * or its management.sock when there is no server.yaml.
 * Exit codes: 0 printed, 1 server unreachable or bad answer, 2 usage.
 */
import { parseArgs } from "node:util";
import { ConfigError } from "../config/config_error.ts";
import { loadConfigOrProfile } from "../config/load.ts";
import { pathExists } from "../fs/path_exists.ts";
import { formatManagementAddress, parseManagementAddress } from "../ops/listen_address.ts";
import { managementRequest, ManagementUnreachableError } from "../ops/management_client.ts";
import { readPasswordFile } from "../ops/management_guard.ts";
import type { ServerSnapshot } from "../ops/server_control.ts";
import { formatStatusTable } from "../ops/status_table.ts";
import { formatClientStatusText, isClientSnapshot } from "../ops/client_status_text.ts";
import { DEFAULT_STATE_DIR } from "./args.ts";
import { firstLine, UsageError, writeStderr, writeStdout } from "./command_io.ts";

export interface StatusIo {
  /** Receives normal output (newline-terminated). Default: stdout. */
  out?: (text: string) => void;
  /** Receives error lines (newline-terminated). Default: stderr. */
  err?: (text: string) => void;
  /** @default 5000 */
  timeoutMs?: number;
}

export const STATUS_USAGE =
  `Usage: tsvpn status [--management HOST:PORT|SOCKET | --config FILE | --state-dir DIR] [--password-file FILE] [--json]
  --management ADDR     the server's management interface
  --config FILE         a server or client config (or .ovpn): its management.listen and password_file
  --state-dir DIR       a zero-config server's state: DIR/server.yaml, else DIR/management.sock
                        (the default, with DIR ${DEFAULT_STATE_DIR})
  --password-file FILE  the interface's password (the file's first line), when it asks for one
  --json                print the status document as JSON`;

interface Target {
  address: string;
  passwordFile: string | null;
}

async function fileExists(path: string): Promise<boolean> {
  try {
    return await pathExists(path);
  } catch (e) {
    throw new Error(`Cannot read ${path}: ${firstLine(e)}`);
  }
}

/** The management interface named by the flags (see the module comment). */
async function findTarget(values: Record<string, string | boolean | undefined>): Promise<Target> {
  const chosen = ["management", "config", "state-dir"].filter((k) => values[k] !== undefined);
  if (chosen.length > 1) throw new UsageError(`Give only one of --${chosen.join(", --")}`);
  const passwordFlag = values["password-file"] as string | undefined;
  if (values.management !== undefined) {
    const address = values.management as string;
    try {
      parseManagementAddress(address);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    return { address, passwordFile: passwordFlag ?? null };
  }
  let path = values.config as string | undefined;
  if (path === undefined) {
    const dir = (values["state-dir"] as string | undefined) ?? DEFAULT_STATE_DIR;
    if (!await fileExists(`${dir}/server.yaml`)) {
      return { address: `${dir}/management.sock`, passwordFile: passwordFlag ?? null };
    }
    path = `${dir}/server.yaml`;
  }
  const { config } = await loadConfigOrProfile(path);
  if (config.management === null) {
    throw new UsageError(`${path} names no management interface (management.listen)`);
  }
  return {
    address: formatManagementAddress(config.management.listen),
    passwordFile: passwordFlag ?? config.management.passwordFile,
  };
}

function isSnapshot(v: unknown): v is ServerSnapshot {
  if (typeof v !== "object" || v === null) return false;
  const s = v as Record<string, unknown>;
  return typeof s.version === "string" && typeof s.time === "number" && Array.isArray(s.clients) &&
    Array.isArray(s.routes) && Array.isArray(s.macs) && typeof s.drops === "object" && s.drops !== null;
}

/** Runs `tsvpn status ARGS` (without the leading "status"); resolves to the exit code. */
export async function runStatus(args: string[], io: StatusIo = {}): Promise<number> {
  const out = io.out ?? writeStdout;
  const err = io.err ?? writeStderr;
  let values;
  try {
    values = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        management: { type: "string" },
        config: { type: "string" },
        "state-dir": { type: "string" },
        "password-file": { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    err(
      `tsvpn status: ${firstLine(e).replace(/\.$/, "")} (see tsvpn status --help)\n`,
    );
    return 2;
  }
  if (values.help) {
    out(STATUS_USAGE + "\n");
    return 0;
  }
  let target: Target;
  let password: string | null = null;
  try {
    target = await findTarget(values);
    if (target.passwordFile !== null) password = (await readPasswordFile(target.passwordFile)).password;
  } catch (e) {
    err(`tsvpn status: ${firstLine(e)}\n`);
    return e instanceof UsageError || e instanceof ConfigError ? 2 : 1;
  }
  const address = target.address;
  let lines: string[];
  try {
    lines = await managementRequest(address, "status json", { timeoutMs: io.timeoutMs, password });
  } catch (e) {
    const msg = e instanceof ManagementUnreachableError ? e.message : firstLine(e);
    err(`tsvpn status: ${msg}\n`);
    return 1;
  }
  if (lines.length === 1 && lines[0].startsWith("ERROR:")) {
    err(`tsvpn status: the server at ${address} answered "${lines[0]}"\n`);
    return 1;
  }
  let snapshot: unknown;
  try {
    snapshot = JSON.parse(lines.join("\n"));
  } catch {
    snapshot = undefined;
  }
  if (isClientSnapshot(snapshot)) {
    out(
      values.json
        ? JSON.stringify(snapshot, null, 2) + "\n"
        : formatClientStatusText(snapshot).join("\n") + "\n",
    );
    return 0;
  }
  if (!isSnapshot(snapshot)) {
    err(`tsvpn status: the server at ${address} sent no valid status document\n`);
    return 1;
  }
  out(values.json ? JSON.stringify(snapshot, null, 2) + "\n" : formatStatusTable(snapshot).join("\n") + "\n");
  return 0;
}
