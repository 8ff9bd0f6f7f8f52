import assert from "node:assert/strict";
import { Logger } from "./log.ts";

const fixed = () => new Date("2026-01-02T03:04:05.000Z");

Deno.test("Logger writes levelled lines with timestamp, scope and fields", () => {
  const lines: string[] = [];
  const log = new Logger({ level: "info", sink: (l) => lines.push(l), now: fixed, scope: "server" });
  log.info("client connected", { name: "alice", addr: "10.8.0.2" });
  log.debug("hidden");
  log.error("bad thing", { why: "two words" });
  assert.deepEqual(lines, [
    "2026-01-02T03:04:05.000Z INFO  [server] client connected name=alice addr=10.8.0.2",
    '2026-01-02T03:04:05.000Z ERROR [server] bad thing why="two words"',
  ]);
});

Deno.test("Logger.level can be raised to debug and children inherit it", () => {
  const lines: string[] = [];
  const log = new Logger({ level: "warn", sink: (l) => lines.push(l), now: fixed });
  assert.equal(log.debugEnabled, false);
  log.level = "debug";
  assert.equal(log.debugEnabled, true);
  log.child("tun").debug("x");
  assert.deepEqual(lines, ["2026-01-02T03:04:05.000Z DEBUG [tun] x"]);
});
