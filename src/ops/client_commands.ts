/**
 * The client's management commands, in a stock openvpn 2.6 client's formats
 * (checked against one: `state` lines `TIME,CONNECTED,SUCCESS,TUN_IP,
 * REMOTE_IP,REMOTE_PORT,,` ending with END, and the same "OpenVPN
 * STATISTICS" block for `status`, `status 2` and `status 3`), plus `status
 * json` for `tsvpn status --json`.
 */

import type { ClientControl, ClientSignal } from "./client_control.ts";
import type { CommandReply } from "./management_commands.ts";
import { versionReply } from "./management_commands.ts";
import { formatStatusTime } from "./status_format.ts";

export interface ClientCommandContext {
  control: ClientControl;
  version: string;
  pid: number;
  now?: () => number;
}

const HELP = [
  "Commands:",
  "exit|quit              : Close management session.",
  "help                   : Print this message.",
  "load-stats             : Show global load stats (bytes in and out).",
  "pid                    : Show process ID of the current tsvpn process.",
  "signal s               : Send signal s to the client,",
  "                         s = SIGHUP|SIGTERM|SIGUSR1|SIGUSR2.",
  "state [N|all]          : Show the current state, or the last N / all states.",
  "status [n|json]        : Show current client status info (n = 1, 2 or 3), json for one line of JSON.",
  "version                : Show current version number.",
  "END",
];

const SIGNALS: readonly ClientSignal[] = ["SIGHUP", "SIGTERM", "SIGUSR1", "SIGUSR2"];

function one(line: string, close = false): CommandReply {
  return { lines: [line], close };
}

/** Runs one command line; null for an empty one. Never throws. */
export function executeClientCommand(line: string, ctx: ClientCommandContext): CommandReply | null {
  const words = line.trim().split(/\s+/).filter((w) => w !== "");
  if (words.length === 0) return null;
  const [command, ...params] = words;
  switch (command.toLowerCase()) {
    case "help":
      return { lines: [`Management Interface for tsvpn ${ctx.version} (client)`, ...HELP], close: false };
    case "version":
      return versionReply(ctx.version);
    case "pid":
      return one(`SUCCESS: pid=${ctx.pid}`);
    case "load-stats": {
      const s = ctx.control.snapshot();
      return one(`SUCCESS: nclients=0,bytesin=${s.linkReadBytes},bytesout=${s.linkWriteBytes}`);
    }
    case "state":
      return state(params, ctx.control);
    case "status":
      return status(params[0] ?? "", ctx);
    case "signal":
      return signal(params, ctx.control);
    case "exit":
    case "quit":
      return { lines: [], close: true };
    default:
      return one("ERROR: unknown command, enter 'help' for more options");
  }
}

function state(params: string[], control: ClientControl): CommandReply {
  const arg = params[0];
  if (arg === undefined) return { lines: [...control.stateLines(1), "END"], close: false };
  if (arg === "all") return { lines: [...control.stateLines(), "END"], close: false };
  if (/^\d+$/.test(arg)) return { lines: [...control.stateLines(Number(arg)), "END"], close: false };
  return one("ERROR: state parameter must be a number or 'all'");
}

function status(format: string, ctx: ClientCommandContext): CommandReply {
  const s = ctx.control.snapshot();
  if (format === "json") return { lines: [JSON.stringify(s), "END"], close: false };
  if (format !== "" && format !== "1" && format !== "2" && format !== "3") {
    return one("ERROR: bad status format version number");
  }
  const now = Math.floor((ctx.now ?? Date.now)() / 1000);
  return {
    lines: [
      "OpenVPN STATISTICS",
      `Updated,${formatStatusTime(now)}`,
      `TUN/TAP read bytes,${s.tunReadBytes}`,
      `TUN/TAP write bytes,${s.tunWriteBytes}`,
      `TCP/UDP read bytes,${s.linkReadBytes}`,
      `TCP/UDP write bytes,${s.linkWriteBytes}`,
      "Auth read bytes,0",
      "END",
    ],
    close: false,
  };
}

function signal(params: string[], control: ClientControl): CommandReply {
  const name = (params[0] ?? "").toUpperCase() as ClientSignal;
  if (params.length !== 1 || !SIGNALS.includes(name)) {
    return one("ERROR: signal must be one of SIGHUP, SIGTERM, SIGUSR1, SIGUSR2");
  }
  control.signal(name);
  return one(`SUCCESS: signal ${name} thrown`);
}
