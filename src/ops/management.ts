/**
 * The management interface: OpenVPN's line protocol on a unix socket (mode
 * 0600, the zero-config default) or a loopback TCP port, optionally behind a
 * password (OpenVPN's pw-file). It never listens on anything else: a TCP
 * port is open to every local user, so give it a password.
 *
 * Sessions (management_session.ts) read one bounded line, answer it, and only
 * then read the next; a line that looks like HTTP ends the session before
 * anything runs (a web page can make a browser POST to 127.0.0.1). Sessions
 * are capped at `maxSessions`, and each runs at most `commandsPerSecond`
 * commands, so a client looping on `status json` cannot monopolise the event
 * loop that also carries packets. The server only pays for snapshot() and
 * formatting.
 */
import type { Logger } from "../log/log.ts";
import { firstLine } from "../log/first_line.ts";
import { formatManagementAddress, type ManagementAddress, parseManagementAddress } from "./listen_address.ts";
import { readPasswordFile } from "./management_guard.ts";
import { type ManagementCommands, runSession, type SessionContext } from "./management_session.ts";
import type { ServerControl } from "./server_control.ts";
import type { ManagementEvents } from "./management_events.ts";
import type { ManagementSignal } from "./management_openvpn.ts";
import type { ClientAuthHub } from "./management_client_auth.ts";

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
  /** A file whose first line is the password every session must send first (OpenVPN's pw-file). */
  passwordFile?: string | null;
  /** Delay before a bad password is answered (with the prompt again, or the close after the third). @default 1000 */
  badPasswordDelayMs?: number;
  /** Log and state history and the hold gate behind `log`, `state`, `hold` (management_events.ts). */
  events?: ManagementEvents;
  /** What the `signal` command does (run_server.ts maps it to the process's signal handlers). */
  signal?: (name: ManagementSignal) => void;
  /** management.client_auth: sessions get >CLIENT notifications and the client-auth commands. */
  clientAuth?: ClientAuthHub | null;
  /**
   * Another command set in place of the server's (the client's: src/ops/client_commands.ts);
   * `control` is then null.
   */
  commands?: ManagementCommands;
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
      throw new Error(
        `Cannot listen on management address ${formatManagementAddress(addr)}: ${firstLine(e)}`,
      );
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
    throw new Error(`Cannot listen on management socket ${addr.path}: ${firstLine(e)}`);
  } finally {
    Deno.umask(old);
  }
}

function listenerAddress(listener: Deno.Listener, addr: ManagementAddress): string {
  const a = listener.addr;
  if (a.transport === "tcp") return formatManagementAddress({ kind: "tcp", host: a.hostname, port: a.port });
  return formatManagementAddress(addr);
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Closed already.
  }
}

/** Best effort: the refusal must not wait on a peer that does not read. */
function refuseSession(conn: Deno.Conn): void {
  conn.write(encoder.encode("ERROR: too many management sessions\r\n")).catch(() => {}).finally(() =>
    closeQuietly(conn)
  );
}

/** The password from options.passwordFile (null without one); warns about a readable file. */
async function loadPassword(options: ManagementOptions, log: Logger): Promise<string | null> {
  if (!options.passwordFile) return null;
  const file = await readPasswordFile(options.passwordFile);
  if (file.warning !== null) log.warn(file.warning);
  return file.password;
}

/** A TCP port is open to every local user: say so when nothing guards it. */
function warnIfUnguarded(
  addr: ManagementAddress,
  password: string | null,
  address: string,
  log: Logger,
): void {
  if (addr.kind !== "tcp" || password !== null) return;
  log.warn(
    "management interface on TCP without a password: every local user can run its commands; " +
      "set management.password_file or listen on a unix socket",
    { address },
  );
}

/**
 * The running interface: accepts sessions until close() or until the
 * listener fails, then ends every session, removes a unix socket, and calls
 * options.onClose once.
 */
export class ManagementInterface implements ManagementHandle {
  readonly address: string;
  readonly #addr: ManagementAddress;
  readonly #listener: Deno.Listener;
  readonly #log: Logger;
  readonly #maxSessions: number;
  readonly #onClose: (() => void) | undefined;
  readonly #context: SessionContext;
  readonly #sessions = new Set<Deno.Conn>();
  readonly #running = new Set<Promise<void>>();
  readonly #accepting: Promise<void>;
  #closing = false;
  #closedNotified = false;

  /** Starts the management interface on `listenText` ("HOST:PORT" on loopback, or a socket path). */
  static async start(
    listenText: string,
    control: ServerControl | null,
    options: ManagementOptions,
  ): Promise<ManagementInterface> {
    if (control === null && !options.commands) throw new Error("A management interface needs commands");
    const addr = parseManagementAddress(listenText, { listening: true });
    const log = options.log.child("management");
    const password = await loadPassword(options, log);
    const listener = await listen(addr);
    return new ManagementInterface(addr, listener, log, { control, password, options });
  }

  private constructor(
    addr: ManagementAddress,
    listener: Deno.Listener,
    log: Logger,
    setup: { control: ServerControl | null; password: string | null; options: ManagementOptions },
  ) {
    const { control, password, options } = setup;
    this.#addr = addr;
    this.#listener = listener;
    this.#log = log;
    this.#maxSessions = options.maxSessions ?? 16;
    this.#onClose = options.onClose;
    this.address = listenerAddress(listener, addr);
    warnIfUnguarded(addr, password, this.address, log);
    this.#context = {
      control,
      log,
      maxLineBytes: options.maxLineBytes ?? 1024,
      writeTimeoutMs: options.writeTimeoutMs ?? 10_000,
      commandsPerSecond: options.commandsPerSecond ?? 50,
      password,
      badPasswordDelayMs: options.badPasswordDelayMs ?? 1000,
      closing: () => this.#closing,
      events: options.events ?? null,
      signal: options.signal ?? null,
      clientAuth: options.clientAuth ?? null,
      commands: options.commands,
    };
    this.#accepting = this.#acceptLoop();
    log.info("management interface listening", { address: this.address, password: password !== null });
  }

  async close(): Promise<void> {
    if (this.#closing) {
      await this.#accepting;
      return;
    }
    this.#closing = true;
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    await this.#accepting;
    await this.#endSessions();
    this.#notifyClosed();
  }

  async #acceptLoop(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        if (this.#closing) {
          conn.close();
          break;
        }
        this.#admit(conn);
      }
    } catch (e) {
      if (!this.#closing) this.#log.error("management listener failed", { error: firstLine(e) });
    }
    if (!this.#closing) {
      this.#closing = true;
      await this.#endSessions();
      this.#notifyClosed();
    }
  }

  /** Runs a session for `conn`, or refuses it when maxSessions are running. */
  #admit(conn: Deno.Conn): void {
    if (this.#sessions.size >= this.#maxSessions) {
      this.#log.warn("management session refused: too many sessions", { max: this.#maxSessions });
      refuseSession(conn);
      return;
    }
    this.#sessions.add(conn);
    const running = this.#session(conn).catch((e) =>
      this.#log.warn("management session failed", { error: firstLine(e) })
    );
    this.#running.add(running);
    running.finally(() => this.#running.delete(running));
  }

  async #session(conn: Deno.Conn): Promise<void> {
    try {
      await runSession(conn, this.#context);
    } finally {
      this.#sessions.delete(conn);
      closeQuietly(conn);
    }
  }

  async #endSessions(): Promise<void> {
    for (const conn of this.#sessions) closeQuietly(conn);
    await Promise.allSettled([...this.#running]);
    if (this.#addr.kind === "unix") {
      await Deno.remove(this.#addr.path).catch(() => {});
    }
  }

  #notifyClosed(): void {
    if (this.#closedNotified) return;
    this.#closedNotified = true;
    this.#onClose?.();
  }
}

/** Starts the management interface on `listenText` ("HOST:PORT" on loopback, or a socket path). */
export function startManagement(
  listenText: string,
  control: ServerControl | null,
  options: ManagementOptions,
): Promise<ManagementHandle> {
  return ManagementInterface.start(listenText, control, options);
}
