/**
 * What the commands share: the usage error they exit 2 on, their output
 * streams, flag checks, and the one-line error tail of `tsvpn pki` and
 * `tsvpn client`.
 */

import { firstLine } from "../log/first_line.ts";

/** A command line the command cannot run: exit code 2 and a pointer to its help. */
export class UsageError extends Error {
  override name = "UsageError";
}

const encoder = new TextEncoder();

/** Writes all of `text` (a blocking stream may take it in parts). */
export function writeAll(file: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
}

/** The commands' default output (already newline-terminated text). */
export function writeStdout(text: string): void {
  writeAll(Deno.stdout, text);
}

/** The commands' default error output (already newline-terminated lines). */
export function writeStderr(text: string): void {
  writeAll(Deno.stderr, text);
}

/** The first line of an error's message (the commands' one-line errors). */
export { firstLine };

/** A flag's value from `allowed`, undefined when absent; a UsageError names the flag otherwise. */
export function oneOf<T extends string>(value: unknown, flag: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T)) {
    throw new UsageError(`Invalid ${flag} "${value}": expected ${allowed.join(" or ")}`);
  }
  return value as T;
}

/**
 * Reports what stopped `tsvpn COMMAND` on one line and returns the exit code:
 * 2 with a pointer to the command's help for a UsageError, else 1.
 */
export function reportCommandError(command: string, e: unknown, err: (text: string) => void): number {
  if (e instanceof UsageError) {
    err(`tsvpn ${command}: ${e.message} (see tsvpn ${command} help)\n`);
    return 2;
  }
  err(`tsvpn ${command}: ${firstLine(e)}\n`);
  return 1;
}
