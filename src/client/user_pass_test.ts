import assert from "node:assert/strict";
import { Logger } from "../log/log.ts";
import { parseUserPassFile, UserPassSource } from "./user_pass.ts";

Deno.test("parseUserPassFile() reads the username and password lines and refuses a file without them", () => {
  assert.deepEqual(parseUserPassFile("alice\npw with spaces\n", "f"), {
    username: "alice",
    password: "pw with spaces",
  });
  assert.deepEqual(parseUserPassFile("alice\r\npw\r\n", "f"), { username: "alice", password: "pw" });
  assert.throws(() => parseUserPassFile("", "/x.pass"), /\/x\.pass: expected a username on the first line/);
  assert.throws(() => parseUserPassFile("alice", "/x.pass"), /expected a password on the second line/);
  assert.throws(() => parseUserPassFile("alice\n" + "p".repeat(5000), "f"), /longer than 4096 bytes/);
});

Deno.test("UserPassSource sends the auth-token instead of the password once pushed, and the password again after clearToken()", () => {
  const s = new UserPassSource({ username: "alice", password: "pw" });
  assert.deepEqual(s.current(), { username: "alice", password: "pw" });
  assert.equal(s.clearToken(), false);
  s.tokenReceived("SESS_ID_AT_xyz");
  assert.deepEqual(s.current(), { username: "alice", password: "SESS_ID_AT_xyz" });
  assert.equal(s.clearToken(), true);
  assert.deepEqual(s.current(), { username: "alice", password: "pw" });
});

Deno.test("UserPassSource.fromFile() names the file it cannot read", async () => {
  await assert.rejects(
    UserPassSource.fromFile("/nonexistent/alice.pass"),
    /Cannot read auth\.user_pass_file \/nonexistent\/alice\.pass/,
  );
});

Deno.test("UserPassSource.authFailed() drops a refused token and retries, exits on a refused password, backs off on TEMP", () => {
  const lines: string[] = [];
  const log = new Logger({ level: "info", sink: (l) => lines.push(l) });
  const s = new UserPassSource({ username: "alice", password: "pw" });
  assert.equal(s.tokenReceived("SESS_ID_AT_tok1"), true);
  assert.equal(s.tokenReceived("SESS_ID_AT_tok2"), false);
  assert.equal(s.authFailed("refused (AUTH_FAILED): SESSION: token expired", log), "retry");
  assert.deepEqual(s.current(), { username: "alice", password: "pw" });
  assert.equal(s.authFailed("refused (AUTH_FAILED): TEMP[backoff 5]: busy", log), null);
  assert.equal(s.authFailed("refused (AUTH_FAILED): bad password", log), "exit");
  assert.match(lines[lines.length - 1], /bad password; exiting \(check auth\.user_pass_file\)/);
  assert.ok(!lines.some((l) => l.includes("SESS_ID_AT_") || l.includes('pw"')));
});
