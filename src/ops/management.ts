/**
 * The management interface: OpenVPN's line protocol on a loopback TCP port
 * or a unix socket (mode 0600). It has no authentication, so it never
 * listens on anything else.
 *
 * Each session reads one bounded line, answers it, and only then reads the
 * next, so a peer that pipelines commands or stops reading holds at most one
 * reply and one line buffer; a reply that cannot be written within
 * `writeTimeoutMs` ends the session. Sessions are capped at `maxSessions`,
 * and each runs at most `commandsPerSecond` commands (bursts of twice that),
 * so a client looping on `status json` cannot monopolise the event loop that
 * also carries packets. The server only pays for snapshot() and formatting.
 */
import type { Logger } from "../log/log.ts";
import { VERSION } from "../version.ts";
import { formatManagementAddress, type ManagementAddress, parseManagementAddress } from "./listen_address.ts";
import { LineReader, LineTooLongError } from "./line_reader.ts";
import { executeCommand, MANAGEMENT_GREETING } from "./management_commands.ts";
import type { ServerControl } from "./server_control.ts";

export interface ManagementOptions {
  log: Logger;
  /** Called once when the interface has stopped (after close(), or when the listener fails). */
  onClose?: () => void;
  /** @default 16 */
  maxSessions?: number;
  /** @default 1024 */
  maxLineBytes?: number;
  /** @default 10000 */
  writeTimeoutMs?: number;
  /** Per-session command rate; excess commands wait. @default 50 */
  commandsPerSecond?: number;
}

export interface ManagementHandle {
  /** Stops listening, ends every session, removes the unix socket. */
  close(): Promise<void>;
  /** Where it listens: "127.0.0.1:7505" (the real port when 0 was asked) or the socket path. */
  address: string;
}

const encoder = new TextEncoder();

async function removeStaleSocket(path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  if (!info.isSocket) throw new Error(`Management socket path ${path} exists and is not a socket`);
  try {
    const probe = await Deno.connect({ transport: "unix", path });
    probe.close();
  } catch {
    // Nobody listens: a leftover from a crash.
    await Deno.remove(path);
    return;
  }
  throw new Error(`Management socket ${path} is in use by another process`);
}

async function listen(addr: ManagementAddress): Promise<Deno.Listener> {
  if (addr.kind === "tcp") {
    try {
      return Deno.listen({ transport: "tcp", hostname: addr.host, port: addr.port });
    } catch (e) {
      throw new Error(`Cannot listen on management address ${formatManagementAddress(addr)}: ${oneLine(e)}`);
    }
  }
  await removeStaleSocket(addr.path);
  // The umask covers the window between bind() and chmod().
  const old = Deno.umask(0o177);
  try {
    const listener = Deno.listen({ transport: "unix", path: addr.path });
    await Deno.chmod(addr.path, 0o600);
    return listener;
  } catch (e) {
    throw new Error(`Cannot listen on management socket ${addr.path}: ${oneLine(e)}`);
  } finally {
    Deno.umask(old);
  }
}

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}

function listenerAddress(listener: Deno.Listener, addr: ManagementAddress): string {
  const a = listener.addr;
  if (a.transport === "tcp") return formatManagementAddress({ kind: "tcp", host: a.hostname, port: a.port });
  return formatManagementAddress(addr);
}

/** Starts the management interface on `listen` ("HOST:PORT" on loopback, or a socket path). */
export async function startManagement(
  listenText: string,
  control: ServerControl,
  options: ManagementOptions,
): Promise<ManagementHandle> {
  const addr = parseManagementAddress(listenText, { listening: true });
  const log = options.log.child("management");
  const maxSessions = options.maxSessions ?? 16;
  const maxLineBytes = options.maxLineBytes ?? 1024;
  const writeTimeoutMs = options.writeTimeoutMs ?? 10_000;
  const rate = options.commandsPerSecond ?? 50;
  const listener = await listen(addr);
  const address = listenerAddress(listener, addr);
  const sessions = new Set<Deno.Conn>();
  const running = new Set<Promise<void>>();
  let closing = false;
  let closedNotified = false;

  const notifyClosed = () => {
    if (closedNotified) return;
    closedNotified = true;
    options.onClose?.();
  };

  /** Writes all of `text` or gives up after writeTimeoutMs (then the session is closed). */
  async function write(conn: Deno.Conn, text: string): Promise<boolean> {
    const bytes = encoder.encode(text);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), writeTimeoutMs);
    });
    const writing = (async () => {
      let off = 0;
      while (off < bytes.length) off += await conn.write(bytes.subarray(off));
      return true;
    })().catch(() => false);
    try {
      return await Promise.race([writing, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function session(conn: Deno.Conn): Promise<void> {
    const peer = conn.remoteAddr.transport === "tcp"
      ? `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`
      : "unix socket";
    log.debug("session opened", { peer });
    const reader = new LineReader(conn, { maxLineBytes });
    const burst = 2 * rate;
    let tokens = burst;
    let last = performance.now();
    let throttled = false;
    /** Token bucket: waits while the session is over its command rate. */
    const pace = async () => {
      const now = performance.now();
      tokens = Math.min(burst, tokens + (now - last) * rate / 1000);
      last = now;
      if (tokens < 1) {
        if (!throttled) log.debug("session throttled", { peer, commandsPerSecond: rate });
        throttled = true;
        await new Promise((r) => setTimeout(r, (1 - tokens) * 1000 / rate));
        tokens = 1;
        last = performance.now();
      }
      tokens -= 1;
    };
    try {
      if (!await write(conn, MANAGEMENT_GREETING + "\r\n")) return;
      while (!closing) {
        let line: string | null;
        try {
          line = await reader.readLine();
        } catch (e) {
          if (e instanceof LineTooLongError) {
            log.warn("session closed: command line too long", { peer, max: maxLineBytes });
            await write(conn, `ERROR: command line longer than ${maxLineBytes} bytes\r\n`);
          }
          return;
        }
        if (line === null) return;
        await pace();
        if (closing) return;
        const reply = await executeCommand(line, { control, version: VERSION, pid: Deno.pid });
        if (reply === null) continue;
        if (reply.lines.length > 0 && !await write(conn, reply.lines.join("\r\n") + "\r\n")) {
          log.warn("session closed: reply not read in time", { peer, timeoutMs: writeTimeoutMs });
          return;
        }
        if (reply.close) return;
      }
    } finally {
      sessions.delete(conn);
      try {
        conn.close();
      } catch {
        // Already closed by close().
      }
      log.debug("session closed", { peer });
    }
  }

  async function acceptLoop(): Promise<void> {
    try {
      for await (const conn of listener) {
        if (closing) {
          conn.close();
          break;
        }
        if (sessions.size >= maxSessions) {
          log.warn("management session refused: too many sessions", { max: maxSessions });
          // Best effort: the refusal must not wait on a peer that does not read.
          conn.write(encoder.encode("ERROR: too many management sessions\r\n")).catch(() => {}).finally(
            () => {
              try {
                conn.close();
              } catch {
                // Closed already.
              }
            },
          );
          continue;
        }
        sessions.add(conn);
        const p = session(conn).catch((e) => log.warn("management session failed", { error: oneLine(e) }));
        running.add(p);
        p.finally(() => running.delete(p));
      }
    } catch (e) {
      if (!closing) log.error("management listener failed", { error: oneLine(e) });
    }
    if (!closing) {
      closing = true;
      await endSessions();
      notifyClosed();
    }
  }

  async function endSessions(): Promise<void> {
    for (const conn of sessions) {
      try {
        conn.close();
      } catch {
        // Closed by its session already.
      }
    }
    await Promise.allSettled([...running]);
    if (addr.kind === "unix") {
      await Deno.remove(addr.path).catch(() => {});
    }
  }

  const accepting = acceptLoop();
  log.info("management interface listening", { address });

  return {
    address,
    async close(): Promise<void> {
      if (closing) {
        await accepting;
        return;
      }
      closing = true;
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      await accepting;
      await endSessions();
      notifyClosed();
    },
  };
}
