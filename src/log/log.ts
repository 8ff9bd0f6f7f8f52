/**
 * Levelled logger with timestamps. Hot paths check `log.enabled(level)` (or the
 * boolean fields) before building arguments, so disabled levels cost nothing.
 */

export type LogLevel = "error" | "warn" | "info" | "debug";

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export const LOG_LEVELS: readonly LogLevel[] = ["error", "warn", "info", "debug"];

/** Where formatted lines go; tests pass an array-backed sink. */
export type LogSink = (line: string) => void;

export interface LoggerOptions {
  /** @default "info" */
  level?: LogLevel;
  /** @default writes to stderr */
  sink?: LogSink;
  /** Clock for timestamps; tests inject a fixed one. */
  now?: () => Date;
  /** Prefix such as a component name, e.g. "server". */
  scope?: string;
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
  /** True when debug lines are written; check before building costly arguments. */
  debugEnabled: boolean;

  constructor(options: LoggerOptions = {}) {
    this.#rank = RANK[options.level ?? "info"];
    this.#sink = options.sink ?? stderrSink;
    this.#now = options.now ?? (() => new Date());
    this.#scope = options.scope ?? "";
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
    });
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

  #write(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    if (RANK[level] > this.#rank) return;
    let line = `${this.#now().toISOString()} ${level.toUpperCase().padEnd(5)} `;
    if (this.#scope) line += `[${this.#scope}] `;
    line += msg;
    if (fields) {
      for (const [k, v] of Object.entries(fields)) line += ` ${k}=${formatValue(v)}`;
    }
    this.#sink(line);
  }
}

function formatValue(v: unknown): string {
  if (typeof v === "string") return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  if (v instanceof Error) return JSON.stringify(v.message);
  return String(v);
}
