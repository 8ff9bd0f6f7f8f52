/**
 * One management session: optional password, greeting, then one bounded line
 * at a time, answered before the next is read, so a peer that pipelines
 * commands or stops reading holds at most one reply and one line buffer; a
 * reply not written within `writeTimeoutMs` ends the session. Commands run at
 * most `commandsPerSecond` (bursts of twice that). A line that looks like
 * HTTP ends the session before anything runs (management_guard.ts).
 */
import type { Logger } from "../log/log.ts";
import { VERSION } from "../version.ts";
import { LineReader, LineTooLongError } from "./line_reader.ts";
import { type CommandReply, executeCommand, MANAGEMENT_GREETING } from "./management_commands.ts";
import {
  isHttpRequestLine,
  looksLikeHttp,
  PASSWORD_OK,
  PASSWORD_PROMPT,
  PASSWORD_TRIES,
  passwordMatches,
} from "./management_guard.ts";
import type { ServerControl } from "./server_control.ts";
import type { ManagementEvents } from "./management_events.ts";
import { SessionNotices } from "./management_notices.ts";
import type { ManagementSignal } from "./management_openvpn.ts";
import { type ClientAuthHub, MAX_CLIENT_AUTH_LINES, splitCommandLine } from "./management_client_auth.ts";

/** A command set other than the server's: one line → its reply (null: nothing to answer). */
export type ManagementCommands = (line: string) => CommandReply | null | Promise<CommandReply | null>;

export interface SessionContext {
  /** The server's commands run against it; null when `commands` replaces them. */
  control: ServerControl | null;
  commands?: ManagementCommands;
  log: Logger;
  maxLineBytes: number;
  writeTimeoutMs: number;
  commandsPerSecond: number;
  /** The password asked before the greeting; null = none. */
  password: string | null;
  /** Wait before answering a bad password, so a local guesser gets a few tries a second. */
  badPasswordDelayMs: number;
  /** True once the interface is closing: the session ends before its next command. */
  closing(): boolean;
  /** management.client_auth (management_client_auth.ts); null when off. */
  clientAuth?: ClientAuthHub | null;
  /** Log and state history, hold gate (`log`, `state`, `hold`); null without them. */
  events?: ManagementEvents | null;
  /** The `signal` command's action; null when nothing handles signals. */
  signal?: ((name: ManagementSignal) => void) | null;
}

/**
 * Real-time lines a session may have waiting to be written (beyond what the
 * kernel's socket buffer took) before it is ended as not reading: room for a
 * burst of log lines, a bound on a peer that stopped reading.
 */
const MAX_PENDING_NOTICE_BYTES = 1024 * 1024;

const encoder = new TextEncoder();

/** Writes all of `text` or gives up after `timeoutMs` (then the caller ends the session). */
export async function writeText(conn: Deno.Conn, text: string, timeoutMs: number): Promise<boolean> {
  const bytes = encoder.encode(text);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
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

/** Token bucket: the returned function waits while the session is over its command rate. */
function commandPacer(rate: number, log: Logger, peer: string): () => Promise<void> {
  const burst = 2 * rate;
  let tokens = burst;
  let last = performance.now();
  let throttled = false;
  return async () => {
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
}

function peerName(conn: Deno.Conn): string {
  const a = conn.remoteAddr;
  return a.transport === "tcp" ? `${a.hostname}:${a.port}` : "unix socket";
}

class Session {
  readonly #conn: Deno.Conn;
  readonly #ctx: SessionContext;
  readonly #reader: LineReader;
  readonly peer: string;
  /** Writes in order: replies and notifications (client-auth) never interleave. */
  #writes: Promise<boolean> = Promise.resolve(true);
  #pendingNoticeBytes = 0;
  /** OpenVPN's real-time lines this session asked for (log, state, bytecount, hold). */
  readonly notices: SessionNotices;

  constructor(conn: Deno.Conn, ctx: SessionContext) {
    this.#conn = conn;
    this.#ctx = ctx;
    this.#reader = new LineReader(conn, { maxLineBytes: ctx.maxLineBytes });
    this.peer = peerName(conn);
    this.notices = new SessionNotices({
      write: (line) => this.#notify(line),
      control: ctx.control,
      events: ctx.events ?? null,
    });
  }

  /** A real-time line; a peer that lets them pile up unread is disconnected. */
  #notify(line: string): void {
    const bytes = line.length + 2;
    if (this.#pendingNoticeBytes + bytes > MAX_PENDING_NOTICE_BYTES) {
      // Unsubscribe first: the warning is itself a log line this session would be sent.
      this.notices.dispose();
      this.#ctx.log.warn("session closed: real-time notifications not read", { peer: this.peer });
      try {
        this.#conn.close();
      } catch {
        // Closed already.
      }
      return;
    }
    this.#pendingNoticeBytes += bytes;
    void this.write(line + "\r\n").finally(() => this.#pendingNoticeBytes -= bytes);
  }

  write(text: string): Promise<boolean> {
    this.#writes = this.#writes.then(() => writeText(this.#conn, text, this.#ctx.writeTimeoutMs));
    return this.#writes;
  }

  /** The next line; null when the peer closed, sent an over-long line, or spoke HTTP. */
  async line(isHttp: (line: string) => boolean): Promise<string | null> {
    let line: string | null;
    try {
      line = await this.#reader.readLine();
    } catch (e) {
      if (!(e instanceof LineTooLongError)) return null;
      const max = this.#ctx.maxLineBytes;
      this.#ctx.log.warn("session closed: command line too long", { peer: this.peer, max });
      await this.write(`ERROR: command line longer than ${max} bytes\r\n`);
      return null;
    }
    if (line !== null && isHttp(line)) {
      this.#ctx.log.warn("session closed: an HTTP request reached the management interface", {
        peer: this.peer,
        line: line.slice(0, 80),
      });
      return null;
    }
    return line;
  }

  /**
   * Asks for the password as OpenVPN does: a wrong one is answered (after a
   * delay) by the prompt again, and the third wrong one closes the session
   * without a reply. True when it matched. The password line is only checked
   * for an HTTP request line: a password may contain a colon.
   */
  async authenticate(password: string): Promise<boolean> {
    for (let attempt = 1; attempt <= PASSWORD_TRIES; attempt++) {
      if (!await this.write(PASSWORD_PROMPT)) return false;
      const given = await this.line(isHttpRequestLine);
      if (given === null) return false;
      if (passwordMatches(given, password)) return await this.write(PASSWORD_OK + "\r\n");
      this.#ctx.log.warn("bad management password", { peer: this.peer, attempt, of: PASSWORD_TRIES });
      await new Promise((r) => setTimeout(r, this.#ctx.badPasswordDelayMs));
    }
    this.#ctx.log.warn("session closed: too many bad management passwords", { peer: this.peer });
    return false;
  }

  async serveCommands(): Promise<void> {
    const ctx = this.#ctx;
    const pace = commandPacer(ctx.commandsPerSecond, ctx.log, this.peer);
    while (!ctx.closing()) {
      const line = await this.line(looksLikeHttp);
      if (line === null) return;
      await pace();
      if (ctx.closing()) return;
      const reply = ctx.commands ? await ctx.commands(line) : await this.#clientAuthCommand(line) ??
        await executeCommand(line, {
          control: ctx.control!,
          version: VERSION,
          pid: Deno.pid,
          log: ctx.log,
          events: ctx.events ?? null,
          notices: this.notices,
          signal: ctx.signal ?? null,
        });
      if (reply === null) continue;
      if (reply.lines.length > 0 && !await this.write(reply.lines.join("\r\n") + "\r\n")) {
        ctx.log.warn("session closed: reply not read in time", {
          peer: this.peer,
          timeoutMs: ctx.writeTimeoutMs,
        });
        return;
      }
      if (reply.close) return;
    }
  }

  /** client-auth, client-auth-nt, client-deny (with management.client_auth); null for other commands. */
  async #clientAuthCommand(line: string): Promise<{ lines: string[]; close: boolean } | null> {
    const hub = this.#ctx.clientAuth;
    if (!hub) return null;
    const c = hub.command(splitCommandLine(line));
    if (c === null) return null;
    if (c.kind === "reply") return { lines: c.lines, close: false };
    const block: string[] = [];
    for (;;) {
      const next = await this.line(looksLikeHttp);
      if (next === null) return { lines: [], close: true };
      if (next.trim() === "END") break;
      if (block.length >= MAX_CLIENT_AUTH_LINES) {
        return {
          lines: [`ERROR: client-auth block longer than ${MAX_CLIENT_AUTH_LINES} lines`],
          close: true,
        };
      }
      block.push(next);
    }
    return { lines: c.finish(block), close: false };
  }

  /** Shows this session >CLIENT notifications (management.client_auth); returns the removal. */
  attachNotifications(): () => void {
    const hub = this.#ctx.clientAuth;
    if (!hub) return () => {};
    return hub.attach((text) => void this.write(text));
  }
}

/** Serves `conn` until the peer leaves, misbehaves or the interface closes; the caller closes `conn`. */
export async function runSession(conn: Deno.Conn, ctx: SessionContext): Promise<void> {
  const session = new Session(conn, ctx);
  ctx.log.debug("session opened", { peer: session.peer });
  try {
    if (ctx.password !== null && !await session.authenticate(ctx.password)) return;
    if (!await session.write(MANAGEMENT_GREETING + "\r\n")) return;
    const detach = session.attachNotifications();
    session.notices.start();
    try {
      await session.serveCommands();
    } finally {
      detach();
    }
  } finally {
    session.notices.dispose();
    ctx.log.debug("session closed", { peer: session.peer });
  }
}
