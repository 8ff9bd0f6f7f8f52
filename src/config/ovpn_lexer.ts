/**
 * Splits an OpenVPN config file into directives. Follows OpenVPN's own rules:
 * one option per line, an optional leading "--", whitespace-separated
 * arguments, double quotes (with backslash escapes) and single quotes group,
 * "#" or ";" starting a word begins a comment, and `<name>…</name>` blocks
 * carry inline file contents.
 */

import { ConfigError } from "./config_error.ts";

export interface OvpnDirective {
  /** Option name without a leading "--", lower case as OpenVPN expects. */
  name: string;
  args: string[];
  /** 1-based line of the option (of the opening tag for inline blocks). */
  line: number;
  /** Contents of an inline `<name>` block (ends with a newline), else null. */
  inline: string | null;
}

/** One option as it could not be translated, for reports. */
export interface IgnoredOption {
  line: number;
  /** The option as written (name and arguments), e.g. "comp-lzo yes". */
  option: string;
  /** Why it was not translated, e.g. "compression is not supported". */
  reason: string;
}

const OPEN_TAG = /^<([A-Za-z0-9_-]+)>$/;

export function lexOvpn(text: string, file: string): OvpnDirective[] {
  const lines = text.split(/\r?\n/);
  const out: OvpnDirective[] = [];
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const trimmed = lines[i].trim();
    const open = OPEN_TAG.exec(trimmed);
    if (open) {
      const name = open[1].toLowerCase();
      const close = `</${name}>`;
      const body: string[] = [];
      let j = i + 1;
      while (j < lines.length && lines[j].trim().toLowerCase() !== close) body.push(lines[j++]);
      if (j >= lines.length) {
        throw new ConfigError(file, lineNo, name, `inline block has no closing ${close}`);
      }
      out.push({ name, args: [], line: lineNo, inline: body.join("\n") + "\n" });
      i = j;
      continue;
    }
    const words = splitWords(lines[i], file, lineNo);
    if (words.length === 0) continue;
    const name = words[0].replace(/^--/, "").toLowerCase();
    out.push({ name, args: words.slice(1), line: lineNo, inline: null });
  }
  return out;
}

function splitWords(line: string, file: string, lineNo: number): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i])) i++;
    if (i >= line.length) break;
    if (line[i] === "#" || line[i] === ";") break;
    let word = "";
    while (i < line.length && !/\s/.test(line[i])) {
      const c = line[i];
      if (c === '"') {
        i++;
        while (i < line.length && line[i] !== '"') {
          if (line[i] === "\\" && i + 1 < line.length) i++;
          word += line[i++];
        }
        if (i >= line.length) throw new ConfigError(file, lineNo, "", "unterminated double quote");
        i++;
      } else if (c === "'") {
        const end = line.indexOf("'", i + 1);
        if (end < 0) throw new ConfigError(file, lineNo, "", "unterminated single quote");
        word += line.slice(i + 1, end);
        i = end + 1;
      } else if (c === "\\" && i + 1 < line.length) {
        word += line[i + 1];
        i += 2;
      } else {
        word += c;
        i++;
      }
    }
    words.push(word);
  }
  return words;
}

/** The option as written, for reports: name plus arguments (quoted when they hold spaces). */
export function optionText(d: OvpnDirective): string {
  if (d.inline !== null) return `<${d.name}>`;
  // push arguments are always written quoted in OpenVPN configs.
  const quote = (a: string) => d.name === "push" || /\s/.test(a) || a === "" ? JSON.stringify(a) : a;
  return [d.name, ...d.args.map(quote)].join(" ");
}
