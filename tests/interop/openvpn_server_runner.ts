/**
 * Runs inside an anonymous network namespace (`unshare -n`), because
 * `openvpn --mode server` insists on a real tun device: brings up loopback,
 * starts one stock openvpn server per case on 127.0.0.1 and connects the
 * tsvpn client engine to it. Prints one JSON line with the results.
 * Invoked by openvpn_server_test.ts; not a test itself.
 */

import { connectClientTransport } from "../../src/testing/control/client_transport.ts";
import { isDataOpcode, opcodeOf } from "../../src/control/opcode.ts";
import { ControlSession } from "../../src/control/session.ts";
import { createTestPki } from "../../src/testing/control/pki.ts";
import { pkiVerifier } from "../../src/control/verifier.ts";
import { generateStaticKey } from "../../src/pki/static_key.ts";
import { PingPeer, spawnOpenvpn, writeStaticKey } from "./openvpn_harness.ts";
import { holds, until } from "../../src/testing/wait.ts";

export interface ServerCase {
  proto: "udp" | "tcp";
  tlsCrypt: boolean;
  cipher: string;
  clientCert?: "good" | "revoked";
  serverCert?: "good" | "foreign";
  renegSec?: number;
  /** How long to keep the tunnel up after the first key (ms); openvpn must not time out meanwhile. */
  holdMs?: number;
  /** Decrypted pings per key-id to wait for before closing. @default { "0": 3 } */
  minPings?: Record<string, number>;
}

export interface ServerCaseResult {
  c: ServerCase;
  ovpnLog: string;
  established: boolean;
  pushRaw: string[] | null;
  keys: { keyId: number; cipher: string }[];
  pingsByKeyId: Record<string, number>;
  failedOpens: number;
  sent: number;
  errors: string[];
  closeReasons: string[];
}

async function runOne(
  c: ServerCase,
  i: number,
  pki: Awaited<ReturnType<typeof createTestPki>>,
  dir: string,
): Promise<ServerCaseResult> {
  const port = 1194 + i;
  const key = generateStaticKey();
  const keyPath = `${dir}/case${i}.tc.key`;
  if (c.tlsCrypt) await writeStaticKey(keyPath, key);
  const foreign = c.serverCert === "foreign";
  const args = [
    "--server",
    "10.8.0.0",
    "255.255.255.0",
    "--topology",
    "subnet",
    "--dev",
    "tun",
    "--dev-type",
    "tun",
    "--proto",
    c.proto === "udp" ? "udp" : "tcp-server",
    "--local",
    "127.0.0.1",
    "--port",
    String(port),
    "--ca",
    pki.paths.ca,
    "--cert",
    foreign ? pki.paths.foreign : pki.paths.server,
    "--key",
    foreign ? pki.paths.foreignKey : pki.paths.serverKey,
    "--crl-verify",
    pki.paths.crl,
    "--dh",
    "none",
    "--data-ciphers",
    c.cipher,
    "--keepalive",
    "1",
    "2",
    "--push",
    "route 192.168.88.0 255.255.255.0",
    "--verb",
    "4",
    "--hand-window",
    "20",
    "--tls-timeout",
    "1",
  ];
  if (c.tlsCrypt) args.push("--tls-crypt", keyPath);
  if (c.renegSec) args.push("--reneg-sec", String(c.renegSec));
  const ovpn = spawnOpenvpn(args, `${dir}/case${i}.log`);
  const res: ServerCaseResult = {
    c,
    ovpnLog: "",
    established: false,
    pushRaw: null,
    keys: [],
    pingsByKeyId: {},
    failedOpens: 0,
    sent: 0,
    errors: [],
    closeReasons: [],
  };
  let session: ControlSession | null = null;
  let peer: PingPeer | null = null;
  let transport: Awaited<ReturnType<typeof connectClientTransport>> | null = null;
  try {
    await ovpn.waitFor(/Initialization Sequence Completed/, 10000);
    transport = await connectClientTransport(c.proto, { hostname: "127.0.0.1", port }, (b, o, l) => {
      if (isDataOpcode(opcodeOf(b[o]))) peer?.onData(b, o, l);
      else session?.receive(b, o, l);
    });
    const t = transport;
    const revoked = c.clientCert === "revoked";
    session = new ControlSession({
      role: "client",
      proto: c.proto,
      credentials: revoked ? pki.revokedClient : pki.client,
      verifyPeer: pkiVerifier({ ca: pki.caPem, usage: "serverAuth", expectedName: "server" }),
      wrap: c.tlsCrypt
        ? (await import("../../src/control/control_wrap.ts")).createControlWrap(
          { mode: "tls-crypt", key },
          "client",
        )
        : undefined,
      send: (p) => t.send(p),
      ciphers: ["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"],
      tlsTimeoutMs: 1000,
      renegotiateMs: 0,
      // openvpn drops a refused client's state without telling it; bound the wait.
      handshakeWindowMs: c.clientCert === "revoked" ? 6000 : 20000,
    });
    peer = new PingPeer(session, (p) => t.send(p), null, 500);
    const s = session;
    s.on("established", () => res.established = true);
    s.on("pushReply", (e) => res.pushRaw = e.raw);
    s.on("key", (k) => res.keys.push({ keyId: k.keyId, cipher: k.cipher }));
    s.on("error", (e) => res.errors.push(e.reason));
    s.on("closed", (e) => res.closeReasons.push(e.reason));
    s.start();
    const failing = c.clientCert === "revoked" || foreign;
    if (failing) {
      await until(() => res.errors.length > 0 || s.closed, { what: "refusal", timeoutMs: 15000 });
      // openvpn's side of the refusal, which the test reads from its log.
      await ovpn.waitFor(foreign ? /TLS Error/ : /VERIFY ERROR/, 10000);
    } else {
      await until(() => res.keys.length > 0, { what: "first key", timeoutMs: 15000 });
      const p = peer;
      // Real time is the scenario here: openvpn (keepalive 1 2) ends a tunnel whose pings do not decrypt.
      await holds(
        () => !/Inactivity timeout/.test(ovpn.log()),
        c.holdMs ?? 5000,
        "openvpn keeps the tunnel",
        100,
      );
      const want = Object.entries(c.minPings ?? { "0": 3 });
      await until(() => want.every(([id, n]) => (p.pingsByKeyId.get(Number(id)) ?? 0) >= n), {
        what: `pings per key-id ${JSON.stringify(c.minPings ?? { "0": 3 })}`,
        timeoutMs: 10000,
      });
      s.close("test done");
      await until(() => s.closed, { what: "close", timeoutMs: 5000 });
      if (c.proto === "udp") await ovpn.waitFor(/CC-EEN exit message received by peer/, 5000);
    }
  } catch (e) {
    res.errors.push(`runner: ${(e as Error).message}`);
  } finally {
    peer?.stop();
    session?.close("runner cleanup", false);
    transport?.close();
    await ovpn.stop();
    res.ovpnLog = ovpn.log();
    if (peer) {
      res.pingsByKeyId = Object.fromEntries(peer.pingsByKeyId);
      res.failedOpens = peer.failedOpens;
      res.sent = peer.sent;
    }
  }
  return res;
}

if (import.meta.main) {
  const cases = JSON.parse(Deno.args[0]) as ServerCase[];
  const up = await new Deno.Command("ip", { args: ["link", "set", "lo", "up"] }).output();
  if (!up.success) throw new Error("Could not bring up loopback in the namespace");
  const pki = await createTestPki();
  const dir = await Deno.makeTempDir({ prefix: "tsvpn-ovpn-server-" });
  try {
    const results = await Promise.all(cases.map((c, i) => runOne(c, i, pki, dir)));
    console.log(JSON.stringify(results));
  } finally {
    await pki.cleanup();
    await Deno.remove(dir, { recursive: true });
  }
  Deno.exit(0);
}
