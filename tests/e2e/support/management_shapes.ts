/**
 * The shape of a management reply, to compare tsvpn's answers with a stock
 * openvpn 2.6 server's: line prefixes, field counts and terminators are kept,
 * values are not. `SUCCESS:`/`ERROR:` lines keep their text with numbers
 * replaced by `#` (the same command gets the same words from both); data rows
 * keep their keywords (section titles, row types, state names) and show
 * other fields as `#` (a number), `*` (anything else) or nothing (empty).
 */
import type { TestSession } from "../../../src/testing/ops/session.ts";

/** Literal first fields and header words of OpenVPN's status layouts. */
const KEYWORDS = new Set([
  "OpenVPN CLIENT LIST",
  "Updated",
  "ROUTING TABLE",
  "GLOBAL STATS",
  "Max bcast/mcast queue length",
  "dco_enabled",
  "TITLE",
  "TIME",
  "CLIENT_LIST",
  "ROUTING_TABLE",
  "GLOBAL_STATS",
]);

function fieldShape(field: string): string {
  if (KEYWORDS.has(field) || /^[A-Z][A-Z_]*$/.test(field)) return field;
  if (field === "") return "";
  return /^\d+$/.test(field) ? "#" : "*";
}

function rowShape(text: string, sep: string): string {
  const fields = text.split(sep);
  // Header rows are literal text (OpenVPN's column names).
  if (fields[0] === "HEADER" || fields[0] === "Common Name" || fields[0] === "Virtual Address") {
    return fields.join("|");
  }
  return fields.map(fieldShape).join("|");
}

/** One line's shape. */
export function lineShape(line: string): string {
  if (line === "END") return "END";
  if (/^(SUCCESS|ERROR): /.test(line)) return line.replace(/\d+/g, "#");
  if (line.startsWith("OpenVPN Version: ")) return "OpenVPN Version: *";
  if (line.startsWith("Management Interface for ")) return "Management Interface for *";
  const log = /^(>LOG:)?\d+,[IFNWD]*,/.exec(line);
  if (log) return `${log[1] ?? ""}#,FLAGS,*`;
  const note = /^(>[A-Z_]+:)(.*)$/.exec(line);
  if (note) return note[1] + rowShape(note[2], ",");
  return line.includes("\t") ? "TAB:" + rowShape(line, "\t") : rowShape(line, ",");
}

export function replyShape(lines: string[]): string[] {
  return lines.map(lineShape);
}

/**
 * The reply to the command just sent: one SUCCESS:/ERROR: line, or lines up
 * to END. Real-time lines (">…") that arrive meanwhile go to `notices`.
 */
export async function readReply(s: TestSession, notices: string[], timeoutMs = 10_000): Promise<string[]> {
  const out: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const line = await s.line(Math.max(1, deadline - Date.now()));
    if (line === null) throw new Error(`session closed after ${JSON.stringify(out)}`);
    if (line.startsWith(">")) {
      notices.push(line);
      continue;
    }
    out.push(line);
    if ((out.length === 1 && /^(SUCCESS|ERROR):/.test(line)) || line === "END") return out;
  }
}

/** Sends `command` and returns its reply (see readReply). */
export async function command(s: TestSession, text: string, notices: string[]): Promise<string[]> {
  await s.send(text);
  return await readReply(s, notices);
}
