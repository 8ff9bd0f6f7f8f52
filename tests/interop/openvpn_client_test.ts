/**
 * Interop (a), (c), (d) with a stock `openvpn` client against the tsvpn
 * server engine: UDP and TCP, with and without tls-crypt, each AEAD cipher,
 * keepalive pings decrypted with src/data in both directions, certificate
 * refusal, and soft reset. openvpn runs with --dev null on 127.0.0.1.
 */

import assert from "node:assert/strict";
import { ControlListener } from "../../src/control/listener.ts";
import { serveTcp } from "../../src/testing/control/tcp_transport.ts";
import { serveUdp } from "../../src/testing/control/udp_transport.ts";
import { sharedTestPki, type TestPki } from "../../src/testing/control/pki.ts";
import { pkiVerifier } from "../../src/control/verifier.ts";
import type { ControlSession } from "../../src/control/session.ts";
import { generateStaticKey } from "../../src/pki/static_key.ts";
import { Logger } from "../../src/log/log.ts";
import { OPENVPN, PingPeer, SKIP_REASON, spawnOpenvpn, writeStaticKey } from "./openvpn_harness.ts";
import { holds, until } from "../../src/testing/wait.ts";
import { tlsEngine } from "../../src/control/tls_channel.ts";
import { liveSslObjects } from "../../src/control/tls_openssl.ts";

interface Case {
  proto: "udp" | "tcp";
  tlsCrypt: boolean;
  cipher: "AES-256-GCM" | "AES-128-GCM" | "CHACHA20-POLY1305";
  clientCert?: "good" | "revoked" | "foreign";
  renegSec?: number;
  /** openvpn's --tls-version-max. */
  tlsVersionMax?: "1.2";
}

interface CaseResult {
  log: string;
  serverLog: string[];
  peers: PingPeer[];
  sessions: ControlSession[];
  closeReasons: string[];
}

const ALL_CIPHERS = "AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305";

async function runCase(
  pki: TestPki,
  dir: string,
  c: Case,
  body: (
    r: CaseResult,
    wait: (re: RegExp, ms: number) => Promise<string>,
    log: () => string,
  ) => Promise<void>,
): Promise<CaseResult> {
  const tag = `${c.proto}-${c.tlsCrypt ? "tc" : "plain"}-${c.cipher}-${c.clientCert ?? "good"}-${
    c.renegSec ?? 0
  }`;
  const serverLog: string[] = [];
  const logger = new Logger({ level: "info", sink: (l) => serverLog.push(l), scope: "tsvpn" });
  const key = generateStaticKey();
  const keyPath = `${dir}/${tag}.tc.key`;
  if (c.tlsCrypt) await writeStaticKey(keyPath, key);
  const result: CaseResult = { log: "", serverLog, peers: [], sessions: [], closeReasons: [] };
  // deno-lint-ignore prefer-const
  let listener: ControlListener;
  const peers = new Map<number, PingPeer>();
  listener = new ControlListener({
    credentials: pki.server,
    verifyPeer: pkiVerifier({ ca: pki.caPem, crl: pki.crlPem, usage: "clientAuth" }),
    wrap: c.tlsCrypt ? { mode: "tls-crypt", key } : { mode: "none" },
    logger,
    session: { ciphers: [c.cipher], tlsTimeoutMs: 1000 },
    pushOptions: () => ({
      ifconfig: { local: "10.8.0.2", remoteOrNetmask: "255.255.255.0" },
      topology: "subnet",
      routeGateway: "10.8.0.1",
      routes: [{ network: "192.168.77.0", netmask: "255.255.255.0" }],
      ping: 1,
      pingRestart: 4,
    }),
    onSession: (s, ctx) => {
      const peer = new PingPeer(s, (p) => listener.sendTo(ctx.peerId, p), ctx.peerId);
      peers.set(ctx.peerId, peer);
      result.peers.push(peer);
      result.sessions.push(s);
      s.on("closed", (e) => {
        result.closeReasons.push(e.reason);
        peer.stop();
      });
    },
    onData: (b, o, l, s, ctx) => {
      if (s && ctx) peers.get(ctx.peerId)?.onData(b, o, l);
    },
  });
  const srv = c.proto === "udp" ? serveUdp(listener) : serveTcp(listener);
  const certName = c.clientCert ?? "good";
  const cert = certName === "good"
    ? pki.paths.client
    : certName === "revoked"
    ? pki.paths.revoked
    : pki.paths.foreign;
  const certKey = certName === "good"
    ? pki.paths.clientKey
    : certName === "revoked"
    ? pki.paths.revokedKey
    : pki.paths.foreignKey;
  const args = [
    "--client",
    "--dev",
    "null",
    "--remote",
    "127.0.0.1",
    String(srv.port),
    c.proto === "udp" ? "udp" : "tcp-client",
    "--nobind",
    "--ca",
    pki.paths.ca,
    "--cert",
    cert,
    "--key",
    certKey,
    "--remote-cert-tls",
    "server",
    "--data-ciphers",
    ALL_CIPHERS,
    "--ifconfig-noexec",
    "--route-noexec",
    "--verb",
    "4",
    "--connect-retry-max",
    "1",
    "--hand-window",
    "20",
    "--tls-timeout",
    "1",
  ];
  if (c.tlsCrypt) args.push("--tls-crypt", keyPath);
  if (c.proto === "udp") args.push("--explicit-exit-notify", "1");
  if (c.renegSec) args.push("--reneg-sec", String(c.renegSec));
  if (c.tlsVersionMax) args.push("--tls-version-max", c.tlsVersionMax);
  const ovpn = spawnOpenvpn(args, `${dir}/${tag}.log`);
  try {
    await body(result, (re, ms) => ovpn.waitFor(re, ms), () => ovpn.log());
  } finally {
    await ovpn.stop();
    // openvpn's explicit exit notification (UDP) or its closed connection (TCP) ends the session; a
    // session that does not end is reported by the test's assertions on closeReasons, not here.
    await until(() => result.sessions.every((s) => s.closed), { what: "sessions closed", timeoutMs: 5000 })
      .catch(() => {});
    result.log = ovpn.log();
    for (const p of result.peers) p.stop();
    listener.close();
    srv.close();
    await srv.done;
  }
  return result;
}

const pki = await sharedTestPki();
/** Keys and openvpn logs of every case; removed when the process ends unless TSVPN_KEEP_INTEROP_LOGS is set. */
const dir = await Deno.makeTempDir({ prefix: "tsvpn-interop-" });
globalThis.addEventListener("unload", () => {
  if (!Deno.env.get("TSVPN_KEEP_INTEROP_LOGS")) Deno.removeSync(dir, { recursive: true });
  else console.log(`interop logs kept in ${dir}`);
});
const opts = { ignore: !OPENVPN };

for (const proto of ["udp", "tcp"] as const) {
  Deno.test({
    ...opts,
    name: `ControlListener completes handshakes with stock openvpn clients over ${proto.toUpperCase()} ` +
      `(plain and tls-crypt, each cipher) and keepalive pings decrypt both ways` +
      (SKIP_REASON ? ` [skipped: ${SKIP_REASON}]` : ""),
    fn: async () => {
      const cases: Case[] = [];
      for (const tlsCrypt of [false, true]) {
        for (const cipher of ["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"] as const) {
          cases.push({ proto, tlsCrypt, cipher });
        }
      }
      const results = await Promise.all(cases.map((c) =>
        runCase(pki, dir, c, async (r, wait, log) => {
          await wait(/Initialization Sequence Completed/, 20000);
          await until(() => (r.peers[0]?.pings ?? 0) >= 3, {
            what: `three pings from openvpn (${c.cipher})`,
            timeoutMs: 10000,
          });
          // Outlive ping-restart 4 s: openvpn restarts if our pings do not decrypt on its side.
          await holds(
            () => !/Inactivity timeout/.test(log()),
            4500,
            `openvpn keeps the tunnel (${c.cipher})`,
            100,
          );
        }).then((r) => ({ c, r }))
      ));
      for (const { c, r } of results) {
        const what = `${c.proto} ${c.tlsCrypt ? "tls-crypt" : "plain"} ${c.cipher}`;
        assert.match(r.log, /Initialization Sequence Completed/, what);
        assert.match(
          r.log,
          /PUSH: Received control message: 'PUSH_REPLY,route 192\.168\.77\.0 255\.255\.255\.0,route-gateway 10\.8\.0\.1,topology subnet,ping 1,ping-restart 4,ifconfig 10\.8\.0\.2 255\.255\.255\.0,peer-id \d+,cipher /,
          what,
        );
        assert.match(r.log, new RegExp(`Data Channel: cipher '${c.cipher}'`), what);
        assert.doesNotMatch(r.log, /Inactivity timeout/, `${what}: openvpn got our pings`);
        assert.doesNotMatch(r.log, /Authenticate\/Decrypt packet error/, what);
        assert.ok(r.peers[0].pings >= 3, `${what}: we decrypted openvpn's pings`);
        assert.equal(r.peers[0].failedOpens, 0, what);
        assert.equal(r.peers[0].keys[0].cipher, c.cipher);
        if (c.tlsCrypt) {
          assert.match(r.log, /Outgoing Control Channel Encryption: Cipher 'AES-256-CTR'/, what);
        }
        if (c.proto === "udp") {
          assert.ok(r.closeReasons.includes("client sent EXIT"), `${what}: ${r.closeReasons}`);
        }
      }
    },
  });
}

for (const bad of ["revoked", "foreign"] as const) {
  Deno.test({
    ...opts,
    name:
      `ControlListener refuses a ${bad === "revoked" ? "revoked" : "wrong-CA"} openvpn client certificate, ` +
      `logged on both sides`,
    fn: async () => {
      const r = await runCase(pki, dir, {
        proto: "udp",
        tlsCrypt: false,
        cipher: "AES-256-GCM",
        clientCert: bad,
      }, async (res, wait) => {
        await until(() => res.serverLog.some((l) => l.includes("client certificate refused")), {
          what: "refusal",
          timeoutMs: 15000,
        });
        await wait(/TLS Error|TLS_ERROR|SSL alert|tls_read_plaintext/, 10000);
      });
      const line = r.serverLog.find((l) => l.includes("client certificate refused"))!;
      assert.match(line, bad === "revoked" ? /revoked/i : /client certificate refused: .+/);
      assert.doesNotMatch(r.log, /Initialization Sequence Completed/);
      assert.match(r.log, /TLS Error|TLS_ERROR/);
      assert.equal(r.peers[0]?.keys.length ?? 0, 0, "no data keys for a refused peer");
    },
  });
}

Deno.test({
  ...opts,
  name:
    "ControlListener follows openvpn's soft resets (--reneg-sec 3): key-id advances and pings keep decrypting",
  fn: async () => {
    const r = await runCase(
      pki,
      dir,
      { proto: "udp", tlsCrypt: true, cipher: "AES-256-GCM", renegSec: 3 },
      async (res, wait) => {
        await wait(/Initialization Sequence Completed/, 20000);
        await until(() => (res.peers[0]?.pingsByKeyId.get(2) ?? 0) >= 2, {
          what: "pings under key-id 2",
          timeoutMs: 20000,
        });
      },
    );
    const peer = r.peers[0];
    assert.deepEqual(peer.keys.slice(0, 3).map((k) => k.keyId), [0, 1, 2]);
    assert.ok((peer.pingsByKeyId.get(0) ?? 0) >= 1);
    assert.ok((peer.pingsByKeyId.get(1) ?? 0) >= 1);
    assert.ok((peer.pingsByKeyId.get(2) ?? 0) >= 2);
    assert.equal(peer.failedOpens, 0);
    assert.doesNotMatch(r.log, /Inactivity timeout/);
    assert.match(r.log, /TLS: soft reset/);
  },
});

Deno.test({
  ...opts,
  name:
    "ControlListener serves a stock openvpn client held to TLS 1.2 (the libssl server keeps its SSL object) through soft resets",
  fn: async () => {
    const live = liveSslObjects();
    let heldDuringSession = 0;
    const r = await runCase(
      pki,
      dir,
      { proto: "udp", tlsCrypt: false, cipher: "AES-256-GCM", renegSec: 3, tlsVersionMax: "1.2" },
      async (res, wait) => {
        await wait(/Initialization Sequence Completed/, 20000);
        await until(() => (res.peers[0]?.pingsByKeyId.get(1) ?? 0) >= 2, {
          what: "pings under key-id 1",
          timeoutMs: 20000,
        });
        heldDuringSession = liveSslObjects() - live;
      },
    );
    assert.match(r.log, /Control Channel: TLSv1\.2/);
    assert.ok(
      r.serverLog.some((l) => l.includes("TLSv1.2")),
      "the server logs the TLS version it verified under",
    );
    if (tlsEngine().engine === "openssl") {
      assert.ok(heldDuringSession >= 1, "TLS 1.2 keeps OpenSSL's session");
    }
    const peer = r.peers[0];
    assert.deepEqual(peer.keys.slice(0, 2).map((k) => k.keyId), [0, 1]);
    assert.equal(peer.failedOpens, 0);
    assert.doesNotMatch(r.log, /Inactivity timeout/);
  },
});
