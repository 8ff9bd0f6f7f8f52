/**
 * Levelled logger with timestamps. Hot paths check `log.enabled(level)` (or the
 * boolean fields) before building arguments, so disabled levels cost nothing.
 * A logger and its children share one level: setting it on any of them (the
 * management command `log level debug`) changes it for all, live. When stderr
 * is the systemd journal (journal.ts), lines carry a `<N>` priority prefix
 * instead of a timestamp.
 */

import { JOURNAL_PRIORITY, stderrIsJournal } from "./journal.ts";

export type LogLevel = "error" | "warn" | "info" | "debug";

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export const LOG_LEVELS: readonly LogLevel[] = ["error", "warn", "info", "debug"];

/** Where formatted lines go; tests pass an array-backed sink. */
export type LogSink = (line: string) => void;

/** Sees every line written (after the level check), without time and level: the management `log` history. */
export type LogTap = (level: LogLevel, line: string) => void;

export interface LoggerOptions {
  /** @default "info" */
  level?: LogLevel;
  /** @default writes to stderr */
  sink?: LogSink;
  /** Clock for timestamps; tests inject a fixed one. */
  now?: () => Date;
  /** Prefix such as a component name, e.g. "server". */
  scope?: string;
  /** "journal": `<N>` priority prefixes, no timestamp. @default "journal" when stderr is the journal, else "plain" */
  style?: LogStyle;
}

export type LogStyle = "plain" | "journal";

/** What a logger and its children share. */
interface Shared {
  rank: number;
  sink: LogSink;
  now: () => Date;
  style: LogStyle;
  /** Shared with children, so a tap added later sees theirs too. */
  taps: Set<LogTap>;
}

const encoder = new TextEncoder();

function stderrSink(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

export class Logger {
  #shared: Shared;
  #scope: string;

  constructor(options: LoggerOptions = {}) {
    this.#shared = {
      rank: RANK[options.level ?? "info"],
      sink: options.sink ?? stderrSink,
      now: options.now ?? (() => new Date()),
      style: options.style ?? (options.sink === undefined && stderrIsJournal() ? "journal" : "plain"),
      taps: new Set(),
    };
    this.#scope = options.scope ?? "";
  }

  /** True when debug lines are written; check before building costly arguments. */
  get debugEnabled(): boolean {
    return this.#shared.rank >= RANK.debug;
  }

  get style(): LogStyle {
    return this.#shared.style;
  }

  get level(): LogLevel {
    return LOG_LEVELS[this.#shared.rank];
  }

  /** Sets the level of this logger, its parent and every child alike. */
  set level(level: LogLevel) {
    this.#shared.rank = RANK[level];
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] <= this.#shared.rank;
  }

  /** A logger sharing this one's sink, style and level (changes included) with a scope prefix. */
  child(scope: string): Logger {
    const child = new Logger({ sink: this.#shared.sink, style: this.#shared.style });
    child.#shared = this.#shared;
    child.#scope = this.#scope ? `${this.#scope}/${scope}` : scope;
    return child;
  }

  error(msg: string, fields?: Record<string, unknown>): void {
    this.#write("error", msg, fields);
  }

  warn(msg: string, fields?: Record<string, unknown>): void {
    this.#write("warn", msg, fields);
  }

  info(msg: string, fields?: Record<string, unknown>): void {
    this.#write("info", msg, fields);
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    this.#write("debug", msg, fields);
  }

  /** Calls `tap` with every line this logger and its children write; returns its removal. */
  addTap(tap: LogTap): () => void {
    this.#shared.taps.add(tap);
    return () => this.#shared.taps.delete(tap);
  }

  #write(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    const shared = this.#shared;
    if (RANK[level] > shared.rank) return;
    let body = this.#scope ? `[${this.#scope}] ${msg}` : msg;
    if (fields) {
      for (const [k, v] of Object.entries(fields)) body += ` ${k}=${formatValue(v)}`;
    }
    // The journal stamps and ranks each line itself: the priority prefix replaces time and level.
    const prefix = shared.style === "journal"
      ? JOURNAL_PRIORITY[level]
      : `${shared.now().toISOString()} ${level.toUpperCase().padEnd(5)} `;
    shared.sink(prefix + body);
    for (const tap of shared.taps) tap(level, body);
  }
}

function formatValue(v: unknown): string {
  if (typeof v === "string") return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  if (v instanceof Error) return JSON.stringify(v.message);
  return String(v);
}
