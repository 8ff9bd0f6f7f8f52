import assert from "node:assert/strict";
import { DEFAULT_STATE_DIR, parseCommandLine } from "./args.ts";
import { UsageError } from "./command_io.ts";

Deno.test("parseCommandLine() reads --server with optional config and state dir", () => {
  assert.deepEqual(parseCommandLine(["--server"]), {
    kind: "server",
    config: undefined,
    stateDir: DEFAULT_STATE_DIR,
    logLevel: undefined,
  });
  assert.deepEqual(parseCommandLine(["--server", "--config", "s.yaml", "--state-dir", "/tmp/x", "-v"]), {
    kind: "server",
    config: "s.yaml",
    stateDir: "/tmp/x",
    logLevel: "debug",
  });
});

Deno.test("parseCommandLine() requires --config for --client", () => {
  assert.throws(() => parseCommandLine(["--client"]), {
    name: "UsageError",
    message: /--client needs --config/,
  });
  assert.deepEqual(parseCommandLine(["--client", "--config", "c.ovpn", "-q"]), {
    kind: "client",
    config: "c.ovpn",
    logLevel: "warn",
  });
});

Deno.test("parseCommandLine() rejects unknown flags and missing values with one line", () => {
  for (
    const argv of [["--bogus"], ["--server", "--config"], ["--server", "--client"], ["-v", "-q", "--server"]]
  ) {
    try {
      parseCommandLine(argv);
      assert.fail(`accepted ${argv.join(" ")}`);
    } catch (err) {
      assert.ok(err instanceof UsageError, String(err));
      assert.ok(!err.message.includes("\n"), err.message);
    }
  }
});

Deno.test("parseCommandLine() hands subcommands their own arguments", () => {
  assert.deepEqual(parseCommandLine(["pki", "init", "--dir", "x"]), {
    kind: "sub",
    name: "pki",
    args: ["init", "--dir", "x"],
  });
  assert.deepEqual(parseCommandLine(["status", "--json"]), { kind: "sub", name: "status", args: ["--json"] });
});

Deno.test("parseCommandLine() shows help for no arguments, --help and -h", () => {
  for (const argv of [[], ["--help"], ["-h"]]) assert.deepEqual(parseCommandLine(argv), { kind: "help" });
  assert.deepEqual(parseCommandLine(["--version"]), { kind: "version" });
});
