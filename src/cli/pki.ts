/**
 * `tsvpn pki …`: the built-in CA from the command line. A contract others'
 * tests drive:
 *
 *   tsvpn pki init --dir DIR [--cn NAME] [--curve P-256|P-384]
 *   tsvpn pki issue --dir DIR --server NAME [--san DNS-or-IP …] [--days N]
 *   tsvpn pki issue --dir DIR --client NAME [--days N]
 *   tsvpn pki revoke --dir DIR NAME
 *   tsvpn pki list --dir DIR [--json]
 *   tsvpn pki bundle --dir DIR NAME --remote HOST:PORT [--format yaml|ovpn] [--proto udp|tcp]
 *                    [--tls-crypt FILE] [--out FILE]
 *   tsvpn pki crl --dir DIR                      (re-sign crl.pem with a fresh nextUpdate)
 *   tsvpn pki tls-crypt-key FILE
 *
 * Exit codes: 0 done, 1 the operation failed, 2 usage error; every message is one line.
 */
import { parseArgs } from "node:util";
import { bundle, type BundleFormat, type BundleProto } from "../pki/bundle.ts";
import { type CertRecord, initCa, issueCertificate, listCertificates } from "../pki/ca.ts";
import type { EcCurve } from "../pki/pem.ts";
import { refreshCrl, revokeCertificate } from "../pki/revoke.ts";
import { writeNewSecretFile } from "../pki/secret_file.ts";
import { writeTlsCryptKey } from "../pki/tls_crypt_key.ts";
import { formatUtc } from "../pki/verify.ts";
import { firstLine, oneOf, reportCommandError, UsageError, writeStderr, writeStdout } from "./command_io.ts";

export interface PkiIo {
  /** Receives normal output (already newline-terminated). Default: stdout. */
  out?: (text: string) => void;
  /** Receives error lines (already newline-terminated). Default: stderr. */
  err?: (text: string) => void;
  /** Clock for issue/revoke/list; tests inject one. */
  now?: () => Date;
}

export const PKI_USAGE = `Usage:
  tsvpn pki init --dir DIR [--cn NAME] [--curve P-256|P-384]
  tsvpn pki issue --dir DIR --server NAME [--san DNS-or-IP ...] [--days N]
  tsvpn pki issue --dir DIR --client NAME [--days N]
  tsvpn pki revoke --dir DIR NAME
  tsvpn pki list --dir DIR [--json]
  tsvpn pki bundle --dir DIR NAME --remote HOST:PORT [--format yaml|ovpn] [--proto udp|tcp] [--tls-crypt FILE] [--out FILE]
  tsvpn pki crl --dir DIR
  tsvpn pki tls-crypt-key FILE`;

type Values = Record<string, string | boolean | string[] | undefined>;

function parse(
  args: string[],
  options: Record<string, { type: "string" | "boolean"; multiple?: boolean }>,
  positionals: number,
): { values: Values; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: positionals > 0 });
  } catch (e) {
    throw new UsageError(firstLine(e));
  }
  if (parsed.positionals.length > positionals) {
    throw new UsageError(`Unexpected argument "${parsed.positionals[positionals]}"`);
  }
  return { values: parsed.values as Values, positionals: parsed.positionals };
}

function requireDir(values: Values): string {
  const dir = values.dir;
  if (typeof dir !== "string" || dir === "") throw new UsageError("Missing --dir DIR");
  return dir;
}

function requireOne(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`Missing ${what}`);
  return positionals[0];
}

function parseDays(values: Values): number | undefined {
  if (values.days === undefined) return undefined;
  const n = Number(values.days);
  if (!Number.isInteger(n) || n < 1 || n > 36500) {
    throw new UsageError(`Invalid --days "${values.days}": expected 1 to 36500`);
  }
  return n;
}

function formatList(records: CertRecord[], now: Date): string {
  const rows = [["SERIAL", "NAME", "TYPE", "EXPIRES", "STATUS"]];
  for (const r of records) {
    const status = r.revokedAt !== null
      ? `revoked ${formatUtc(new Date(r.revokedAt))}`
      : new Date(r.notAfter) < now
      ? "expired"
      : "valid";
    rows.push([r.serial, r.name, r.type, formatUtc(new Date(r.notAfter)), status]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => row.map((c, i) => i === row.length - 1 ? c : c.padEnd(widths[i])).join("  ")).join(
    "\n",
  ) + "\n";
}

/** A pki command's streams and clock, defaults filled in. */
type PkiContext = Required<PkiIo>;

async function init(args: string[], io: PkiContext): Promise<void> {
  const { values } = parse(args, {
    dir: { type: "string" },
    cn: { type: "string" },
    curve: { type: "string" },
  }, 0);
  const dir = requireDir(values);
  const curve = oneOf<EcCurve>(values.curve, "--curve", ["P-256", "P-384"]);
  const cert = await initCa(dir, { commonName: values.cn as string | undefined, curve, now: io.now() });
  io.out(`Created CA "${cert.subject}" (ECDSA ${curve ?? "P-256"}) in ${dir}: ca.crt, ca.key, crl.pem\n`);
}

async function issue(args: string[], io: PkiContext): Promise<void> {
  const { values } = parse(args, {
    dir: { type: "string" },
    server: { type: "string" },
    client: { type: "string" },
    san: { type: "string", multiple: true },
    days: { type: "string" },
  }, 0);
  const dir = requireDir(values);
  const server = values.server as string | undefined;
  const client = values.client as string | undefined;
  if ((server === undefined) === (client === undefined)) {
    throw new UsageError("Give exactly one of --server NAME or --client NAME");
  }
  const sans = (values.san as string[] | undefined) ?? [];
  if (client !== undefined && sans.length > 0) {
    throw new UsageError("--san is only for --server certificates");
  }
  const type = server !== undefined ? "server" : "client";
  const name = (server ?? client)!;
  const issued = await issueCertificate(dir, { name, type, sans, days: parseDays(values), now: io.now() });
  io.out(
    `Issued ${type} certificate "${name}" (serial ${issued.record.serial}): ${issued.certPath}, ${issued.keyPath}\n`,
  );
}

async function revoke(args: string[], io: PkiContext): Promise<void> {
  const { values, positionals } = parse(args, { dir: { type: "string" } }, 1);
  const dir = requireDir(values);
  const name = requireOne(positionals, "NAME to revoke");
  const record = await revokeCertificate(dir, name, { now: io.now() });
  io.out(`Revoked "${name}" (serial ${record.serial}); CRL updated: ${dir}/crl.pem\n`);
}

async function list(args: string[], io: PkiContext): Promise<void> {
  const { values } = parse(args, { dir: { type: "string" }, json: { type: "boolean" } }, 0);
  const records = await listCertificates(requireDir(values));
  io.out(values.json ? JSON.stringify(records, null, 2) + "\n" : formatList(records, io.now()));
}

async function bundleProfile(args: string[], io: PkiContext): Promise<void> {
  const { values, positionals } = parse(args, {
    dir: { type: "string" },
    remote: { type: "string" },
    format: { type: "string" },
    proto: { type: "string" },
    "tls-crypt": { type: "string" },
    out: { type: "string" },
  }, 1);
  const dir = requireDir(values);
  const name = requireOne(positionals, "NAME to bundle");
  if (typeof values.remote !== "string") throw new UsageError("Missing --remote HOST:PORT");
  const outFile = values.out as string | undefined;
  const format = oneOf<BundleFormat>(values.format, "--format", ["yaml", "ovpn"]) ??
    (outFile?.endsWith(".ovpn") ? "ovpn" : "yaml");
  const proto = oneOf<BundleProto>(values.proto, "--proto", ["udp", "tcp"]);
  let text: string;
  try {
    text = await bundle(dir, name, {
      remote: values.remote,
      format,
      proto,
      tlsCryptKey: values["tls-crypt"] as string | undefined,
    });
  } catch (e) {
    if (e instanceof RangeError && /^Invalid remote/.test(e.message)) throw new UsageError(e.message);
    throw e;
  }
  if (outFile === undefined) {
    io.out(text);
  } else {
    // The bundle holds the client's private key: 0600, never over an existing file or symlink.
    await writeNewSecretFile(outFile, text);
    io.err(`Wrote ${format} bundle for "${name}" to ${outFile}\n`);
  }
}

async function crl(args: string[], io: PkiContext): Promise<void> {
  const { values } = parse(args, { dir: { type: "string" } }, 0);
  const dir = requireDir(values);
  await refreshCrl(dir, { now: io.now() });
  io.out(`Re-signed ${dir}/crl.pem\n`);
}

async function tlsCryptKey(args: string[], io: PkiContext): Promise<void> {
  const { positionals } = parse(args, {}, 1);
  const file = requireOne(positionals, "FILE for the tls-crypt key");
  await writeTlsCryptKey(file);
  io.out(`Wrote tls-crypt key ${file}\n`);
}

const COMMANDS = new Map<string, (args: string[], io: PkiContext) => Promise<void>>([
  ["init", init],
  ["issue", issue],
  ["revoke", revoke],
  ["list", list],
  ["bundle", bundleProfile],
  ["crl", crl],
  ["tls-crypt-key", tlsCryptKey],
]);

/** Runs `tsvpn pki ARGS` (ARGS without the leading "pki"); resolves to the exit code. */
export async function runPki(args: string[], io: PkiIo = {}): Promise<number> {
  const context: PkiContext = {
    out: io.out ?? writeStdout,
    err: io.err ?? writeStderr,
    now: io.now ?? (() => new Date()),
  };
  const [command, ...rest] = args;
  try {
    if (command === "help" || command === "--help" || command === "-h") {
      context.out(PKI_USAGE + "\n");
      return 0;
    }
    if (command === undefined) {
      throw new UsageError("Missing pki command (init, issue, revoke, list, bundle, crl, tls-crypt-key)");
    }
    const run = COMMANDS.get(command);
    if (!run) throw new UsageError(`Unknown pki command "${command}"`);
    await run(rest, context);
    return 0;
  } catch (e) {
    return reportCommandError("pki", e, context.err);
  }
}
