import assert from "node:assert/strict";
import { executeCommand, MANAGEMENT_GREETING } from "./management_commands.ts";
import { FakeServerControl } from "../testing/ops/control.ts";

const ctx = () => ({ control: new FakeServerControl(), version: "9.9.9", pid: 42 });

Deno.test("MANAGEMENT_GREETING is OpenVPN's version 5 banner", () => {
  assert.equal(
    MANAGEMENT_GREETING,
    ">INFO:OpenVPN Management Interface Version 5 -- type 'help' for more info",
  );
});

Deno.test("executeCommand() ignores blank lines and closes on quit and exit", async () => {
  assert.equal(await executeCommand("  \t ", ctx()), null);
  assert.deepEqual(await executeCommand("quit", ctx()), { lines: [], close: true });
  assert.deepEqual(await executeCommand(" EXIT ", ctx()), { lines: [], close: true });
});

Deno.test("executeCommand() ends every multi-line reply with END and one-line replies with none", async () => {
  for (
    const cmd of [
      "help",
      "version",
      "status",
      "status table",
      "status 1",
      "status 2",
      "status 3",
      "status json",
    ]
  ) {
    const r = (await executeCommand(cmd, ctx()))!;
    assert.equal(r.lines.at(-1), "END", cmd);
    assert.equal(r.lines.filter((l) => l === "END").length, 1, cmd);
    assert.equal(r.close, false);
  }
  for (const cmd of ["pid", "load-stats", "kill alice", "kill zed", "reload-crl", "status x", "nonsense"]) {
    const r = (await executeCommand(cmd, ctx()))!;
    assert.equal(r.lines.length, 1, cmd);
    assert.match(r.lines[0], /^(SUCCESS|ERROR): /, cmd);
  }
});

Deno.test("executeCommand() kill passes the name and a reason to ServerControl.kill()", async () => {
  const c = ctx();
  const r = await executeCommand("kill   bob  ", c);
  assert.deepEqual(r!.lines, ["SUCCESS: common name 'bob' found, 1 client(s) killed"]);
  assert.deepEqual(c.control.kills, [{ name: "bob", reason: "killed by the management interface" }]);
  // OpenVPN 2.6 reads the first parameter and ignores the rest.
  assert.deepEqual((await executeCommand("kill a b", c))!.lines, ["ERROR: common name 'a' not found"]);
  assert.deepEqual((await executeCommand("kill", c))!.lines, [
    "ERROR: the 'kill' command requires 1 parameter",
  ]);
});
