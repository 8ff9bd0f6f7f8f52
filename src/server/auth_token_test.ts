import assert from "node:assert/strict";
import { AUTH_TOKEN_PREFIX, AuthTokens, isAuthToken, parseAuthTokenSecret } from "./auth_token.ts";

const SECRET = new Uint8Array(32).fill(7);

function tokens(now: { s: number }, lifetimeS = 0, secret = SECRET): AuthTokens {
  let counter = 0;
  return new AuthTokens({
    secret,
    lifetimeS,
    now: () => now.s,
    random: (n) => new Uint8Array(n).fill(++counter),
  });
}

Deno.test("AuthTokens.issue() makes OpenVPN-shaped tokens that check() accepts for the same username and common name", () => {
  const now = { s: 1_700_000_000 };
  const t = tokens(now);
  const token = t.issue("alice", "alice-laptop");
  assert.ok(token.startsWith(AUTH_TOKEN_PREFIX));
  assert.equal(token.length, AUTH_TOKEN_PREFIX.length + 80);
  assert.ok(isAuthToken(token));
  const r = t.check(token, "alice", "alice-laptop");
  assert.equal(r.status, "valid");
  assert.equal(r.status === "valid" && r.initialS, now.s);
  // A renewal keeps the session id and first-login time.
  now.s += 100;
  const renewed = t.issue("alice", "alice-laptop", r.status === "valid" ? r : undefined);
  const r2 = t.check(renewed, "alice", "alice-laptop");
  assert.deepEqual(r2, r);
});

Deno.test("AuthTokens.check() refuses a token for another username, another certificate, another secret, or altered", () => {
  const now = { s: 1_700_000_000 };
  const t = tokens(now);
  const token = t.issue("alice", "alice-laptop");
  assert.deepEqual(t.check(token, "bob", "alice-laptop"), { status: "invalid" });
  assert.deepEqual(t.check(token, "alice", "bob-laptop"), { status: "invalid" });
  // Shifting a character between username and common name must not keep the MAC valid.
  assert.deepEqual(t.check(token, "alicea", "lice-laptop"), { status: "invalid" });
  assert.deepEqual(tokens(now, 0, new Uint8Array(32).fill(8)).check(token, "alice", "alice-laptop"), {
    status: "invalid",
  });
  const body = token.slice(AUTH_TOKEN_PREFIX.length);
  for (const i of [0, 20, 40, 79]) {
    const flipped = body.slice(0, i) + (body[i] === "A" ? "B" : "A") + body.slice(i + 1);
    assert.deepEqual(
      t.check(AUTH_TOKEN_PREFIX + flipped, "alice", "alice-laptop"),
      { status: "invalid" },
      `char ${i}`,
    );
  }
  assert.deepEqual(t.check("SESS_ID_AT_" + "!".repeat(80), "alice", "alice-laptop"), { status: "invalid" });
  assert.deepEqual(t.check("password", "alice", "alice-laptop"), { status: "invalid" });
});

Deno.test("AuthTokens.check() says expired once lifetime seconds passed since the first login", () => {
  const now = { s: 1_700_000_000 };
  const t = tokens(now, 600);
  const token = t.issue("alice", "a");
  now.s += 600;
  assert.equal(t.check(token, "alice", "a").status, "valid");
  now.s += 1;
  assert.deepEqual(t.check(token, "alice", "a"), { status: "expired" });
});

Deno.test("parseAuthTokenSecret() reads OpenVPN's auth-token PEM and refuses short secrets", () => {
  const b64 = btoa(String.fromCharCode(...new Uint8Array(48).fill(3)));
  const pem =
    `-----BEGIN OpenVPN auth-token server key-----\n${b64}\n-----END OpenVPN auth-token server key-----\n`;
  assert.deepEqual(parseAuthTokenSecret(pem), new Uint8Array(48).fill(3));
  assert.throws(() => parseAuthTokenSecret("short"), /at least 32 bytes/);
  assert.throws(
    () =>
      new AuthTokens({
        secret: new Uint8Array(8),
        lifetimeS: 0,
        now: () => 0,
        random: (n) => new Uint8Array(n),
      }),
    /at least 32/,
  );
});
