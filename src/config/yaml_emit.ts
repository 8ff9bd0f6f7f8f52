/**
 * A small writer for commented YAML: values are set by dotted key path with a
 * note saying where they came from, and written in a fixed key order with the
 * notes as trailing comments and a description above each top-level section.
 */

import { parse } from "yaml";

export type YamlValue =
  | { kind: "scalar"; value: string | number | boolean }
  | { kind: "list"; items: (string | number)[] }
  | { kind: "block"; text: string };

interface Leaf {
  value: YamlValue;
  notes: string[];
}

interface Branch {
  children: Map<string, Branch | Leaf>;
}

function isLeaf(n: Branch | Leaf): n is Leaf {
  return "value" in n;
}

const UNSAFE_PLAIN = /[,\[\]{}]|\s#|^[\s\-?:!&*|>'"%@`#]|\s$|: /;

/** A scalar in plain style when YAML reads it back unchanged, else double-quoted. */
export function yamlScalar(v: string | number | boolean): string {
  if (typeof v !== "string") return String(v);
  if (v !== "" && !UNSAFE_PLAIN.test(v) && !v.includes("\n")) {
    try {
      if (parse(v) === v) return v;
    } catch {
      // fall through to quoting
    }
  }
  return JSON.stringify(v);
}

/** "a.b.c", or its parts when a key itself contains a dot (a client named "laptop.example.org"). */
export type KeyPath = string | readonly string[];

function keyParts(path: KeyPath): readonly string[] {
  return typeof path === "string" ? path.split(".") : path;
}

export class YamlWriter {
  #root: Branch = { children: new Map() };
  #order: ReadonlyMap<string, readonly string[]>;
  #sectionComments: Record<string, string>;
  #header: string[];

  /**
   * `order` lists, per parent path ("" for the top), the order of known keys;
   * other keys follow in insertion order.
   */
  constructor(
    header: string[],
    order: ReadonlyMap<string, readonly string[]>,
    sectionComments: Record<string, string>,
  ) {
    this.#header = header;
    this.#order = order;
    this.#sectionComments = sectionComments;
  }

  #branch(path: readonly string[]): Branch {
    let node = this.#root;
    for (const part of path) {
      let next = node.children.get(part);
      if (!next || isLeaf(next)) {
        next = { children: new Map() };
        node.children.set(part, next);
      }
      node = next;
    }
    return node;
  }

  /** Sets a value (replacing any earlier one and its notes); a path given as parts may have keys with dots. */
  set(path: KeyPath, value: YamlValue, note?: string): void {
    const parts = keyParts(path);
    const parent = this.#branch(parts.slice(0, -1));
    parent.children.set(parts[parts.length - 1], { value, notes: note ? [note] : [] });
  }

  /** Appends to a list value, creating it if needed. */
  append(path: string, item: string | number, note?: string): void {
    const leaf = this.get(path);
    if (leaf && leaf.value.kind === "list") {
      leaf.value.items.push(item);
      if (note) leaf.notes.push(note);
    } else {
      this.set(path, { kind: "list", items: [item] }, note);
    }
  }

  /** Ensures a (possibly empty) map exists at `path`. */
  touch(path: string): void {
    this.#branch(path.split("."));
  }

  get(path: KeyPath): Leaf | null {
    let node: Branch | Leaf = this.#root;
    for (const part of keyParts(path)) {
      if (isLeaf(node)) return null;
      const next: Branch | Leaf | undefined = node.children.get(part);
      if (!next) return null;
      node = next;
    }
    return isLeaf(node) ? node : null;
  }

  has(path: KeyPath): boolean {
    let node: Branch | Leaf = this.#root;
    for (const part of keyParts(path)) {
      if (isLeaf(node)) return false;
      const next: Branch | Leaf | undefined = node.children.get(part);
      if (!next) return false;
      node = next;
    }
    return true;
  }

  toString(): string {
    const out = this.#header.map((h) => (h ? `# ${h}` : "#"));
    this.#write(this.#root, "", 0, out);
    return out.join("\n") + "\n";
  }

  #sorted(branch: Branch, path: string): [string, Branch | Leaf][] {
    const order = this.#order.get(path.replace(/^server\.clients\.[^.]+/, "server.clients.*")) ?? [];
    const entries = [...branch.children.entries()];
    const rank = (k: string) => {
      const i = order.indexOf(k);
      return i < 0 ? order.length : i;
    };
    return entries.map((e, i) => ({ e, i })).sort((a, b) => rank(a.e[0]) - rank(b.e[0]) || a.i - b.i).map((
      x,
    ) => x.e);
  }

  #write(branch: Branch, path: string, depth: number, out: string[]): void {
    const pad = "  ".repeat(depth);
    for (const [key, node] of this.#sorted(branch, path)) {
      const full = path ? `${path}.${key}` : key;
      const comment = this.#sectionComments[full];
      if (depth === 0) out.push("");
      if (comment) { for (const line of comment.split("\n")) out.push(`${pad}# ${line}`); }
      const k = yamlScalar(key);
      if (!isLeaf(node)) {
        if (node.children.size === 0) out.push(`${pad}${k}: {}`);
        else {
          out.push(`${pad}${k}:`);
          this.#write(node, full, depth + 1, out);
        }
        continue;
      }
      const note = node.notes.length ? `  # ${node.notes.join("; ")}` : "";
      const v = node.value;
      if (v.kind === "block") {
        out.push(`${pad}${k}: |${note}`);
        for (const line of v.text.replace(/\n$/, "").split("\n")) out.push(line ? `${pad}  ${line}` : "");
      } else if (v.kind === "list") {
        out.push(`${pad}${k}: [${v.items.map(yamlScalar).join(", ")}]${note}`);
      } else {
        out.push(`${pad}${k}: ${yamlScalar(v.value)}${note}`);
      }
    }
  }
}
