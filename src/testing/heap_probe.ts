/**
 * Test support for "allocates nothing per packet": runs a script in a child
 * Deno whose young generation is fixed at 64 MB, so no scavenge runs during a
 * measured window and heapUsed growth over it is the allocation (see
 * ffi/README.md). The script prints one JSON document; that is the result.
 */

/** Runs `script` (read from stdin) with `permissions` (e.g. ["-A"]); its printed JSON, or a throw with its stderr. */
export async function runHeapProbe<T = Record<string, number>>(
  script: string,
  permissions: string[] = [],
): Promise<T> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, "--v8-flags=--min-semi-space-size=64,--max-semi-space-size=64", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  if (code !== 0) throw new Error(`heap probe exited with ${code}: ${new TextDecoder().decode(stderr)}`);
  return JSON.parse(new TextDecoder().decode(stdout)) as T;
}
