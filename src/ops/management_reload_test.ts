import assert from "node:assert/strict";
import { executeCommand } from "./management_commands.ts";
import type { ServerControl } from "./server_control.ts";

function control(reload?: () => Promise<string>): ServerControl {
  return {
    snapshot: () => {
      throw new Error("unused");
    },
    kill: () => Promise.resolve(0),
    killAddress: () => Promise.resolve(0),
    killClientId: () => Promise.resolve(false),
    reloadCrl: () => Promise.resolve(0),
    ...(reload ? { reload } : {}),
  };
}

async function reply(c: ServerControl): Promise<string[]> {
  return (await executeCommand("reload", { control: c, version: "0.1.0", pid: 1 }))!.lines;
}

Deno.test("management reload answers SUCCESS with the summary, ERROR with the reason's first line, and ERROR when the server cannot reload", async () => {
  assert.deepEqual(await reply(control(() => Promise.resolve("1 client(s) reconnected"))), [
    "SUCCESS: configuration reloaded: 1 client(s) reconnected",
  ]);
  assert.deepEqual(
    await reply(control(() => Promise.reject(new Error("reload refused: dev.name changed\nstack")))),
    ["ERROR: reload refused: dev.name changed"],
  );
  assert.deepEqual(await reply(control()), ["ERROR: reload is not supported by this server"]);
  const help = (await executeCommand("help", { control: control(), version: "0.1.0", pid: 1 }))!.lines;
  assert.ok(help.some((l) => l.startsWith("reload ")), help.join("\n"));
});
