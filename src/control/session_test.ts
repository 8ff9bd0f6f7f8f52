import assert from "node:assert/strict";
import { createControlWrap } from "./control_wrap.ts";
import { DROP_AUTH_FAILED, DROP_REPLAY, VERDICT_OK } from "./drop_counters.ts";
import { ControlSession, type ControlSessionOptions, type SessionEnd, type SessionKey } from "./session.ts";
import { type Clock, systemClock } from "./clock.ts";
import { sharedTestPki } from "../testing/control/pki.ts";
import { pkiVerifier } from "./verifier.ts";
import type { TlsCredentials } from "./tls_channel.ts";
import { until, within } from "../testing/wait.ts";

const pki = await sharedTestPki();
const staticKey = Uint8Array.from({ length: 256 }, (_, i) => (i * 13 + 1) & 0xff);

interface Pair {
  client: ControlSession;
  server: ControlSession;
  toServer: Uint8Array[];
  toClient: Uint8Array[];
  /** How many of `toServer` the server has been handed. */
  deliveredToServer: number;
  clientKeys: SessionKey[];
  serverKeys: SessionKey[];
  errors: string[];
}

/** Two sessions joined by an asynchronous in-memory link that records every packet. */
function pair(o: {
  clientCreds?: TlsCredentials;
  wrap?: "none" | "tls-crypt" | "tls-auth";
  server?: Partial<ControlSessionOptions>;
  client?: Partial<ControlSessionOptions>;
} = {}): Pair {
  const p = {
    toServer: [],
    toClient: [],
    deliveredToServer: 0,
    clientKeys: [],
    serverKeys: [],
    errors: [],
  } as unknown as Pair;
  const wrapCfg = (role: "client" | "server") =>
    o.wrap === "tls-crypt"
      ? createControlWrap({ mode: "tls-crypt", key: staticKey }, role)
      : o.wrap === "tls-auth"
      ? createControlWrap({ mode: "tls-auth", key: staticKey, direction: role === "server" ? 0 : 1 }, role)
      : undefined;
  p.server = new ControlSession({
    role: "server",
    credentials: pki.server,
    verifyPeer: pkiVerifier({ ca: pki.caPem, crl: pki.crlPem, usage: "clientAuth" }),
    wrap: wrapCfg("server"),
    send: (b) => {
      p.toClient.push(b);
      setTimeout(() => p.client.receive(b), 0);
    },
    peerId: 7,
    pushOptions: () => ({
      ifconfig: { local: "10.8.0.2", remoteOrNetmask: "255.255.255.0" },
      topology: "subnet",
      routeGateway: "10.8.0.1",
      ping: 10,
      pingRestart: 60,
    }),
    ...o.server,
  });
  p.client = new ControlSession({
    role: "client",
    credentials: o.clientCreds ?? pki.client,
    verifyPeer: pkiVerifier({ ca: pki.caPem, usage: "serverAuth", expectedName: "server" }),
    wrap: wrapCfg("client"),
    send: (b) => {
      p.toServer.push(b);
      setTimeout(() => (p.server.receive(b), p.deliveredToServer++), 0);
    },
    ...o.client,
  });
  p.client.on("key", (k) => p.clientKeys.push(k));
  p.server.on("key", (k) => p.serverKeys.push(k));
  p.client.on("error", (e) => p.errors.push(`client: ${e.reason}`));
  p.server.on("error", (e) => p.errors.push(`server: ${e.reason}`));
  return p;
}

function shutdown(p: Pair): void {
  p.client.close("test done", false);
  p.server.close("test done", false);
}

Deno.test({
  name: "ControlSession names its device kind in the options string the peer compares (dev-type tap)",
  fn: async () => {
    const p = pair({ server: { devType: "tap" }, client: { devType: "tap" } });
    const pushed = p.client.once("pushReply");
    p.client.start();
    try {
      await within(pushed, 10000, "push reply");
      assert.match(p.server.peer!.remoteOptions, /^V4,dev-type tap,/);
      assert.match(p.client.peer!.remoteOptions, /^V4,dev-type tap,/);
    } finally {
      shutdown(p);
    }
  },
});

for (const wrap of ["none", "tls-auth", "tls-crypt"] as const) {
  Deno.test({
    name: `ControlSession client and server agree on key2, cipher and push options (${wrap})`,
    fn: async () => {
      const p = pair({ wrap, client: { ciphers: ["CHACHA20-POLY1305", "AES-128-GCM"] } });
      const established = p.server.once("established");
      const pushed = p.client.once("pushReply");
      const clientKey = p.client.once("key");
      p.client.start();
      try {
        const est = await within(established, 10000, "established");
        assert.equal(est.peer.commonName, "client1");
        assert.equal(est.peer.tsvpn, "1");
        assert.equal(est.cipher, "AES-128-GCM", "server order wins among the client's offers");
        const reply = await within(pushed, 10000, "push reply");
        assert.equal(reply.options.peerId, 7);
        assert.equal(reply.options.cipher, "AES-128-GCM");
        assert.deepEqual(reply.options.protocolFlags, ["cc-exit"]);
        assert.equal(reply.options.ifconfig?.local, "10.8.0.2");
        const ck = await within(clientKey, 10000, "client key");
        assert.equal(p.serverKeys.length, 1);
        assert.deepEqual(ck.key2, p.serverKeys[0].key2);
        assert.equal(ck.key2.length, 256);
        assert.equal(ck.keyId, 0);
        assert.equal(p.client.peer?.commonName, "server");
        assert.equal(p.client.activeKeyId, 0);
        assert.deepEqual(p.errors, []);
        if (wrap === "tls-crypt") {
          // Replay the newest packet the server has already accepted.
          await until(() => p.deliveredToServer === p.toServer.length, {
            what: "server read all it was sent",
          });
          const replay = p.toServer[p.toServer.length - 1];
          assert.equal(p.server.receive(replay), DROP_REPLAY);
          const forged = replay.slice();
          forged[forged.length - 1] ^= 1;
          assert.equal(p.server.receive(forged), DROP_AUTH_FAILED);
        }
      } finally {
        shutdown(p);
      }
    },
  });
}

Deno.test({
  name: "ControlSession.renegotiate() runs a soft reset to key-id 1 with fresh keys on both sides",
  fn: async () => {
    const p = pair({ wrap: "tls-crypt" });
    const first = p.client.once("key");
    p.client.start();
    try {
      await within(first, 10000, "first key");
      const next = p.client.once("key");
      const retired: number[] = [];
      p.server.on("keyRetired", (e) => retired.push(e.keyId));
      assert.equal(p.server.renegotiate(), true);
      const k1 = await within(next, 10000, "renegotiated key");
      assert.equal(k1.keyId, 1);
      assert.equal(k1.initial, false);
      await until(() => p.serverKeys.length === 2, { what: "the server's key 1" });
      assert.equal(p.serverKeys[1].keyId, 1);
      assert.deepEqual(p.serverKeys[1].key2, k1.key2);
      assert.notDeepEqual(p.serverKeys[0].key2, k1.key2);
      assert.equal(p.client.activeKeyId, 1);
      assert.equal(p.server.activeKeyId, 1);
      // Then the client renegotiates to key-id 2.
      const k2p = p.server.once("key");
      assert.equal(p.client.renegotiate(), true);
      assert.equal((await within(k2p, 10000, "key 2")).keyId, 2);
      assert.deepEqual(p.errors, []);
    } finally {
      shutdown(p);
    }
  },
});

for (
  const [what, creds] of [["revoked", () => pki.revokedClient], [
    "foreign CA",
    () => pki.foreignClient,
  ]] as const
) {
  Deno.test({
    name: `ControlSession server refuses a ${what} client certificate with a clear reason`,
    fn: async () => {
      const p = pair({ clientCreds: creds() });
      const err = p.server.once("error");
      const closed = p.client.once("closed");
      let keys = 0;
      p.server.on("key", () => keys++);
      p.client.start();
      try {
        const e = await within(err, 10000, "server error");
        assert.match(
          e.reason,
          what === "revoked" ? /client certificate refused: .*revoked/i : /client certificate refused/,
        );
        assert.equal(e.kind, "verify");
        const c = await within(closed, 10000, "client closed");
        assert.equal(c.kind, "tls", `the client sees the server's fatal alert (${c.reason})`);
        assert.equal(keys, 0);
        assert.equal(p.server.established, false);
      } finally {
        shutdown(p);
      }
    },
  });
}

Deno.test({
  name: "ControlSession client refuses a server certificate without serverAuth",
  fn: async () => {
    const p = pair({ server: { credentials: pki.clientAsServer } });
    const err = p.client.once("error");
    p.client.start();
    try {
      const e = await within(err, 10000, "client error");
      assert.match(e.reason, /server certificate refused/);
      assert.equal(e.kind, "verify");
    } finally {
      shutdown(p);
    }
  },
});

Deno.test({
  name: "ControlSession server authorize() refusal reaches the client as AUTH_FAILED",
  fn: async () => {
    const p = pair({
      server: { authorize: (peer) => ({ ok: false, reason: `${peer.commonName} is disabled` }) },
    });
    const err = p.client.once("error");
    const clientClosed = p.client.once("closed");
    const serverClosed = p.server.once("closed");
    p.client.start();
    try {
      const e = await within(err, 10000, "client error");
      assert.equal(e.reason, "server refused authentication: client1 is disabled");
      assert.equal(e.kind, "auth-failed");
      assert.equal((await within(clientClosed, 5000, "client closed")).kind, "auth-failed");
      const s = await within(serverClosed, 5000, "server closed");
      assert.deepEqual(s, { kind: "auth-failed", reason: "client refused: client1 is disabled" });
      assert.equal(p.serverKeys.length, 0);
    } finally {
      shutdown(p);
    }
  },
});

/** Established pair, one side says goodbye: the `closed` kinds (session_end.ts) each side reports. */
const goodbyes: {
  name: string;
  act: (p: Pair) => void;
  client: SessionEnd;
  server: SessionEnd | null;
  message?: string;
  /** The side that announces it is leaving and waits for the acknowledgement. */
  leaving?: "client" | "server";
}[] = [
  {
    name: "ControlSession.close() sends EXIT: the server closes with kind exit, the client with kind local",
    act: (p) => p.client.close("user quit"),
    client: { kind: "local", reason: "user quit" },
    server: { kind: "exit", reason: "client sent EXIT" },
    leaving: "client",
  },
  {
    name: "ControlSession.close() on the server sends RESTART: the client closes with kind restart",
    act: (p) => p.server.close("server shutting down", true),
    client: { kind: "restart", reason: "server sent RESTART" },
    server: { kind: "local", reason: "server shutting down" },
    message: "RESTART",
    leaving: "server",
  },
  {
    name: "ControlSession client closes with kind halt on HALT and still emits the message",
    act: (p) => p.server.sendControlMessage("HALT"),
    client: { kind: "halt", reason: "server sent HALT" },
    server: null,
    message: "HALT",
  },
];

for (const g of goodbyes) {
  Deno.test({
    name: g.name,
    fn: async () => {
      // Timers that fire on the leaving side after its goodbye: its exit grace period (2 s) must not be one.
      let after = false;
      const fired: number[] = [];
      const clock: Clock = {
        ...systemClock,
        setTimer: (fn, ms) => systemClock.setTimer(() => (after && fired.push(ms), fn()), ms),
      };
      const p = pair(g.leaving ? { [g.leaving]: { clock } } : {});
      const key = p.client.once("key");
      const messages: string[] = [];
      p.client.on("message", (m) => messages.push(m.text));
      p.client.start();
      try {
        await within(key, 10000, "key");
        const clientClosed = p.client.once("closed");
        const serverClosed = p.server.once("closed");
        after = true;
        g.act(p);
        assert.deepEqual(await within(clientClosed, 5000, "client closed"), g.client);
        if (g.server) assert.deepEqual(await within(serverClosed, 5000, "server closed"), g.server);
        assert.ok(
          fired.every((ms) => ms < 1000),
          `the peer acknowledged the goodbye; timers fired: ${fired}`,
        );
        assert.deepEqual(messages, g.message ? [g.message] : []);
        assert.deepEqual(p.errors, [], "a goodbye is not an error");
      } finally {
        shutdown(p);
      }
    },
  });
}

Deno.test({
  name: "ControlSession client closes with kind protocol when the server pushes a cipher it does not offer",
  fn: async () => {
    const p = pair({
      client: { ciphers: ["AES-128-GCM"] },
      server: { pushOptions: () => ({ extra: ["cipher AES-256-GCM"] }) },
    });
    const err = p.client.once("error");
    p.client.start();
    try {
      const e = await within(err, 10000, "client error");
      assert.equal(e.kind, "protocol", e.reason);
    } finally {
      shutdown(p);
    }
  },
});

Deno.test({
  name: "ControlSession client parses only the option lines screenPush returns, and sees them as received",
  fn: async () => {
    const seen: string[][] = [];
    const p = pair({
      server: {
        pushOptions: () => ({ routes: [{ network: "10.20.0.0", netmask: "255.255.0.0" }], ping: 10 }),
      },
      client: {
        screenPush: (options) => {
          seen.push([...options]);
          return options.filter((o) => !o.startsWith("route "));
        },
      },
    });
    const pushed = p.client.once("pushReply");
    p.client.start();
    try {
      const reply = await within(pushed, 10000, "push reply");
      assert.equal(seen.length, 1);
      assert.ok(seen[0].includes("route 10.20.0.0 255.255.0.0"), seen[0].join(","));
      assert.equal(reply.options.routes, undefined, "the screened-out route was never parsed");
      assert.equal(reply.options.ping, 10);
      assert.ok(!reply.raw.some((o) => o.startsWith("route ")));
    } finally {
      shutdown(p);
    }
  },
});

Deno.test({
  name:
    "ControlSession client closes with kind protocol, before any data key, when screenPush rejects the push",
  fn: async () => {
    const p = pair({ client: { screenPush: () => ({ reject: "pushed option rejected by pull_filter" }) } });
    const closed = p.client.once("closed");
    let pushReplies = 0;
    p.client.on("pushReply", () => pushReplies++);
    p.client.start();
    try {
      const e = await within(closed, 10000, "client closed");
      assert.deepEqual(e, { kind: "protocol", reason: "pushed option rejected by pull_filter" });
      assert.equal(pushReplies, 0);
      assert.equal(p.clientKeys.length, 0, "no data key is installed for a rejected push");
    } finally {
      shutdown(p);
    }
  },
});

Deno.test({
  name: "ControlSession.receive() drops data opcodes and packets from another session",
  fn: async () => {
    const p = pair();
    const key = p.client.once("key");
    p.client.start();
    try {
      await within(key, 10000, "key");
      assert.notEqual(p.server.receive(Uint8Array.of(0x48, 0, 0, 0)), VERDICT_OK);
      const pkt = p.toServer[p.toServer.length - 1].slice();
      pkt[1] ^= 0xff; // sender session id
      assert.notEqual(p.server.receive(pkt), VERDICT_OK);
      assert.ok(p.server.drops.total >= 2);
    } finally {
      shutdown(p);
    }
  },
});

Deno.test({
  name: "ControlSession wipes the key-method 2 secrets (pre-master, randoms) once the key block is derived",
  fn: async () => {
    // Every key source comes from the injected random: pre-master 48 bytes (client), randoms 32 bytes.
    const handedOut: Uint8Array[] = [];
    const recording = (n: number) => {
      const b = crypto.getRandomValues(new Uint8Array(n));
      if (n === 48 || n === 32) handedOut.push(b);
      return b;
    };
    const p = pair({ server: { random: recording }, client: { random: recording } });
    const pushed = p.client.once("pushReply");
    const clientKey = p.client.once("key");
    p.client.start();
    try {
      await within(pushed, 10000, "push reply");
      await within(clientKey, 10000, "client key");
      assert.equal(p.serverKeys.length, 1);
      assert.equal(handedOut.filter((b) => b.length === 48).length, 1, "one pre-master (the client's)");
      assert.equal(handedOut.filter((b) => b.length === 32).length, 4, "two randoms per side");
      for (const b of handedOut) assert.ok(b.every((x) => x === 0), `a ${b.length}-byte key source was kept`);
      assert.deepEqual(p.errors, []);
    } finally {
      shutdown(p);
    }
  },
});
