/**
 * Test support for /metrics: the Prometheus text format read into a map of
 * `name{labels}` → value (labels as rendered), and `promtool check metrics`
 * (Debian's prometheus package) run on a text when promtool is installed.
 * For tests only.
 */

/** Every sample line of `text`, keyed by its series as written (`name` or `name{a="x",b="y"}`). */
export function parseMetricsText(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

/** True when `promtool` is on PATH. */
export function havePromtool(): boolean {
  try {
    return new Deno.Command("promtool", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

/**
 * Runs `promtool check metrics` on `text` and throws with its output when it
 * finds a problem (lint warnings included). Without promtool it returns false
 * (the caller's test still checked the values).
 */
export async function promtoolCheck(text: string): Promise<boolean> {
  if (!havePromtool()) return false;
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success || said.trim() !== "") {
    throw new Error(`promtool check metrics: ${said}\n--- text ---\n${text}`);
  }
  return true;
}
