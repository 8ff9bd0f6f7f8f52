import assert from "node:assert/strict";
import { Logger } from "../log/log.ts";
import { FakeServerControl } from "../testing/ops/control.ts";
import { Lab } from "../testing/server/lab.ts";
import { until } from "../testing/wait.ts";
import { startManagement } from "./management.ts";
import { managementRequest } from "./management_client.ts";
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

Deno.test("management `log level` refuses bad levels and extra words, changing nothing; other forms are OpenVPN's log", async () => {
  const { lines, run } = setup();
  assert.deepEqual(await run("log level verbose"), [
    "ERROR: unknown log level 'verbose' (error, warn, info, debug)",
  ]);
  // Other forms are OpenVPN's `log on|off|all|N` (management_openvpn.ts): without a log history here they are refused.
  assert.deepEqual(await run("log on"), [
    "ERROR: The 'log' command is not supported by the current daemon mode",
  ]);
  assert.deepEqual(await run("log"), ["ERROR: the 'log' command requires at least 1 parameter"]);
  assert.deepEqual(await run("log level debug extra"), [
    "ERROR: only 'log level [error|warn|info|debug]' is supported",
  ]);
  assert.deepEqual(await run("log level"), ["SUCCESS: log level=info"]);
  assert.deepEqual(lines, []);
  const help =
    (await executeCommand("help", { control: new FakeServerControl(), version: "x", pid: 1 }))!.lines;
  assert.ok(help.some((l) => l.startsWith("log level")));
});

Deno.test("`log level debug` over a real management socket turns on the running server's debug logging, datapath included", async () => {
  const lab = await Lab.create();
  try {
    const lines: string[] = [];
    const log = new Logger({ level: "info", sink: (l) => lines.push(l), scope: "server" });
    const server = await lab.startServer({ options: { log } });
    const socketPath = `${lab.pki.dir}/management.sock`;
    const management = await startManagement(socketPath, server.handle.control, { log });
    lab.onClose(() => management.close());
    assert.equal(server.handle.datapath.debug, false);
    assert.deepEqual(await managementRequest(socketPath, "log level debug"), ["SUCCESS: log level=debug"]);
    assert.equal(log.level, "debug");
    // The datapath reads the level at its next tick (once a second).
    await until(() => server.handle.datapath.debug, { what: "the datapath's debug flag", timeoutMs: 5000 });
    assert.deepEqual(await managementRequest(socketPath, "log level info"), ["SUCCESS: log level=info"]);
    await until(() => !server.handle.datapath.debug, {
      what: "the datapath's debug flag off",
      timeoutMs: 5000,
    });
    assert.ok(
      lines.some((l) => / WARN {2}\[server\/management\] log level changed .* from=info to=debug$/.test(l)),
      lines.join("\n"),
    );
  } finally {
    await lab.close();
  }
});
