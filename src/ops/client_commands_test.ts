import assert from "node:assert/strict";
import type { ClientControl, ClientSignal, ClientSnapshot } from "./client_control.ts";
import { executeClientCommand } from "./client_commands.ts";

function fakeControl(): ClientControl & { signals: ClientSignal[] } {
  const snapshot: ClientSnapshot = {
    version: "0.1.0",
    mode: "client",
    pid: 42,
    state: "connected",
    remote: "172.31.0.1:1194",
    address: "10.8.0.2/24",
    address6: null,
    connects: 1,
    lastError: null,
    tunReadBytes: 48,
    tunWriteBytes: 84,
    linkReadBytes: 132,
    linkWriteBytes: 96,
    drops: { replay: 0 },
    meshPeers: [],
  };
  const lines = ["1796478342,CONNECTING,,,,,,", "1796478344,CONNECTED,SUCCESS,10.8.0.2,172.31.0.1,1194,,"];
  const signals: ClientSignal[] = [];
  return {
    signals,
    snapshot: () => snapshot,
    stateLines: (n?: number) => n === undefined ? [...lines] : lines.slice(-n),
    signal: (s) => void signals.push(s),
  };
}

const run = (line: string, control = fakeControl()) =>
  executeClientCommand(line, { control, version: "0.1.0", pid: 42, now: () => 1796478345_000 });

Deno.test("client state: the newest line, N lines or all, each reply ending with END", () => {
  assert.deepEqual(run("state")?.lines, ["1796478344,CONNECTED,SUCCESS,10.8.0.2,172.31.0.1,1194,,", "END"]);
  assert.equal(run("state all")?.lines.length, 3);
  assert.equal(run("state 1")?.lines.length, 2);
  assert.deepEqual(run("state sideways")?.lines, ["ERROR: state parameter must be a number or 'all'"]);
});

Deno.test("client status: OpenVPN's client statistics block for every format, json for tsvpn status", () => {
  const block = run("status")!.lines;
  assert.equal(block[0], "OpenVPN STATISTICS");
  assert.match(block[1], /^Updated,\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.deepEqual(block.slice(2), [
    "TUN/TAP read bytes,48",
    "TUN/TAP write bytes,84",
    "TCP/UDP read bytes,132",
    "TCP/UDP write bytes,96",
    "Auth read bytes,0",
    "END",
  ]);
  assert.deepEqual(run("status 2")!.lines.slice(2), block.slice(2));
  const json = run("status json")!.lines;
  assert.equal(JSON.parse(json[0]).address, "10.8.0.2/24");
  assert.equal(json[1], "END");
  assert.deepEqual(run("status 7")?.lines, ["ERROR: bad status format version number"]);
});

Deno.test("client signal: the four OpenVPN signals reach the client, anything else is refused", () => {
  const control = fakeControl();
  assert.deepEqual(run("signal SIGUSR1", control)?.lines, ["SUCCESS: signal SIGUSR1 thrown"]);
  assert.deepEqual(run("signal sighup", control)?.lines, ["SUCCESS: signal SIGHUP thrown"]);
  assert.match(run("signal SIGKILL", control)!.lines[0], /^ERROR: /);
  assert.match(run("signal", control)!.lines[0], /^ERROR: /);
  assert.deepEqual(control.signals, ["SIGUSR1", "SIGHUP"]);
});

Deno.test("client management: pid, version, load-stats, help, quit and unknown commands", () => {
  assert.deepEqual(run("pid")?.lines, ["SUCCESS: pid=42"]);
  assert.equal(run("version")?.lines.at(-1), "END");
  assert.deepEqual(run("load-stats")?.lines, ["SUCCESS: nclients=0,bytesin=132,bytesout=96"]);
  assert.equal(run("help")?.lines.at(-1), "END");
  assert.deepEqual(run("quit"), { lines: [], close: true });
  assert.equal(run("   "), null);
  assert.match(run("client-kill 3")!.lines[0], /^ERROR: unknown command/);
});
