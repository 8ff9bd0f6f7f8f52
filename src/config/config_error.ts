/**
 * The one error type the configuration layer throws. Its message is a single
 * line, `FILE:LINE: KEY: DETAIL`, so the CLI can print it as is and exit 2.
 * LINE is omitted when 0 (the file as a whole); KEY when empty (syntax errors).
 */
export class ConfigError extends Error {
  /** File name as the caller gave it. */
  readonly file: string;
  /** 1-based line, or 0 when the error concerns the whole file. */
  readonly line: number;
  /** Dotted key path such as "server.topology", or "" when no key applies. */
  readonly key: string;
  /** What was wrong, e.g. `expected one of net30, p2p, subnet, got "star"`. */
  readonly detail: string;

  constructor(file: string, line: number, key: string, detail: string) {
    const where = line > 0 ? `${file}:${line}` : file;
    super(key ? `${where}: ${key}: ${detail}` : `${where}: ${detail}`);
    this.name = "ConfigError";
    this.file = file;
    this.line = line;
    this.key = key;
    this.detail = detail;
  }
}
