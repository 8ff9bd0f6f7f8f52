/** Test support: run the openssl CLI, and know whether it is installed. */

import { inTempDir } from "../temp_dir.ts";

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

async function output(args: string[], cwd: string): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const r = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" }).output();
  return { ok: r.success, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

/** Runs `openssl ARGS` in `cwd`; `out` is stdout followed by stderr. */
export async function openssl(args: string[], cwd: string): Promise<{ ok: boolean; out: string }> {
  const r = await output(args, cwd);
  return { ok: r.ok, out: r.stdout + r.stderr };
}

/** Runs `openssl ARGS` in `cwd` and returns its stdout; throws with the command and its output when it fails. */
export async function runOpenssl(args: string[], cwd: string): Promise<string> {
  const r = await output(args, cwd);
  if (!r.ok) throw new Error(`openssl ${args.join(" ")} failed: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** A test that needs the openssl CLI (ignored without it), run in a fresh temporary directory removed afterwards. */
export function opensslTest(name: string, fn: (dir: string) => Promise<void>): void {
  Deno.test(name, { ignore: noOpenssl }, () => inTempDir(fn, "tsvpn_pki_"));
}
