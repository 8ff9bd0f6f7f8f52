import assert from "node:assert/strict";
import type { PeerContext } from "../control/listener.ts";
import type { AuthRequest, PeerIdentity } from "../control/session.ts";
import { Logger } from "../log/log.ts";
import type { ClientAuthGate, GateDecision } from "../ops/client_auth_gate.ts";
import type { AuthScript, AuthScriptSubject } from "./auth_script.ts";
import { AuthTokens } from "./auth_token.ts";
import { clientAuthPushes, UserAuth } from "./user_auth.ts";

const PEER: PeerIdentity = {
  commonName: "alice",
  serial: "01",
  certificate: new Uint8Array(0),
  chain: [],
  peerInfo: new Map([["IV_VER", "2.6.12"]]),
  ivProto: 0,
  remoteOptions: "",
  username: "alice",
  tsvpn: null,
};

/** A script fake: accepts `password`, records what it was asked. */
function fakeScript(password: string): AuthScript & { asked: AuthScriptSubject[] } {
  const asked: AuthScriptSubject[] = [];
  return {
    asked,
    check: (s: AuthScriptSubject) => {
      asked.push({ ...s });
      return Promise.resolve(
        s.password === password ? { ok: true } : { ok: false, reason: "authentication failed" },
      );
    },
  } as unknown as AuthScript & { asked: AuthScriptSubject[] };
}

function makeTokens(): AuthTokens {
  let n = 0;
  return new AuthTokens({
    secret: new Uint8Array(32).fill(1),
    lifetimeS: 0,
    now: () => 1_700_000_000,
    random: (k) => new Uint8Array(k).fill(++n),
  });
}

const quiet = new Logger({ level: "error", sink: () => {} });

function request(password: string, initial = true, username = "alice"): AuthRequest {
  return { username, password, keyId: initial ? 0 : 1, initial };
}

Deno.test("UserAuth.decide() runs the script for a password and refuses a client that sent none", async () => {
  const script = fakeScript("pw");
  const ua = new UserAuth({ script, tokens: null, gated: false, gate: () => null, log: quiet });
  const ctx: PeerContext = { peerId: 1, remote: "192.0.2.1:5000", transport: "udp" };
  assert.deepEqual(await ua.decide(PEER, ctx, request("pw")), { ok: true });
  assert.deepEqual(await ua.decide(PEER, ctx, request("nope")), {
    ok: false,
    reason: "authentication failed",
  });
  assert.deepEqual(await ua.decide(PEER, ctx, request("", true, "")), {
    ok: false,
    reason: "username and password required",
  });
  assert.equal(script.asked.length, 2);
  assert.equal(ua.tokenFor(ctx), null);
});

Deno.test("UserAuth with tokens: the script runs once, the session's token then stands in for the password", async () => {
  const script = fakeScript("pw-and-2fa-code");
  const tokens = makeTokens();
  const ua = new UserAuth({ script, tokens, gated: false, gate: () => null, log: quiet });
  const ctx: PeerContext = { peerId: 1, remote: "192.0.2.1:5000", transport: "udp" };
  assert.deepEqual(await ua.decide(PEER, ctx, request("pw-and-2fa-code")), { ok: true });
  assert.equal(script.asked[0].session?.state, "Initial");
  const token = ua.tokenFor(ctx)!;
  assert.ok(token.startsWith("SESS_ID_AT_"));
  // Renegotiations with the token: no script.
  assert.deepEqual(await ua.decide(PEER, ctx, request(token, false)), { ok: true });
  assert.deepEqual(await ua.decide(PEER, ctx, request(token, false)), { ok: true });
  assert.equal(script.asked.length, 1);
  // A token for another username, or a forged one, is refused.
  assert.deepEqual(await ua.decide(PEER, ctx, request(token, false, "bob")), {
    ok: false,
    reason: "authentication failed",
  });
  const forged = token.slice(0, -2) + (token.endsWith("AA") ? "BB" : "AA");
  assert.deepEqual(await ua.decide(PEER, ctx, request(forged, false)), {
    ok: false,
    reason: "authentication failed",
  });
  // Another session's token is no good at this session's renegotiation, but resumes a new session.
  const other: PeerContext = { peerId: 2, remote: "192.0.2.2:5000", transport: "udp" };
  assert.deepEqual(await ua.decide(PEER, other, request("pw-and-2fa-code")), { ok: true });
  const otherToken = ua.tokenFor(other)!;
  assert.deepEqual(await ua.decide(PEER, ctx, request(otherToken, false)), {
    ok: false,
    reason: "authentication failed",
  });
  const resumed: PeerContext = { peerId: 3, remote: "192.0.2.1:5001", transport: "udp" };
  assert.deepEqual(await ua.decide(PEER, resumed, request(token)), { ok: true });
  assert.equal(script.asked.length, 2);
});

Deno.test("UserAuth with management.client_auth asks the gate (CONNECT, then REAUTH) after the script, and refuses while no gate is attached", async () => {
  const asked: [string, number, number, Record<string, string>][] = [];
  let answer: GateDecision = {
    ok: true,
    config: ['push "route 10.99.0.0 255.255.0.0"', "iroute 10.5.0.0 255.255.0.0"],
  };
  const gate: ClientAuthGate = {
    decide: (kind, cid, kid, env) => {
      asked.push([kind, cid, kid, env]);
      return Promise.resolve(answer);
    },
    established: () => {},
    disconnected: () => {},
  };
  let attached: ClientAuthGate | null = null;
  const ua = new UserAuth({ script: null, tokens: null, gated: true, gate: () => attached, log: quiet });
  const ctx: PeerContext = { peerId: 7, remote: "192.0.2.1:5000", transport: "udp" };
  assert.deepEqual(await ua.decide(PEER, ctx, request("")), {
    ok: false,
    reason: "server is not ready to authenticate",
  });
  attached = gate;
  assert.deepEqual(await ua.decide(PEER, ctx, request("pw")), { ok: true });
  assert.deepEqual(
    ua.pushExtra(ctx),
    ["route 10.99.0.0 255.255.0.0"],
    "client-auth push lines reach the push",
  );
  answer = { ok: false, reason: "go away" };
  assert.deepEqual(await ua.decide(PEER, ctx, request("pw", false)), { ok: false, reason: "go away" });
  assert.deepEqual(asked.map(([k, c, kid]) => [k, c, kid]), [["CONNECT", 7, 0], ["REAUTH", 7, 1]]);
  assert.equal(asked[0][3].common_name, "alice");
  assert.equal(asked[0][3].username, "alice");
  assert.equal(asked[0][3].untrusted_ip, "192.0.2.1");
  assert.equal(asked[0][3].password, undefined);
  assert.equal(asked[0][3].IV_VER, "2.6.12");
});

Deno.test("clientAuthPushes() takes push lines (quoted or not) and drops others, commas and control characters", () => {
  const lines: string[] = [];
  const log = new Logger({ level: "warn", sink: (l) => lines.push(l) });
  assert.deepEqual(
    clientAuthPushes([
      'push "route 10.1.0.0 255.255.0.0"',
      "push dhcp-option DNS 10.1.0.1",
      "# comment",
      "",
      "ifconfig-push 10.8.0.9 255.255.255.0",
      'push "route 10.2.0.0 255.255.0.0,redirect-gateway def1"',
      'push "ping\r\n"',
    ], log),
    ["route 10.1.0.0 255.255.0.0", "dhcp-option DNS 10.1.0.1"],
  );
  assert.equal(lines.length, 3, lines.join("\n"));
});
