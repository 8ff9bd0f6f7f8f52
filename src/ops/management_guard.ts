/**
 * What stands between a connection and the management commands:
 *
 * - a password (OpenVPN's `management IP PORT pw-file`): the file's first
 *   line; the server prompts `ENTER PASSWORD:` (no newline, as OpenVPN does),
 *   compares in constant time, and answers `SUCCESS: password is correct`
 *   or, after a delay, the prompt again; the third wrong password closes the
 *   session with no reply, as stock OpenVPN 2.6 does (checked against
 *   openvpn 2.6.14). The delay, and at most maxSessions connections, keep a
 *   local guesser to a few tries a second;
 * - HTTP detection: a browser can be made to POST to 127.0.0.1:PORT from any
 *   web page, and the body's lines would otherwise be commands. A line that
 *   looks like an HTTP request line or header ends the session before
 *   anything runs, whatever came before it.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { firstLine } from "../log/first_line.ts";

export const PASSWORD_PROMPT = "ENTER PASSWORD:";
export const PASSWORD_OK = "SUCCESS: password is correct";
/** Wrong passwords a session may send before it is closed (OpenVPN's MANAGEMENT_N_PASSWORD_RETRIES). */
export const PASSWORD_TRIES = 3;

/** METHOD SP request-target SP HTTP/x[.y] — any method, so WebDAV's and unknown ones count too. */
const REQUEST_LINE = /^[A-Za-z_-]+[ \t]+\S+[ \t]+HTTP\/\d(\.\d)?[ \t]*$/i;
/** An HTTP/1 header: a token immediately followed by a colon ("Host: …", "Content-Type:…"). */
const HEADER_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+:/;

/** True when `line` is an HTTP request line (no management command has that shape). */
export function isHttpRequestLine(line: string): boolean {
  return REQUEST_LINE.test(line);
}

/** True when `line` is an HTTP request line or header; no management command looks like either. */
export function looksLikeHttp(line: string): boolean {
  return REQUEST_LINE.test(line) || HEADER_LINE.test(line);
}

export interface PasswordFile {
  password: string;
  /** Set when group or others may read the file (OpenVPN warns too). */
  warning: string | null;
}

/** Reads a password file (its first line); one-line errors for a missing, unreadable or empty file. */
export async function readPasswordFile(path: string): Promise<PasswordFile> {
  let text: string;
  let mode: number | null;
  try {
    text = await Deno.readTextFile(path);
    mode = (await Deno.stat(path)).mode;
  } catch (e) {
    throw new Error(`Cannot read management password file ${path}: ${firstLine(e)}`);
  }
  const password = text.split("\n")[0].replace(/\r$/, "");
  if (password === "") throw new Error(`Management password file ${path} has an empty first line`);
  const warning = mode !== null && (mode & 0o077) !== 0
    ? `management password file ${path} is readable by group or others (mode ${
      (mode & 0o777).toString(8)
    }); chmod 600 it`
    : null;
  return { password, warning };
}

/** Constant-time comparison (both sides hashed first, so lengths leak nothing either). */
export function passwordMatches(given: string, expected: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();
  return timingSafeEqual(digest(given), digest(expected));
}
