import assert from "node:assert/strict";
import { Logger } from "../log/log.ts";
import { FakeServerControl } from "../testing/ops/control.ts";
import { executeCommand } from "./management_commands.ts";

function setup() {
  const lines: string[] = [];
  const root = new Logger({ level: "info", sink: (l) => lines.push(l), style: "journal" });
  const datapath = root.child("datapath");
  const ctx = { control: new FakeServerControl(), version: "0.1.0", pid: 1, log: root.child("management") };
  const run = async (line: string) => (await executeCommand(line, ctx))!.lines;
  return { lines, datapath, run };
}

Deno.test("management `log level debug` turns debug on for every logger, live; `log level` shows it", async () => {
  const { lines, datapath, run } = setup();
  datapath.debug("before");
  assert.deepEqual(await run("log level"), ["SUCCESS: log level=info"]);
  assert.deepEqual(await run("log level debug"), ["SUCCESS: log level=debug"]);
  datapath.debug("after");
  assert.deepEqual(await run("log level"), ["SUCCESS: log level=debug"]);
  assert.deepEqual(await run("LOG level WARN"), ["SUCCESS: log level=warn"]);
  datapath.info("hidden at warn");
  assert.deepEqual(lines, [
    "<4>[management] log level changed through the management interface from=info to=debug",
    "<7>[datapath] after",
    "<4>[management] log level changed through the management interface from=debug to=warn",
  ]);
});

Deno.test("management `log` refuses other forms and bad levels, changing nothing", async () => {
  const { lines, run } = setup();
  assert.deepEqual(await run("log level verbose"), [
    "ERROR: unknown log level 'verbose' (error, warn, info, debug)",
  ]);
  assert.deepEqual(await run("log on"), ["ERROR: only 'log level [error|warn|info|debug]' is supported"]);
  assert.deepEqual(await run("log"), ["ERROR: only 'log level [error|warn|info|debug]' is supported"]);
  assert.deepEqual(await run("log level debug extra"), [
    "ERROR: only 'log level [error|warn|info|debug]' is supported",
  ]);
  assert.deepEqual(await run("log level"), ["SUCCESS: log level=info"]);
  assert.deepEqual(lines, []);
  const help =
    (await executeCommand("help", { control: new FakeServerControl(), version: "x", pid: 1 }))!.lines;
  assert.ok(help.some((l) => l.startsWith("log level")));
});
