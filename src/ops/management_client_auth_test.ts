import assert from "node:assert/strict";
import { Logger } from "../log/log.ts";
import { ClientAuthHub, envBlock, splitCommandLine } from "./management_client_auth.ts";

const quiet = new Logger({ level: "error", sink: () => {} });

function hub(pendingTimeoutMs = 60_000): { hub: ClientAuthHub; out: string[] } {
  const h = new ClientAuthHub({ log: quiet, pendingTimeoutMs });
  const out: string[] = [];
  h.attach((t) => out.push(t));
  return { hub: h, out };
}

function reply(h: ClientAuthHub, line: string): string[] {
  const c = h.command(splitCommandLine(line));
  assert.ok(c !== null && c.kind === "reply", line);
  return c.lines;
}

Deno.test("ClientAuthHub.decide() sends >CLIENT:CONNECT with its ENV block; client-auth-nt accepts", async () => {
  const { hub: h, out } = hub();
  const decision = h.decide("CONNECT", 3, 0, { common_name: "alice", untrusted_ip: "192.0.2.1" });
  assert.deepEqual(out, [
    ">CLIENT:CONNECT,3,0\r\n>CLIENT:ENV,common_name=alice\r\n>CLIENT:ENV,untrusted_ip=192.0.2.1\r\n>CLIENT:ENV,END\r\n",
  ]);
  assert.deepEqual(reply(h, "client-auth-nt 3 1"), ["ERROR: client-auth command failed"]);
  assert.deepEqual(reply(h, "client-auth-nt 3 0"), ["SUCCESS: client-auth command succeeded"]);
  assert.deepEqual(await decision, { ok: true, config: [] });
  assert.deepEqual(reply(h, "client-auth-nt 3 0"), ["ERROR: client-auth command failed"]);
  assert.equal(h.pendingCount, 0);
});

Deno.test("ClientAuthHub client-auth takes a block up to END; client-deny sends the client reason", async () => {
  const { hub: h } = hub();
  const first = h.decide("CONNECT", 1, 0, {});
  const c = h.command(["client-auth", "1", "0"]);
  assert.ok(c !== null && c.kind === "block");
  assert.deepEqual(c.finish(['push "route 10.1.0.0 255.255.0.0"']), [
    "SUCCESS: client-auth command succeeded",
  ]);
  assert.deepEqual(await first, { ok: true, config: ['push "route 10.1.0.0 255.255.0.0"'] });

  const second = h.decide("REAUTH", 1, 1, {});
  assert.deepEqual(reply(h, 'client-deny 1 1 "password expired" "Please change your password"'), [
    "SUCCESS: client-deny command succeeded",
  ]);
  assert.deepEqual(await second, { ok: false, reason: "Please change your password" });
  const third = h.decide("CONNECT", 2, 0, {});
  assert.deepEqual(reply(h, 'client-deny 2 0 "no reason for the client"'), [
    "SUCCESS: client-deny command succeeded",
  ]);
  assert.deepEqual(await third, { ok: false, reason: "" });
  assert.deepEqual(reply(h, "client-deny 2 0"), [
    "ERROR: The client-deny command requires at least 3 parameters",
  ]);
  assert.deepEqual(reply(h, 'client-deny x 0 "r"'), ["ERROR: cannot parse CID"]);
  assert.deepEqual(reply(h, 'client-deny 9 0 "r"'), ["ERROR: client-deny command failed"]);
  assert.equal(h.command(["status"]), null);
  assert.equal(h.command([]), null);
});

Deno.test("ClientAuthHub refuses what is not answered in time, withdraws a disconnected client's, and shows pending ones to a late session", async () => {
  const { hub: h, out } = hub(50);
  assert.deepEqual(await h.decide("CONNECT", 4, 0, {}), { ok: false, reason: "authentication timed out" });
  const { hub: h2, out: out2 } = hub();
  const pending = h2.decide("CONNECT", 5, 0, { common_name: "bob" });
  const late: string[] = [];
  const detach = h2.attach((t) => late.push(t));
  assert.deepEqual(late, out2);
  h2.disconnected(5, { common_name: "bob", bytes_received: "0" });
  assert.deepEqual(await pending, { ok: false, reason: "client disconnected" });
  assert.equal(
    late[1],
    ">CLIENT:DISCONNECT,5\r\n>CLIENT:ENV,common_name=bob\r\n>CLIENT:ENV,bytes_received=0\r\n>CLIENT:ENV,END\r\n",
  );
  detach();
  h2.established(6, {});
  assert.equal(late.length, 2);
  assert.equal(out2[out2.length - 1], ">CLIENT:ESTABLISHED,6\r\n>CLIENT:ENV,END\r\n");
  assert.equal(out.length, 1);
});

Deno.test("envBlock() keeps a block whole when a value carries CR or LF", () => {
  assert.equal(
    envBlock(">CLIENT:ESTABLISHED,1", { a: "x\r\n>CLIENT:ENV,END" }),
    ">CLIENT:ESTABLISHED,1\r\n>CLIENT:ENV,a=x__>CLIENT:ENV,END\r\n>CLIENT:ENV,END\r\n",
  );
});

Deno.test("splitCommandLine() groups double quotes and honours backslash escapes inside them", () => {
  assert.deepEqual(splitCommandLine('client-deny 1 0 "bad \\"pw\\"" "try again"'), [
    "client-deny",
    "1",
    "0",
    'bad "pw"',
    "try again",
  ]);
  assert.deepEqual(splitCommandLine('  a  ""  b '), ["a", "", "b"]);
});
