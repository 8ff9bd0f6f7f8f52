/**
 * `tsvpn import openvpn SERVER.CONF [--ccd DIR]`: prints the tsvpn server YAML
 * translated from an OpenVPN server config on stdout, and on stderr one line
 * per option it could not translate (`FILE:LINE: OPTION: not translated (WHY)`).
 *
 * Exit codes: 0 printed (the YAML loads with parseConfig), 2 usage error,
 * unreadable input or an invalid config; every error is one line.
 */
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError } from "../config/config_error.ts";
import { parseConfig } from "../config/load.ts";
import { type CcdFile, readCcdDir, translateOvpnServer } from "../config/ovpn_server.ts";
import { firstLine, writeStderr, writeStdout } from "./command_io.ts";

export interface ImportIo {
  /** Receives the YAML (newline-terminated). Default: stdout. */
  out?: (text: string) => void;
  /** Receives report and error lines (newline-terminated). Default: stderr. */
  err?: (text: string) => void;
}

export const IMPORT_USAGE = "Usage: tsvpn import openvpn SERVER.CONF [--ccd DIR]";

function why(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file or directory";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (e instanceof Deno.errors.IsADirectory) return "is a directory";
  return firstLine(e);
}

/** Runs `tsvpn import ARGS` (ARGS without the leading "import"); resolves to the exit code. */
export async function runImport(args: string[], io: ImportIo = {}): Promise<number> {
  const out = io.out ?? writeStdout;
  const err = io.err ?? writeStderr;
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ccd: { type: "string" } }, strict: true, allowPositionals: true });
  } catch (e) {
    err(`tsvpn import: ${firstLine(e)}; ${IMPORT_USAGE}\n`);
    return 2;
  }
  const [kind, file, ...extra] = parsed.positionals;
  if (kind !== "openvpn" || file === undefined || extra.length > 0) {
    err(`tsvpn import: ${IMPORT_USAGE}\n`);
    return 2;
  }

  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    err(`tsvpn import: cannot read ${file}: ${why(e)}\n`);
    return 2;
  }

  let result;
  try {
    result = translateOvpnServer(text, file, {
      ccdDir: parsed.values.ccd,
      readFile: (path: string) => Deno.readTextFileSync(path),
      readCcd: (dir: string): CcdFile[] => {
        try {
          return readCcdDir(dir);
        } catch (e) {
          throw new ConfigError(dir, 0, "", `cannot read client-config-dir: ${why(e)}`);
        }
      },
    });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    err(`tsvpn import: ${e.message}\n`);
    return 2;
  }

  // The contract: what we print loads as a tsvpn config.
  try {
    parseConfig(result.yaml, "translated.yaml", { baseDir: dirname(file) });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    err(`tsvpn import: ${file} translates to an invalid tsvpn config: ${e.message}\n`);
    return 2;
  }

  out(result.yaml);
  for (const i of result.ignored) {
    const where = i.line > 0 ? `${i.file}:${i.line}` : i.file;
    err(`${where}: ${i.option}: not translated (${i.reason})\n`);
  }
  return 0;
}
