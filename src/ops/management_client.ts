/**
 * One request to a management interface (tsvpn's or OpenVPN's): connect,
 * check the greeting, send one command, collect its reply, say quit.
 * Used by `tsvpn status` and `tsvpn client revoke`.
 */
import { formatManagementAddress, parseManagementAddress } from "./listen_address.ts";
import { LineReader } from "./line_reader.ts";

export interface ManagementRequestOptions {
  /** Whole request, connect to last line. @default 5000 */
  timeoutMs?: number;
  /** Longest reply line accepted (`status json` is one line). @default 64 MiB */
  maxLineBytes?: number;
}

/** The interface could not be reached or did not answer; the message is one line for the user. */
export class ManagementUnreachableError extends Error {
  override name = "ManagementUnreachableError";
}

const encoder = new TextEncoder();

function describe(err: unknown): string {
  if (err instanceof Deno.errors.ConnectionRefused) return "connection refused (is the server running?)";
  if (err instanceof Deno.errors.NotFound) return "no such socket (is the server running?)";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (err instanceof Deno.errors.TimedOut) return "timed out";
  return (err instanceof Error ? err.message : String(err)).split("\n")[0];
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
  const where = formatManagementAddress(addr);
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
    new ManagementUnreachableError(`Cannot reach the management interface at ${where}: ${what}`);
  try {
    try {
      conn = addr.kind === "tcp"
        ? await Deno.connect({ transport: "tcp", hostname: addr.host, port: addr.port })
        : await Deno.connect({ transport: "unix", path: addr.path });
    } catch (e) {
      throw fail(timedOut ? `no answer within ${timeoutMs} ms` : describe(e));
    }
    if (timedOut) {
      conn.close();
      throw fail(`no answer within ${timeoutMs} ms`);
    }
    const reader = new LineReader(conn, { maxLineBytes: options.maxLineBytes ?? 64 << 20 });
    const next = async (): Promise<string> => {
      let line: string | null;
      try {
        line = await reader.readLine();
      } catch (e) {
        throw fail(timedOut ? `no answer within ${timeoutMs} ms` : describe(e));
      }
      if (line === null) {
        throw fail(
          timedOut ? `no answer within ${timeoutMs} ms` : "the connection closed before the reply ended",
        );
      }
      return line;
    };
    const greeting = await next();
    if (!greeting.startsWith(">INFO:")) {
      throw fail(`not a management interface (it said "${greeting.slice(0, 60)}")`);
    }
    try {
      await conn.write(encoder.encode(command + "\r\n"));
    } catch (e) {
      throw fail(describe(e));
    }
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
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch {
      // Closed by the timeout.
    }
  }
}
