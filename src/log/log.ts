/**
 * Levelled logger with timestamps. Hot paths check `log.enabled(level)` (or the
 * boolean fields) before building arguments, so disabled levels cost nothing.
 */

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
  /** Shared with children, so a tap added later sees theirs too. */
  taps?: Set<LogTap>;
}

const encoder = new TextEncoder();

function stderrSink(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

export class Logger {
  #rank: number;
  #sink: LogSink;
  #now: () => Date;
  #scope: string;
  readonly #taps: Set<LogTap>;
  /** True when debug lines are written; check before building costly arguments. */
  debugEnabled: boolean;

  constructor(options: LoggerOptions = {}) {
    this.#rank = RANK[options.level ?? "info"];
    this.#sink = options.sink ?? stderrSink;
    this.#now = options.now ?? (() => new Date());
    this.#scope = options.scope ?? "";
    this.#taps = options.taps ?? new Set();
    this.debugEnabled = this.#rank >= RANK.debug;
  }

  get level(): LogLevel {
    return LOG_LEVELS[this.#rank];
  }

  set level(level: LogLevel) {
    this.#rank = RANK[level];
    this.debugEnabled = this.#rank >= RANK.debug;
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] <= this.#rank;
  }

  /** A logger sharing this one's sink and level with a scope prefix. */
  child(scope: string): Logger {
    const child = new Logger({
      level: this.level,
      sink: this.#sink,
      now: this.#now,
      scope: this.#scope ? `${this.#scope}/${scope}` : scope,
      taps: this.#taps,
    });
    return child;
  }

  /** Calls `tap` with every line this logger and its children write; returns its removal. */
  addTap(tap: LogTap): () => void {
    this.#taps.add(tap);
    return () => this.#taps.delete(tap);
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

  #write(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (RANK[level] > this.#rank) return;
    let body = this.#scope ? `[${this.#scope}] ${msg}` : msg;
    if (fields) {
      for (const [k, v] of Object.entries(fields)) body += ` ${k}=${formatValue(v)}`;
    }
    this.#sink(`${this.#now().toISOString()} ${level.toUpperCase().padEnd(5)} ${body}`);
    for (const tap of this.#taps) tap(level, body);
  }
}

function formatValue(v: unknown): string {
  if (typeof v === "string") return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  if (v instanceof Error) return JSON.stringify(v.message);
  return String(v);
}
