/**
 * The management command `log level [error|warn|info|debug]`: shows or sets
 * the process' log level, live (every logger shares its root's level). Only
 * this form of OpenVPN's `log` command is supported.
 */

import { LOG_LEVELS, type Logger, type LogLevel } from "../log/log.ts";

export const LOG_COMMAND_HELP =
  "log level [lvl]         : Show or set the log level (error, warn, info, debug).";

/** The reply line to `log <params>`. */
export function logCommand(params: string[], log: Logger | undefined): string {
  if (params[0] !== "level" || params.length > 2) {
    return "ERROR: only 'log level [error|warn|info|debug]' is supported";
  }
  if (!log) return "ERROR: this interface cannot change the log level";
  if (params.length === 1) return `SUCCESS: log level=${log.level}`;
  const level = params[1].toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    return `ERROR: unknown log level '${params[1]}' (error, warn, info, debug)`;
  }
  const before = log.level;
  log.level = level as LogLevel;
  log.warn("log level changed through the management interface", { from: before, to: level });
  return `SUCCESS: log level=${level}`;
}
