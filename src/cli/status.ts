/**
 * `tsvpn status [--management ADDR] [--json]`: asks a running server's
 * management interface for `status json` and prints it as tables (or as
 * JSON). Exit codes: 0 printed, 1 server unreachable or bad answer, 2 usage.
 */
import { parseArgs } from "node:util";
import { DEFAULT_MANAGEMENT_ADDRESS, parseManagementAddress } from "../ops/listen_address.ts";
import { managementRequest, ManagementUnreachableError } from "../ops/management_client.ts";
import type { ServerSnapshot } from "../ops/server_control.ts";
import { formatStatusTable } from "../ops/status_table.ts";

export interface StatusIo {
  /** Receives normal output (newline-terminated). Default: stdout. */
  out?: (text: string) => void;
  /** Receives error lines (newline-terminated). Default: stderr. */
  err?: (text: string) => void;
  /** @default 5000 */
  timeoutMs?: number;
}

export const STATUS_USAGE = `Usage: tsvpn status [--management HOST:PORT|SOCKET] [--json]
  --management ADDR   the server's management interface (default ${DEFAULT_MANAGEMENT_ADDRESS})
  --json              print the status document as JSON`;

const encoder = new TextEncoder();
function writeAll(file: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
}

function isSnapshot(v: unknown): v is ServerSnapshot {
  if (typeof v !== "object" || v === null) return false;
  const s = v as Record<string, unknown>;
  return typeof s.version === "string" && typeof s.time === "number" && Array.isArray(s.clients) &&
    Array.isArray(s.routes) && Array.isArray(s.macs) && typeof s.drops === "object" && s.drops !== null;
}

/** Runs `tsvpn status ARGS` (without the leading "status"); resolves to the exit code. */
export async function runStatus(args: string[], io: StatusIo = {}): Promise<number> {
  const out = io.out ?? ((t: string) => writeAll(Deno.stdout, t));
  const err = io.err ?? ((t: string) => writeAll(Deno.stderr, t));
  let values;
  try {
    values = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        management: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    err(
      `tsvpn status: ${(e as Error).message.split("\n")[0].replace(/\.$/, "")} (see tsvpn status --help)\n`,
    );
    return 2;
  }
  if (values.help) {
    out(STATUS_USAGE + "\n");
    return 0;
  }
  const address = values.management ?? DEFAULT_MANAGEMENT_ADDRESS;
  try {
    parseManagementAddress(address);
  } catch (e) {
    err(`tsvpn status: ${(e as Error).message}\n`);
    return 2;
  }
  let lines: string[];
  try {
    lines = await managementRequest(address, "status json", { timeoutMs: io.timeoutMs });
  } catch (e) {
    const msg = e instanceof ManagementUnreachableError ? e.message : (e as Error).message.split("\n")[0];
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
  if (!isSnapshot(snapshot)) {
    err(`tsvpn status: the server at ${address} sent no valid status document\n`);
    return 1;
  }
  out(values.json ? JSON.stringify(snapshot, null, 2) + "\n" : formatStatusTable(snapshot).join("\n") + "\n");
  return 0;
}
