/**
 * The OpenVPN 2.6 management commands an existing tool drives a server with,
 * answered with OpenVPN's exact lines (checked against a stock openvpn 2.6.14
 * server; the line-by-line table is in docs/operations.md):
 *
 *   kill CN | kill IP:PORT, client-kill CID [MSG], bytecount N,
 *   state [on|off|all|N] [all], log on|off|all|N [all], hold [on|off|release],
 *   signal SIGHUP|SIGTERM|SIGUSR1|SIGUSR2, version N
 *
 * Real-time output (`>BYTECOUNT_CLI:`, `>LOG:`, `>STATE:`, `>HOLD:`) goes out
 * through the session's `SessionNotices`, between replies, never inside one.
 */
import { firstLine } from "../log/first_line.ts";
import type { ManagementEvents } from "./management_events.ts";
import type { SessionNotices } from "./management_notices.ts";
import type { ServerControl } from "./server_control.ts";

export const MANAGEMENT_SIGNALS = ["SIGHUP", "SIGTERM", "SIGUSR1", "SIGUSR2"] as const;
export type ManagementSignal = typeof MANAGEMENT_SIGNALS[number];

export interface OpenvpnCommandContext {
  control: ServerControl;
  /** The process's log and state history and hold gate; null when the caller has none. */
  events: ManagementEvents | null;
  /** This session's real-time switches and bytecount timer; null when the caller has none. */
  notices: SessionNotices | null;
  /** Acts on a signal as the process would on receiving it; null when nothing handles them. */
  signal: ((name: ManagementSignal) => void) | null;
}

export interface OpenvpnReply {
  lines: string[];
}

const KILL_REASON = "killed by the management interface";

function one(line: string): OpenvpnReply {
  return { lines: [line] };
}

function unsupported(command: string): OpenvpnReply {
  return one(`ERROR: The '${command}' command is not supported by the current daemon mode`);
}

/** What a held OpenVPN server cannot answer yet (it has no clients to show or kill): checked on 2.6.14. */
const NOT_WHILE_HELD = new Set(["status", "kill", "client-kill"]);

/** The refusal of `command` while the process waits for `hold release`, or null. */
export function heldRefusal(command: string, events: ManagementEvents | null): string | null {
  if (!events?.holding || !NOT_WHILE_HELD.has(command)) return null;
  return `ERROR: The '${command}' command is not supported by the current daemon mode`;
}

/** OpenVPN's atoi(): the leading digits (with a sign), 0 when there are none. */
export function atoi(text: string): number {
  const m = /^\s*([+-]?\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/**
 * `kill CN` or `kill IP:PORT` (OpenVPN splits at the first two colons; tsvpn
 * also takes `[IPv6]:PORT`, which OpenVPN cannot kill).
 */
async function kill(victim: string, control: ServerControl): Promise<OpenvpnReply> {
  const v6 = /^\[([0-9A-Fa-f:.]+)\]:(.*)$/.exec(victim);
  const [host, portText] = v6 ? [v6[1], v6[2]] : victim.split(":");
  if (portText === undefined || host === "" || portText === "") {
    const n = await control.kill(victim, KILL_REASON);
    return one(
      n > 0
        ? `SUCCESS: common name '${victim}' found, ${n} client(s) killed`
        : `ERROR: common name '${victim}' not found`,
    );
  }
  if (!v6 && !IPV4.test(host)) return one(`ERROR: error parsing IP address: ${host}`);
  const port = atoi(portText);
  if (port <= 0 || port > 65535) return one(`ERROR: port number is out of range: ${portText}`);
  const address = v6 ? `[${host}]:${port}` : `${host}:${port}`;
  const n = await control.killAddress(address, KILL_REASON);
  return one(
    n > 0
      ? `SUCCESS: ${n} client(s) at address ${address} killed`
      : `ERROR: client at address ${address} not found`,
  );
}

/** `client-kill CID [MSG]`: MSG (default RESTART) is the control message the client gets. */
async function clientKill(params: string[], control: ServerControl): Promise<OpenvpnReply> {
  if (params.length < 1) return one("ERROR: the 'client-kill' command requires at least 1 parameter");
  const m = /^\d+/.exec(params[0]);
  if (!m) return one("ERROR: cannot parse CID");
  const message = params.length > 1 ? unquote(params.slice(1).join(" ")) : null;
  // It goes to the client as a control message: printable ASCII only, as OpenVPN's own (RESTART, HALT).
  if (message !== null && !/^[\x20-\x7e]{1,256}$/.test(message)) {
    return one("ERROR: client-kill message must be 1 to 256 printable ASCII characters");
  }
  const ok = await control.killClientId(Number(m[0]), message, KILL_REASON);
  return one(ok ? "SUCCESS: client-kill command succeeded" : "ERROR: client-kill command failed");
}

/** Strips one pair of enclosing double or single quotes (OpenVPN's lexer). */
function unquote(text: string): string {
  const m = /^"(.*)"$|^'(.*)'$/.exec(text);
  return m ? (m[1] ?? m[2]) : text;
}

/** The history part of `log` and `state` (OpenVPN's man_history). */
function history(
  parm: string,
  type: "log" | "state",
  lines: (n?: number) => string[],
  setRealtime: (on: boolean) => void,
): string[] {
  if (parm === "on" || parm === "off") {
    setRealtime(parm === "on");
    return [`SUCCESS: real-time ${type} notification set to ${parm.toUpperCase()}`];
  }
  const n = atoi(parm);
  if (parm === "all" || n > 0) return [...lines(parm === "all" ? undefined : n), "END"];
  return [`ERROR: ${type} parameter must be 'on' or 'off' or some number n or 'all'`];
}

function logOrState(command: "log" | "state", params: string[], ctx: OpenvpnCommandContext): OpenvpnReply {
  const { events, notices } = ctx;
  if (params.length === 0 && command === "log") {
    return one("ERROR: the 'log' command requires at least 1 parameter");
  }
  if (!events || !notices) return unsupported(command);
  if (params.length === 0) params = ["1"];
  const ring = command === "log" ? events.log : events.state;
  const setRealtime = (on: boolean) => {
    if (command === "log") notices.logRealtime = on;
    else notices.stateRealtime = on;
  };
  const lines = history(params[0], command, (n) => ring.latest(n), setRealtime);
  if (params.length > 1) lines.push(...history(params[1], command, (n) => ring.latest(n), setRealtime));
  return { lines };
}

function hold(params: string[], events: ManagementEvents | null): OpenvpnReply {
  if (!events) return unsupported("hold");
  const cmd = params[0];
  if (cmd === undefined) return one(`SUCCESS: hold=${events.holdFlag ? 1 : 0}`);
  if (cmd === "on" || cmd === "off") {
    events.holdFlag = cmd === "on";
    return one(`SUCCESS: hold flag set to ${cmd.toUpperCase()}`);
  }
  if (cmd === "release") {
    events.release();
    return one("SUCCESS: hold release succeeded");
  }
  return one("ERROR: bad hold command parameter");
}

function signal(params: string[], ctx: OpenvpnCommandContext): OpenvpnReply {
  if (params.length < 1) return one("ERROR: the 'signal' command requires 1 parameter");
  if (!ctx.signal) return unsupported("signal");
  const name = params[0];
  if (!(MANAGEMENT_SIGNALS as readonly string[]).includes(name)) {
    return one(`ERROR: signal '${name}' is not a known signal type`);
  }
  ctx.signal(name as ManagementSignal);
  return one(`SUCCESS: signal ${name} thrown`);
}

function bytecount(params: string[], notices: SessionNotices | null): OpenvpnReply {
  if (params.length < 1) return one("ERROR: the 'bytecount' command requires 1 parameter");
  if (!notices) return unsupported("bytecount");
  notices.setBytecount(atoi(params[0]));
  return one("SUCCESS: bytecount interval changed");
}

/**
 * Runs one of the commands above (`command` lower-cased); null when it is not
 * one of them. Never throws: a failing server becomes an "ERROR: …" line.
 */
export async function executeOpenvpnCommand(
  command: string,
  params: string[],
  ctx: OpenvpnCommandContext,
): Promise<OpenvpnReply | null> {
  try {
    switch (command) {
      case "kill":
        if (params.length < 1) return one("ERROR: the 'kill' command requires 1 parameter");
        return await kill(params[0], ctx.control);
      case "client-kill":
        return await clientKill(params, ctx.control);
      case "bytecount":
        return bytecount(params, ctx.notices);
      case "log":
      case "state":
        return logOrState(command, params, ctx);
      case "hold":
        return hold(params, ctx.events);
      case "signal":
        return signal(params, ctx);
      case "version":
        // `version N` sets the client's management version: OpenVPN answers nothing.
        return params.length > 0 ? { lines: [] } : null;
      default:
        return null;
    }
  } catch (err) {
    return one(`ERROR: ${command} failed: ${firstLine(err)}`);
  }
}
