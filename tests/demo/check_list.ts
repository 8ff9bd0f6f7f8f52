/**
 * What a demonstration proved: named checks with their evidence, printed as
 * aligned tables, one "FAIL:" line per failed check, and one verdict line.
 * Used by tests/demo/demo.ts; plain data in, text lines out.
 */

export interface Check {
  /** Short name, e.g. "alice pings the server". */
  name: string;
  ok: boolean;
  /** What was observed (an address, an rtt, an error). */
  detail: string;
}

/** Left-aligned columns two spaces apart, indented; no trailing spaces. */
export function formatRows(rows: string[][], indent = "  "): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => widths[i] = Math.max(widths[i] ?? 0, c.length));
  return rows.map((r) =>
    (indent + r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i])).join("  ")).trimEnd()
  );
}

export class CheckList {
  #checks: Check[] = [];

  get checks(): readonly Check[] {
    return this.#checks;
  }

  get failed(): Check[] {
    return this.#checks.filter((c) => !c.ok);
  }

  /** Records one check and returns `ok`, so callers can chain on it. */
  add(name: string, ok: boolean, detail = ""): boolean {
    this.#checks.push({ name, ok, detail });
    return ok;
  }

  /** One row per check: "ok"/"FAIL", name, detail. */
  table(): string[] {
    return formatRows(this.#checks.map((c) => [c.ok ? "ok" : "FAIL", c.name, c.detail]));
  }

  /** A "FAIL: name: detail" line per failed check. */
  failLines(): string[] {
    return this.failed.map((c) => `FAIL: ${c.name}${c.detail ? `: ${c.detail}` : ""}`);
  }

  /** "PASS: all N checks passed" or "FAIL: k of N checks failed"; FAIL when nothing was checked. */
  verdict(): string {
    const n = this.#checks.length;
    if (n === 0) return "FAIL: nothing was checked";
    const k = this.failed.length;
    return k === 0 ? `PASS: all ${n} checks passed` : `FAIL: ${k} of ${n} checks failed`;
  }

  /** True when at least one check ran and none failed. */
  get passed(): boolean {
    return this.#checks.length > 0 && this.failed.length === 0;
  }
}
