/**
 * `deno task compile` builds the one-file executable. deno compile needs Deno's
 * runtime binary (denort): it downloads it, or takes the file named by
 * DENORT_BIN. Machines without internet access and without DENORT_BIN cannot
 * compile, so there the test is reported as ignored with that reason.
 */
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;
const DENORT_BIN = Deno.env.get("DENORT_BIN") ?? "";

function runtimeAvailable(): boolean {
  if (DENORT_BIN === "") return false;
  try {
    return Deno.statSync(DENORT_BIN).isFile;
  } catch {
    return false;
  }
}

/** The compile task's own flags, so the test builds exactly what the task builds. */
function compileArgs(output: string): string[] {
  const tasks = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).tasks as Record<string, string>;
  const words = tasks.compile.split(/\s+/);
  assert.equal(words[0], "deno");
  const at = words.indexOf("--output");
  assert.ok(at > 0, "compile task names its --output");
  words[at + 1] = output;
  return words.slice(1);
}

Deno.test("deno task compile declares exactly the permissions tsvpn needs and writes dist/tsvpn", () => {
  const args = compileArgs("dist/tsvpn");
  for (const flag of ["--allow-net", "--allow-ffi", "--allow-read", "--allow-write", "--unstable-net"]) {
    assert.ok(args.includes(flag), flag);
  }
  assert.ok(!args.includes("--allow-all") && !args.includes("-A"), "no blanket permission");
  assert.equal(args.at(-1), "main.ts");
});

Deno.test({
  name: "deno compile builds an executable that answers --version and --help" +
    (runtimeAvailable() ? "" : " (ignored: no DENORT_BIN, and this machine cannot download denort)"),
  ignore: !runtimeAvailable(),
  // Reported as ignored when no runtime can be had: this machine cannot download denort.
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "tsvpn-compile-" });
    try {
      const output = `${dir}/tsvpn`;
      const build = await new Deno.Command(Deno.execPath(), { args: compileArgs(output), cwd: ROOT })
        .output();
      assert.equal(build.code, 0, new TextDecoder().decode(build.stderr));
      const version = await new Deno.Command(output, { args: ["--version"], stdout: "piped" }).output();
      assert.equal(version.code, 0);
      assert.match(new TextDecoder().decode(version.stdout), /^tsvpn \d+\.\d+\.\d+/);
      const help = await new Deno.Command(output, { args: ["--help"], stdout: "piped" }).output();
      assert.match(new TextDecoder().decode(help.stdout), /tsvpn --server/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

if (!runtimeAvailable()) {
  console.log(
    "compile_test: deno compile needs its runtime (denort); set DENORT_BIN to a denort binary to run the build test",
  );
}
