import assert from "node:assert/strict";
import { ControlSession, type ControlSessionOptions, type SessionKey } from "./session.ts";
import type { AuthDecision, AuthRequest } from "./session_types.ts";
import { sharedTestPki } from "../testing/control/pki.ts";
import { pkiVerifier } from "./verifier.ts";
import { until, within } from "../testing/wait.ts";

const pki = await sharedTestPki();

interface Pair {
  client: ControlSession;
  server: ControlSession;
  serverKeys: SessionKey[];
  clientKeys: SessionKey[];
}

/** Two sessions joined by an asynchronous in-memory link. */
function pair(server: Partial<ControlSessionOptions>, client: Partial<ControlSessionOptions>): Pair {
  const p = { serverKeys: [], clientKeys: [] } as unknown as Pair;
  p.server = new ControlSession({
    role: "server",
    credentials: pki.server,
    verifyPeer: pkiVerifier({ ca: pki.caPem, crl: pki.crlPem, usage: "clientAuth" }),
    send: (b) => setTimeout(() => p.client.receive(b), 0),
    peerId: 1,
    pushOptions: () => ({
      ifconfig: { local: "10.8.0.2", remoteOrNetmask: "255.255.255.0" },
      topology: "subnet",
    }),
    ...server,
  });
  p.client = new ControlSession({
    role: "client",
    credentials: pki.client,
    verifyPeer: pkiVerifier({ ca: pki.caPem, usage: "serverAuth", expectedName: "server" }),
    send: (b) => setTimeout(() => p.server.receive(b), 0),
    ...client,
  });
  p.client.on("key", (k) => p.clientKeys.push(k));
  p.server.on("key", (k) => p.serverKeys.push(k));
  return p;
}

function shutdown(p: Pair): void {
  p.client.close("test done", false);
  p.server.close("test done", false);
}

Deno.test("ControlSession carries the client's username/password in key-method 2 and waits for a deferred authorize()", async () => {
  const requests: AuthRequest[] = [];
  let decide!: (d: AuthDecision) => void;
  const asked = Promise.withResolvers<void>();
  const p = pair({
    authorize: (_peer, auth) => {
      requests.push({ ...auth });
      asked.resolve();
      return new Promise((r) => decide = r);
    },
  }, { userPass: () => ({ username: "alice", password: "pw 1" }) });
  const clientKey = p.client.once("key");
  p.client.start();
  try {
    await within(asked.promise, 10000, "authorize asked");
    assert.deepEqual(requests, [{ username: "alice", password: "pw 1", keyId: 0, initial: true }]);
    assert.equal(p.serverKeys.length, 0, "no key before the decision");
    decide({ ok: true });
    await within(clientKey, 10000, "client key");
    assert.equal(p.server.peer?.username, "alice");
  } finally {
    shutdown(p);
  }
});

Deno.test("ControlSession client hands a pushed auth-token (first push and a later renewal) to authToken() and keeps it out of the push", async () => {
  const tokens: string[] = [];
  const p = pair({
    pushOptions: () => ({
      ifconfig: { local: "10.8.0.2", remoteOrNetmask: "255.255.255.0" },
      extra: ["auth-token T1"],
    }),
  }, { userPass: () => ({ username: "alice", password: "pw" }), authToken: (t) => tokens.push(t) });
  const pushed = p.client.once("pushReply");
  p.client.start();
  try {
    const reply = await within(pushed, 10000, "push");
    assert.deepEqual(tokens, ["T1"]);
    assert.ok(!reply.raw.some((o) => o.includes("auth-token")), reply.raw.join(","));
    assert.equal(reply.options.extra, undefined);
    p.server.sendControlMessage("PUSH_REPLY,auth-token T2");
    await until(() => tokens.length === 2 || null, {
      what: "the renewed token",
      timeoutMs: 5000,
      intervalMs: 5,
    });
    assert.deepEqual(tokens, ["T1", "T2"]);
  } finally {
    shutdown(p);
  }
});

Deno.test("ControlSession server reauthorize() checks each renegotiation: accepted keys rotate, a refusal is AUTH_FAILED and the end", async () => {
  const reauths: AuthRequest[] = [];
  let verdict: AuthDecision = { ok: true };
  let password = "pw";
  const p = pair({
    authorize: () => ({ ok: true }),
    reauthorize: (_peer, auth) => {
      reauths.push({ ...auth });
      return Promise.resolve(verdict);
    },
  }, { userPass: () => ({ username: "alice", password }) });
  const first = p.client.once("key");
  p.client.start();
  try {
    await within(first, 10000, "first key");
    password = "SESS_ID_AT_token";
    const second = p.client.once("key");
    assert.equal(p.server.renegotiate(), true);
    assert.equal((await within(second, 10000, "renegotiated key")).keyId, 1);
    assert.deepEqual(reauths, [{
      username: "alice",
      password: "SESS_ID_AT_token",
      keyId: 1,
      initial: false,
    }]);

    verdict = { ok: false, reason: "token expired" };
    const clientClosed = p.client.once("closed");
    const serverClosed = p.server.once("closed");
    assert.equal(p.server.renegotiate(), true);
    assert.deepEqual(await within(clientClosed, 10000, "client closed"), {
      kind: "auth-failed",
      reason: "server refused authentication: token expired",
    });
    assert.equal((await within(serverClosed, 10000, "server closed")).kind, "auth-failed");
    assert.equal(p.serverKeys.length, 2);
  } finally {
    shutdown(p);
  }
});

Deno.test("ControlSession server refuses a renegotiation that changes the username", async () => {
  let username = "alice";
  const p = pair({ authorize: () => ({ ok: true }), reauthorize: () => ({ ok: true }) }, {
    userPass: () => ({ username, password: "pw" }),
  });
  const first = p.client.once("key");
  p.client.start();
  try {
    await within(first, 10000, "first key");
    username = "root";
    const clientClosed = p.client.once("closed");
    p.server.renegotiate();
    assert.deepEqual(await within(clientClosed, 10000, "client closed"), {
      kind: "auth-failed",
      reason: "server refused authentication: username changed during renegotiation",
    });
  } finally {
    shutdown(p);
  }
});
