/**
 * Top-level command line: which command runs, with which options. Subcommands
 * (`pki`, `import`, `client`, `status`) parse their own flags; this module only
 * splits them off so each command owns its grammar.
 */
import { parseArgs } from "node:util";
import type { LogLevel } from "../log/log.ts";
import { UsageError } from "./command_io.ts";

export type Command =
  | { kind: "help" }
  | { kind: "version" }
  | { kind: "server"; config?: string; stateDir: string; logLevel?: LogLevel }
  | { kind: "client"; config: string; logLevel?: LogLevel }
  | { kind: "sub"; name: "pki" | "import" | "client" | "status"; args: string[] };

export const DEFAULT_STATE_DIR = "/var/lib/tsvpn";

const SUBCOMMANDS = new Set(["pki", "import", "client", "status"]);

export const USAGE = `tsvpn — an OpenVPN-compatible VPN server and client

Usage:
  tsvpn --server [--config FILE] [--state-dir DIR] [-v|-q]
  tsvpn --client --config FILE [-v|-q]          FILE: tsvpn YAML or an OpenVPN .ovpn profile
  tsvpn pki init|issue|revoke|list|bundle|tls-crypt-key …
  tsvpn client add NAME [--remote HOST:PORT] [--format ovpn|yaml] [--state-dir DIR]
  tsvpn client revoke NAME [--state-dir DIR]
  tsvpn client cleanup [--config FILE | --state-dir DIR]   undo what a killed client left on the host
  tsvpn status [--management ADDR | --config FILE | --state-dir DIR] [--password-file FILE] [--json]
  tsvpn import openvpn server.conf [--ccd DIR]
  tsvpn --help | --version

Options:
  --server            run the VPN server (no --config: zero-config start in --state-dir)
  --client            run the VPN client
  --config FILE       configuration file
  --state-dir DIR     where the zero-config server keeps its PKI and config (default ${DEFAULT_STATE_DIR})
  -v, --verbose       log debug messages
  -q, --quiet         log only warnings and errors
  -h, --help          show this help
  --version           print the version

Examples:
  tsvpn --server                                   first start: creates CA, keys and server.yaml, then serves
  tsvpn client add alice --remote vpn.example.com:1194 > alice.ovpn
  tsvpn --server --config /etc/tsvpn/server.yaml
  tsvpn --client --config alice.yaml
  tsvpn pki init --dir pki && tsvpn pki issue --dir pki --server server --san vpn.example.com
  tsvpn status --json`;

/** Parses argv (without the program name). Throws UsageError with a one-line message. */
export function parseCommandLine(argv: string[]): Command {
  if (argv.length > 0 && SUBCOMMANDS.has(argv[0])) {
    return { kind: "sub", name: argv[0] as "pki" | "import" | "client" | "status", args: argv.slice(1) };
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        server: { type: "boolean" },
        client: { type: "boolean" },
        config: { type: "string" },
        "state-dir": { type: "string" },
        verbose: { type: "boolean", short: "v" },
        quiet: { type: "boolean", short: "q" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
    });
  } catch (err) {
    throw new UsageError(oneLine(err));
  }
  const v = parsed.values;
  if (v.help) return { kind: "help" };
  if (v.version) return { kind: "version" };
  if (v.verbose && v.quiet) throw new UsageError("-v and -q cannot be combined");
  const logLevel: LogLevel | undefined = v.verbose ? "debug" : v.quiet ? "warn" : undefined;
  if (v.server && v.client) throw new UsageError("--server and --client cannot be combined");
  if (v.server) {
    return { kind: "server", config: v.config, stateDir: v["state-dir"] ?? DEFAULT_STATE_DIR, logLevel };
  }
  if (v.client) {
    if (!v.config) throw new UsageError("--client needs --config FILE");
    if (v["state-dir"]) throw new UsageError("--state-dir applies to --server only");
    return { kind: "client", config: v.config, logLevel };
  }
  if (argv.length === 0) return { kind: "help" };
  throw new UsageError("nothing to do: give --server, --client or a command (see --help)");
}

function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  // node:util's messages carry a hint after a newline or a sentence; keep the first line.
  return msg.split("\n")[0].replace(/\.$/, "");
}
