/**
 * The client's username and password (OpenVPN's `auth-user-pass FILE`; config `auth.user_pass_file`):
 * the file's first line is the username, the second the password. They go in every key-method 2
 * message; once the server pushes `auth-token`, the token replaces the password (renegotiations and
 * reconnects), until an AUTH_FAILED clears it and the password is used again, as OpenVPN does.
 * Neither the password nor the token is ever logged.
 */

import type { UserPass } from "../control/session.ts";
import type { Logger } from "../log/log.ts";

/** OpenVPN's USER_PASS_LEN: longer names or passwords are refused. */
export const MAX_USER_PASS_BYTES = 4096;

/** Reads "username\npassword" text; throws a one-line error naming `file`. */
export function parseUserPassFile(text: string, file: string): UserPass {
  const lines = text.split(/\r?\n/);
  const username = lines[0] ?? "";
  const password = lines[1] ?? "";
  if (username === "") throw new Error(`${file}: expected a username on the first line`);
  if (lines.length < 2) throw new Error(`${file}: expected a password on the second line`);
  if (new TextEncoder().encode(username + password).length > MAX_USER_PASS_BYTES) {
    throw new Error(`${file}: username and password are longer than ${MAX_USER_PASS_BYTES} bytes`);
  }
  // deno-lint-ignore no-control-regex
  if (/[\x00]/.test(username + password)) {
    throw new Error(`${file}: username or password contains a NUL byte`);
  }
  return { username, password };
}

export class UserPassSource {
  readonly #creds: UserPass;
  #token: string | null = null;

  constructor(creds: UserPass) {
    this.#creds = creds;
  }

  /** The source for a config's `auth` (null without one). */
  static forConfig(auth: { userPassFile: string } | null): Promise<UserPassSource | null> {
    return auth ? UserPassSource.fromFile(auth.userPassFile) : Promise.resolve(null);
  }

  static async fromFile(file: string): Promise<UserPassSource> {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      throw new Error(`Cannot read auth.user_pass_file ${file}: ${(e as Error).message.split("\n")[0]}`);
    }
    return new UserPassSource(parseUserPassFile(text, file));
  }

  /** What the next key-method 2 carries. */
  current(): UserPass {
    return { username: this.#creds.username, password: this.#token ?? this.#creds.password };
  }

  get hasToken(): boolean {
    return this.#token !== null;
  }

  /** The server pushed `auth-token TOKEN` (first push or a renewal); true for the first one. */
  tokenReceived(token: string): boolean {
    const first = this.#token === null;
    if (token !== "") this.#token = token;
    return first && token !== "";
  }

  /**
   * The server sent AUTH_FAILED (`reason`), as OpenVPN without auth-retry goes on: a refused token is
   * dropped and the password sent at once ("retry"); a refused password ends the run ("exit"), unless
   * the refusal is AUTH_FAILED,TEMP (the usual backoff: null).
   */
  authFailed(reason: string, log: Logger): "retry" | "exit" | null {
    if (this.clearToken()) {
      log.warn(`${reason}; auth-token dropped, reconnecting with the password`);
      return "retry";
    }
    if (/\bTEMP\b/.test(reason)) return null;
    log.error(`${reason}; exiting (check auth.user_pass_file)`);
    return "exit";
  }

  /** Forgets the token; true when there was one (then the client reconnects with its password). */
  clearToken(): boolean {
    const had = this.#token !== null;
    this.#token = null;
    return had;
  }
}
