/** Test support: run the openssl CLI, and know whether it is installed. */

const dec = new TextDecoder();

function hasOpenssl(): boolean {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

/** True when tests that need the openssl CLI must be ignored. */
export const noOpenssl = !hasOpenssl();

/** Runs `openssl ARGS` in `cwd`; `out` is stdout followed by stderr. */
export async function openssl(args: string[], cwd: string): Promise<{ ok: boolean; out: string }> {
  const r = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" }).output();
  return { ok: r.success, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

/** Runs `openssl ARGS` in `cwd` and returns its output; throws with the command and output when it fails. */
export async function runOpenssl(args: string[], cwd: string): Promise<string> {
  const r = await openssl(args, cwd);
  if (!r.ok) throw new Error(`openssl ${args.join(" ")} failed: ${r.out}`);
  return r.out;
}
