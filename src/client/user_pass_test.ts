import assert from "node:assert/strict";
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
