/**
 * Typed, position-aware reads over a parsed YAML document. Every failure is a
 * ConfigError naming the file, the line of the offending node and its dotted
 * key path. A map is checked for unknown keys as soon as it is opened, so the
 * first error a user sees is the first one in the file.
 */

import { isAbsolute, join, normalize } from "node:path";
import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { ConfigError } from "./config_error.ts";
import { suggest } from "./suggest.ts";

/** One parsed file: where its nodes are and how to resolve relative paths. */
export class YamlSource {
  readonly file: string;
  readonly baseDir: string;
  readonly doc: Document;
  #lines: LineCounter;

  private constructor(file: string, baseDir: string, doc: Document, lines: LineCounter) {
    this.file = file;
    this.baseDir = baseDir;
    this.doc = doc;
    this.#lines = lines;
  }

  /** Parses `text`; a YAML syntax error becomes a one-line ConfigError. */
  static parse(text: string, file: string, baseDir: string): YamlSource {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const src = new YamlSource(file, baseDir, doc, lines);
    const err = doc.errors[0];
    if (err) {
      const detail = err.message.split("\n")[0].replace(/\.$/, "");
      throw new ConfigError(file, src.lineAt(err.pos[0]), "", `invalid YAML: ${detail}`);
    }
    return src;
  }

  lineAt(offset: number): number {
    return this.#lines.linePos(offset).line;
  }

  lineOf(node: Node | null | undefined, fallback = 1): number {
    const start = node?.range?.[0];
    return start === undefined ? fallback : this.lineAt(start);
  }

  /** Resolves a config-relative path against the config file's directory. */
  resolvePath(p: string): string {
    return isAbsolute(p) ? normalize(p) : join(this.baseDir, p);
  }

  /** The document's top-level node as a field with an empty path. */
  root(): Field {
    const node = (this.doc.contents ?? null) as Node | null;
    return new Field(this, node, "", 1, 1);
  }
}

/** How a value is shown after "got": strings quoted, collections by kind. */
export function describeNode(node: Node | null): string {
  if (node === null) return "nothing";
  if (isMap(node)) return "a map";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === "string") return JSON.stringify(v);
    if (v === null || v === undefined) return "null";
    return String(v);
  }
  return "an unsupported value";
}

/** One value in the document, with the path and lines to blame. */
export class Field {
  readonly src: YamlSource;
  /** Resolved node (aliases followed); null for an empty document. */
  readonly node: Node | null;
  readonly path: string;
  /** Line of the value itself. */
  readonly line: number;
  /** Line of the key that owns this value (for "missing key" errors inside it). */
  readonly keyLine: number;

  constructor(src: YamlSource, node: Node | null, path: string, line: number, keyLine: number) {
    this.src = src;
    this.node = node !== null && isAlias(node) ? (node.resolve(src.doc) as Node | undefined) ?? null : node;
    this.path = path;
    this.line = line;
    this.keyLine = keyLine;
  }

  fail(detail: string, line = this.line): never {
    throw new ConfigError(this.src.file, line, this.path, detail);
  }

  expected(what: string): never {
    this.fail(`expected ${what}, got ${describeNode(this.node)}`);
  }

  get isNull(): boolean {
    return this.node === null || (isScalar(this.node) && this.node.value === null);
  }

  /** The raw scalar value, or undefined for collections. */
  scalar(): unknown {
    return this.node !== null && isScalar(this.node) ? this.node.value : undefined;
  }

  /** A non-empty string. */
  string(what = "a non-empty string"): string {
    const v = this.scalar();
    if (typeof v !== "string" || v.trim() === "") this.expected(what);
    return v;
  }

  bool(): boolean {
    const v = this.scalar();
    if (typeof v !== "boolean") this.expected("true or false");
    return v;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number, what?: string): number {
    const v = this.scalar();
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      this.expected(what ?? `an integer from ${min} to ${max}`);
    }
    return v;
  }

  /** One of `values`; the message lists them sorted and suggests the closest. */
  oneOf<T extends string | number>(values: readonly T[]): T {
    const v = this.scalar();
    if ((typeof v === "string" || typeof v === "number") && values.includes(v as T)) return v as T;
    const sorted = [...values].map(String).sort();
    let detail = `expected one of ${sorted.join(", ")}, got ${describeNode(this.node)}`;
    if (typeof v === "string") {
      const near = suggest(v, sorted);
      if (near) detail += ` (did you mean ${near}?)`;
    }
    this.fail(detail);
  }

  /** A relative or absolute path, resolved against the config file's directory. */
  filePath(): string {
    return this.src.resolvePath(this.string("a file path"));
  }

  /** The items of a list; a missing/null value is an empty list. */
  list(): Field[] {
    if (this.isNull) return [];
    if (!isSeq(this.node)) this.expected("a list");
    return this.node.items.map((item, i) => {
      const line = this.src.lineOf(item as Node, this.line);
      return new Field(this.src, item as Node, `${this.path}[${i}]`, line, line);
    });
  }

  /** This value as a map whose keys must be among `allowed` (null = any key). */
  map(allowed: readonly string[] | null): MapView {
    if (this.node === null || !isMap(this.node)) this.expected("a map");
    const view = new MapView(this);
    if (allowed) view.checkKeys(allowed);
    return view;
  }
}

/** A YAML map with keyed access; keys are compared as strings. */
export class MapView {
  readonly field: Field;
  #entries = new Map<string, { key: Node; value: Node | null }>();

  constructor(field: Field) {
    this.field = field;
    const node = field.node;
    if (node === null || !isMap(node)) throw new TypeError("MapView needs a YAML map");
    for (const pair of node.items) {
      const key = pair.key as Node;
      const name = isScalar(key) ? String(key.value) : describeNode(key);
      this.#entries.set(name, { key, value: (pair.value ?? null) as Node | null });
    }
  }

  get path(): string {
    return this.field.path;
  }

  keys(): string[] {
    return [...this.#entries.keys()];
  }

  childPath(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  /** Fails on the first key (in file order) that is not in `allowed`. */
  checkKeys(allowed: readonly string[]): void {
    for (const [name, { key }] of this.#entries) {
      if (allowed.includes(name)) continue;
      const near = suggest(name, allowed);
      const hint = near ? ` (did you mean ${near}?)` : "";
      throw new ConfigError(
        this.field.src.file,
        this.field.src.lineOf(key, this.field.line),
        this.childPath(name),
        `unknown key${hint}`,
      );
    }
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /** The field at `key` (YAML null included), or null when the key is absent. */
  get(key: string): Field | null {
    const entry = this.#entries.get(key);
    if (!entry) return null;
    const keyLine = this.field.src.lineOf(entry.key, this.field.line);
    // An empty value ("key:") has its position at the end of the key's line.
    const line = entry.value ? this.field.src.lineOf(entry.value, keyLine) : keyLine;
    return new Field(this.field.src, entry.value, this.childPath(key), line, keyLine);
  }

  /** The field at `key` unless absent or YAML null (both mean "use the default"). */
  opt(key: string): Field | null {
    const f = this.get(key);
    return f === null || f.isNull ? null : f;
  }

  /** The field at `key`; absent fails on this map's key line. */
  req(key: string): Field {
    const f = this.get(key);
    if (f === null) this.missing(key);
    return f;
  }

  missing(key: string): never {
    throw new ConfigError(
      this.field.src.file,
      this.field.keyLine,
      this.childPath(key),
      "required key is missing",
    );
  }

  /** Fails at `key`'s line (or this map's) with `detail`. */
  failAt(key: string, detail: string): never {
    const f = this.get(key);
    throw new ConfigError(
      this.field.src.file,
      f ? f.keyLine : this.field.keyLine,
      this.childPath(key),
      detail,
    );
  }
}
