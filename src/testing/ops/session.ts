/**
 * A management session client for tests: connects to a running interface
 * (TCP "host:port" or a unix socket path), reads every line the server writes
 * into a queue as it arrives (so a test can also check that nothing more
 * came), sends raw command lines, and takes lines with bounded waits.
 */
import { LineReader } from "../../ops/line_reader.ts";
import { until, within } from "../wait.ts";

const encoder = new TextEncoder();

export interface TestSession {
  greeting: string;
  send(line: string): Promise<void>;
  /** The next line (CR removed), waiting at most `timeoutMs`; null when the server closed. */
  line(timeoutMs?: number): Promise<string | null>;
  /** Lines up to and including the first that `done` accepts. */
  until(done: (line: string) => boolean, timeoutMs?: number): Promise<string[]>;
  /** Lines received and not yet taken. */
  readonly buffered: number;
  close(): void;
}

/** Reads raw bytes until the password prompt (it has no line end), then sends `password`. */
async function answerPrompt(conn: Deno.Conn, password: string): Promise<void> {
  const buf = new Uint8Array(64);
  let text = "";
  while (!text.includes("ENTER PASSWORD:")) {
    const n = await conn.read(buf);
    if (n === null) throw new Error(`closed before the password prompt, after ${JSON.stringify(text)}`);
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  await writeAll(conn, `${password}\r\n`);
}

async function writeAll(conn: Deno.Conn, text: string): Promise<void> {
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/**
 * Opens a session; with `password` it answers the prompt first, and the
 * first line (`greeting`) is then the password verdict.
 */
export async function openTestSession(address: string, password?: string): Promise<TestSession> {
  const conn = address.startsWith("/")
    ? await Deno.connect({ transport: "unix", path: address })
    : await Deno.connect({
      hostname: address.slice(0, address.lastIndexOf(":")),
      port: Number(address.slice(address.lastIndexOf(":") + 1)),
    });
  if (password !== undefined) await within(answerPrompt(conn, password), 5000, "the password prompt");
  const reader = new LineReader(conn, { maxLineBytes: 1 << 20 });
  const queue: string[] = [];
  let ended = false;
  (async () => {
    try {
      for (let l = await reader.readLine(); l !== null; l = await reader.readLine()) queue.push(l);
    } catch {
      // Closed under us: the session is over.
    }
    ended = true;
  })();
  const line = async (timeoutMs = 5000) => {
    await until(() => queue.length > 0 || ended, { what: "a management line", timeoutMs, intervalMs: 2 });
    return queue.shift() ?? null;
  };
  const greeting = (await line()) ?? "";
  return {
    greeting,
    send: (text) => writeAll(conn, text + "\r\n"),
    line,
    async until(done, timeoutMs = 5000) {
      const out: string[] = [];
      const deadline = Date.now() + timeoutMs;
      while (true) {
        const l = await line(Math.max(1, deadline - Date.now()));
        if (l === null) throw new Error(`session closed after ${JSON.stringify(out)}`);
        out.push(l);
        if (done(l)) return out;
      }
    },
    get buffered() {
      return queue.length;
    },
    close: () => {
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    },
  };
}
