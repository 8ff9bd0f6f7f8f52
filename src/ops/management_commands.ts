/**
 * The management command set, socket-free: one input line → the reply lines.
 * OpenVPN's conventions: one-line replies start with "SUCCESS: " or
 * "ERROR: "; multi-line replies end with "END"; notifications start with ">".
 */
import type { ServerControl } from "./server_control.ts";
import { formatStatus } from "./status_format.ts";
import { formatStatusTable } from "./status_table.ts";
import { firstLine } from "../log/first_line.ts";
import { executeOpenvpnCommand, heldRefusal, type OpenvpnCommandContext } from "./management_openvpn.ts";
import type { Logger } from "../log/log.ts";
import { LOG_COMMAND_HELP, logCommand } from "./log_command.ts";
import { RELOAD_HELP, reloadCommand } from "./management_reload.ts";

/** OpenVPN 2.6 speaks management version 5; clients gate features on it. */
export const MANAGEMENT_VERSION = 5;

/** OpenVPN's exact greeting: clients match it to detect the interface (`version` says tsvpn). */
export const MANAGEMENT_GREETING =
  `>INFO:OpenVPN Management Interface Version ${MANAGEMENT_VERSION} -- type 'help' for more info`;

/** `version`: the product, then the management protocol version OpenVPN's tools check. */
export function versionReply(version: string): CommandReply {
  return {
    lines: [
      `OpenVPN Version: tsvpn ${version} [OpenVPN 2.6 compatible]`,
      `Management Version: ${MANAGEMENT_VERSION}`,
      "END",
    ],
    close: false,
  };
}

export interface CommandReply {
  lines: string[];
  /** The session ends after the reply (quit/exit). */
  close: boolean;
}

export interface CommandContext extends Partial<Omit<OpenvpnCommandContext, "control">> {
  control: ServerControl;
  /** tsvpn release for `version` and `help`. */
  version: string;
  pid: number;
  /** The process' logger, for `log level` (log_command.ts). */
  log?: Logger;
}

const HELP = [
  "Commands:",
  "bytecount n            : Show bytes in/out, update every n secs (0=off).",
  "client-kill CID [M]    : Kill client instance CID with message M (def=RESTART)",
  "exit|quit              : Close management session.",
  "help                   : Print this message.",
  "hold [on|off|release]  : Set/show hold flag to on/off state, or",
  "                         release current hold and start tunnel.",
  "kill cn                : Kill the client instance(s) having common name cn.",
  "kill IP:port           : Kill the client instance connecting from IP:port.",
  "load-stats             : Show global server load stats.",
  "log [on|off] [N|all]   : Turn on/off realtime log display",
  "                         + show last N lines or 'all' for entire history.",
  LOG_COMMAND_HELP,
  "pid                    : Show process ID of the current tsvpn process.",
  RELOAD_HELP,
  "reload-crl             : Re-read the CRL and disconnect clients whose certificate is revoked.",
  "signal s               : Send signal s to daemon,",
  "                         s = SIGHUP|SIGTERM|SIGUSR1|SIGUSR2.",
  "state [on|off] [N|all] : Like log, but show state history.",
  "status [n|json|table]  : Show current daemon status info using format #n (1, 2 or 3;",
  "                         default 1), json for one line of JSON, table for people.",
  "version [n]            : Set client's version to n or show current version of daemon.",
  "END",
];

const UNKNOWN = "ERROR: unknown command, enter 'help' for more options";

function one(line: string, close = false): CommandReply {
  return { lines: [line], close };
}

/** Runs one command line; never throws (failures of the server become "ERROR: …" replies). */
export async function executeCommand(line: string, ctx: CommandContext): Promise<CommandReply | null> {
  const words = line.trim().split(/\s+/).filter((w) => w !== "");
  if (words.length === 0) return null;
  const [command, ...params] = words;
  const held = heldRefusal(command.toLowerCase(), ctx.events ?? null);
  if (held !== null) return one(held);
  switch (command.toLowerCase()) {
    case "help":
      return { lines: [`Management Interface for tsvpn ${ctx.version}`, ...HELP], close: false };
    case "version":
      if (params.length > 0) break;
      return versionReply(ctx.version);
    case "pid":
      return one(`SUCCESS: pid=${ctx.pid}`);
    case "load-stats": {
      const s = ctx.control.snapshot();
      let bytesIn = 0, bytesOut = 0;
      for (const c of s.clients) {
        bytesIn += c.bytesIn;
        bytesOut += c.bytesOut;
      }
      return one(`SUCCESS: nclients=${s.clients.length},bytesin=${bytesIn},bytesout=${bytesOut}`);
    }
    case "status": {
      // Bare `status` is OpenVPN's default, status-version 1, which its tools parse.
      const format = params[0] ?? "1";
      const s = ctx.control.snapshot();
      if (format === "table") return { lines: [...formatStatusTable(s), "END"], close: false };
      if (format === "json") return { lines: [JSON.stringify(s), "END"], close: false };
      if (format === "1" || format === "2" || format === "3") {
        return { lines: formatStatus(s, Number(format) as 1 | 2 | 3), close: false };
      }
      return one("ERROR: bad status format version number");
    }
    case "reload-crl": {
      try {
        const n = await ctx.control.reloadCrl();
        return one(`SUCCESS: CRL reloaded, ${n} client(s) disconnected`);
      } catch (err) {
        return one(`ERROR: reload-crl failed: ${firstLine(err)}`);
      }
    }
    case "log":
      // `log level [lvl]` is tsvpn's; OpenVPN's `log on|off|all|N` is below.
      if (params[0] === "level") return one(logCommand(params, ctx.log));
      break;
    case "reload":
      return one(await reloadCommand(ctx.control));
    case "quit":
    case "exit":
      return { lines: [], close: true };
  }
  const reply = await executeOpenvpnCommand(command.toLowerCase(), params, {
    control: ctx.control,
    events: ctx.events ?? null,
    notices: ctx.notices ?? null,
    signal: ctx.signal ?? null,
  });
  return reply ? { lines: reply.lines, close: false } : one(UNKNOWN);
}
