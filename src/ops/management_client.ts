/**
 * One request to a management interface (tsvpn's or OpenVPN's): connect,
 * answer the password prompt when there is one, check the greeting, send one
 * command, collect its reply, say quit. Used by `tsvpn status` and
 * `tsvpn client revoke`.
 */
import { formatManagementAddress, type ManagementAddress, parseManagementAddress } from "./listen_address.ts";
import { type ByteSource, LineReader } from "./line_reader.ts";
import { PASSWORD_OK, PASSWORD_PROMPT } from "./management_guard.ts";
import { firstLine } from "../log/first_line.ts";

export interface ManagementRequestOptions {
  /** Whole request, connect to last line. @default 5000 */
  timeoutMs?: number;
  /** Longest reply line accepted (`status json` is one line). @default 64 MiB */
  maxLineBytes?: number;
  /** Sent when the interface asks for one (OpenVPN's `ENTER PASSWORD:`); null = none. */
  password?: string | null;
}

/** The interface could not be reached or did not answer; the message is one line for the user. */
export class ManagementUnreachableError extends Error {
  override name = "ManagementUnreachableError";
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function describe(err: unknown): string {
  if (err instanceof Deno.errors.ConnectionRefused) return "connection refused (is the server running?)";
  if (err instanceof Deno.errors.NotFound) return "no such socket (is the server running?)";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.TimedOut) return "timed out";
  return firstLine(err);
}

/** Replays bytes already read before reading on. */
class PrefixedSource implements ByteSource {
  #prefix: Uint8Array;
  readonly #src: ByteSource;

  constructor(prefix: Uint8Array, src: ByteSource) {
    this.#prefix = prefix;
    this.#src = src;
  }

  read(p: Uint8Array): Promise<number | null> {
    if (this.#prefix.length === 0) return this.#src.read(p);
    const n = Math.min(p.length, this.#prefix.length);
    p.set(this.#prefix.subarray(0, n));
    this.#prefix = this.#prefix.subarray(n);
    return Promise.resolve(n);
  }
}

/**
 * Reads until the opening is recognisable: the password prompt (which ends
 * in no newline) or a first line. Returns whether it was the prompt and a
 * source that yields everything after it.
 */
async function readOpening(conn: ByteSource): Promise<{ prompt: boolean; rest: ByteSource }> {
  const buf = new Uint8Array(256);
  let len = 0;
  while (len < PASSWORD_PROMPT.length && !buf.subarray(0, len).includes(10)) {
    const n = await conn.read(buf.subarray(len));
    if (n === null) break;
    len += n;
  }
  const prompt = decoder.decode(buf.subarray(0, Math.min(len, PASSWORD_PROMPT.length))) === PASSWORD_PROMPT;
  return { prompt, rest: new PrefixedSource(buf.slice(prompt ? PASSWORD_PROMPT.length : 0, len), conn) };
}

function connect(addr: ManagementAddress): Promise<Deno.Conn> {
  return addr.kind === "tcp"
    ? Deno.connect({ transport: "tcp", hostname: addr.host, port: addr.port })
    : Deno.connect({ transport: "unix", path: addr.path });
}

/**
 * Sends `command` and resolves with its reply lines: one "SUCCESS: …"/"ERROR: …"
 * line, or the lines of a multi-line reply without the closing "END".
 * Asynchronous ">…" notifications are skipped.
 */
export async function managementRequest(
  address: string,
  command: string,
  options: ManagementRequestOptions = {},
): Promise<string[]> {
  const addr = parseManagementAddress(address);
  const timeoutMs = options.timeoutMs ?? 5000;
  let timedOut = false;
  let conn: Deno.Conn | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      conn?.close();
    } catch {
      // Closed already.
    }
  }, timeoutMs);
  const fail = (what: string) =>
    new ManagementUnreachableError(
      `Cannot reach the management interface at ${formatManagementAddress(addr)}: ${
        timedOut ? `no answer within ${timeoutMs} ms` : what
      }`,
    );
  try {
    try {
      conn = await connect(addr);
    } catch (e) {
      throw fail(describe(e));
    }
    if (timedOut) {
      conn.close();
      throw fail("");
    }
    return await converse(conn, command, options, fail);
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch {
      // Closed by the timeout.
    }
  }
}

async function readOpeningOr(
  source: ByteSource,
  fail: (what: string) => ManagementUnreachableError,
): Promise<{ prompt: boolean; rest: ByteSource }> {
  try {
    return await readOpening(source);
  } catch (e) {
    throw fail(describe(e));
  }
}

async function converse(
  conn: Deno.Conn,
  command: string,
  options: ManagementRequestOptions,
  fail: (what: string) => ManagementUnreachableError,
): Promise<string[]> {
  const send = async (line: string) => {
    try {
      await conn.write(encoder.encode(line + "\r\n"));
    } catch (e) {
      throw fail(describe(e));
    }
  };
  const opening = await readOpeningOr(conn, fail);
  let source = opening.rest;
  if (opening.prompt) {
    const password = options.password ?? null;
    if (password === null) throw fail("it asks for a password and none was given");
    await send(password);
    // OpenVPN answers a wrong password with the prompt again (no newline), a right one with a line.
    const answer = await readOpeningOr(source, fail);
    if (answer.prompt) throw fail(`it refused the password (it asked again)`);
    source = answer.rest;
  }
  const reader = new LineReader(source, { maxLineBytes: options.maxLineBytes ?? 64 << 20 });
  const next = async (): Promise<string> => {
    let line: string | null;
    try {
      line = await reader.readLine();
    } catch (e) {
      throw fail(describe(e));
    }
    if (line === null) throw fail("the connection closed before the reply ended");
    return line;
  };
  if (opening.prompt) {
    const answer = await next().catch(() => "the connection closed");
    if (answer !== PASSWORD_OK) throw fail(`it refused the password ("${answer.slice(0, 60)}")`);
  }
  const greeting = await next();
  if (!greeting.startsWith(">INFO:")) {
    throw fail(`not a management interface (it said "${greeting.slice(0, 60)}")`);
  }
  await send(command);
  const lines: string[] = [];
  while (true) {
    const line = await next();
    if (line.startsWith(">")) continue;
    if (lines.length === 0 && (line.startsWith("SUCCESS:") || line.startsWith("ERROR:"))) {
      lines.push(line);
      break;
    }
    if (line === "END") break;
    lines.push(line);
  }
  await conn.write(encoder.encode("quit\r\n")).catch(() => {});
  return lines;
}
