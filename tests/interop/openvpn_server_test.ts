/**
 * Interop (b), (c), (d) with the tsvpn client engine against a stock
 * `openvpn --server` (which needs a real tun device): everything runs inside
 * an anonymous network namespace made by `unshare -n`, so the tun device and
 * the loopback traffic never touch the host's namespace and vanish with it.
 */

import assert from "node:assert/strict";
import { OPENVPN, SKIP_REASON } from "./openvpn_harness.ts";
import type { ServerCase, ServerCaseResult } from "./openvpn_server_runner.ts";

const canRun = OPENVPN !== null && Deno.uid() === 0;
const why = SKIP_REASON || (Deno.uid() !== 0 ? "needs root for unshare -n and a tun device" : "");
const opts = { ignore: !canRun };

async function runInNamespace(cases: ServerCase[]): Promise<ServerCaseResult[]> {
  const runner = new URL("./openvpn_server_runner.ts", import.meta.url).pathname;
  const config = new URL("../../deno.json", import.meta.url).pathname;
  const cmd = new Deno.Command("unshare", {
    args: [
      "-n",
      "--",
      Deno.execPath(),
      "run",
      "-A",
      "--unstable-net",
      "--config",
      config,
      runner,
      JSON.stringify(cases),
    ],
    stdout: "piped",
    stderr: "piped",
  });
  const child = cmd.spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
  }, 90_000);
  const out = await child.output();
  clearTimeout(timer);
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
  if (!out.success || !text.startsWith("[")) {
    throw new Error(`Namespace runner failed: ${new TextDecoder().decode(out.stderr).slice(-2000)}`);
  }
  return JSON.parse(text);
}

Deno.test({
  ...opts,
  name: "ControlSession client completes handshakes with a stock openvpn server over UDP and TCP " +
    "(plain and tls-crypt, each cipher), gets its PUSH_REPLY, and pings decrypt both ways" +
    (why ? ` [skipped: ${why}]` : ""),
  fn: async () => {
    const cases: ServerCase[] = [];
    for (const proto of ["udp", "tcp"] as const) {
      for (const tlsCrypt of [false, true]) {
        for (const cipher of ["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"]) {
          cases.push({ proto, tlsCrypt, cipher, holdMs: 5000 });
        }
      }
    }
    const results = await runInNamespace(cases);
    for (const r of results) {
      const what = `${r.c.proto} ${r.c.tlsCrypt ? "tls-crypt" : "plain"} ${r.c.cipher}`;
      assert.deepEqual(r.errors, [], what);
      assert.equal(r.established, true, what);
      assert.ok(r.pushRaw, `${what}: push reply`);
      assert.ok(r.pushRaw!.includes("route 192.168.88.0 255.255.255.0"), `${what}: ${r.pushRaw}`);
      assert.ok(r.pushRaw!.some((o) => /^ifconfig 10\.8\.0\.\d+ 255\.255\.255\.0$/.test(o)), what);
      assert.ok(r.pushRaw!.includes(`cipher ${r.c.cipher}`), what);
      assert.ok(r.pushRaw!.some((o) => o.startsWith("peer-id ")), what);
      assert.deepEqual(r.keys[0], { keyId: 0, cipher: r.c.cipher }, what);
      assert.ok(
        (r.pingsByKeyId["0"] ?? 0) >= 3,
        `${what}: pings from openvpn ${JSON.stringify(r.pingsByKeyId)}`,
      );
      assert.equal(r.failedOpens, 0, what);
      assert.match(
        r.ovpnLog,
        /client1\/127\.0\.0\.1:\d+ .*PUSH_REPLY|SENT CONTROL \[client1\]: 'PUSH_REPLY/,
        what,
      );
      assert.doesNotMatch(r.ovpnLog, /Inactivity timeout/, `${what}: openvpn got our pings`);
      assert.doesNotMatch(r.ovpnLog, /Authenticate\/Decrypt packet error/, what);
      if (r.c.proto === "udp") {
        assert.match(
          r.ovpnLog,
          /CC-EEN exit message received by peer/,
          `${what}: exit notification`,
        );
      }
    }
  },
});

Deno.test({
  ...opts,
  name:
    "ControlSession client is refused by openvpn for a revoked certificate and refuses a wrong-CA server, " +
    "both logged",
  fn: async () => {
    const [revoked, foreign] = await runInNamespace([
      { proto: "udp", tlsCrypt: false, cipher: "AES-256-GCM", clientCert: "revoked" },
      { proto: "udp", tlsCrypt: false, cipher: "AES-256-GCM", serverCert: "foreign" },
    ]);
    // openvpn refuses in the TLS handshake and drops the client's state without a message the
    // client could see (as with a stock openvpn client), so our side reports the handshake timeout.
    assert.match(revoked.ovpnLog, /VERIFY ERROR: depth=0, error=certificate revoked: CN=revoked1/);
    assert.ok(
      revoked.errors.some((e) => /TLS key negotiation for key 0 did not complete within 6 s/.test(e)),
      JSON.stringify(revoked.errors),
    );
    assert.equal(revoked.keys.length, 0);
    assert.ok(
      foreign.errors.some((e) => e.startsWith("server certificate refused")),
      JSON.stringify(foreign.errors),
    );
    assert.match(foreign.ovpnLog, /TLS Error/);
    assert.equal(foreign.keys.length, 0);
  },
});

Deno.test({
  ...opts,
  name:
    "ControlSession client follows a stock openvpn server's soft resets (--reneg-sec 3) and pings keep decrypting",
  fn: async () => {
    const [r] = await runInNamespace([{
      proto: "udp",
      tlsCrypt: true,
      cipher: "AES-128-GCM",
      renegSec: 3,
      holdMs: 8000,
      minPings: { "1": 1, "2": 1 },
    }]);
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.keys.slice(0, 3).map((k) => k.keyId), [0, 1, 2]);
    assert.ok((r.pingsByKeyId["1"] ?? 0) >= 1, JSON.stringify(r.pingsByKeyId));
    assert.ok((r.pingsByKeyId["2"] ?? 0) >= 1, JSON.stringify(r.pingsByKeyId));
    assert.equal(r.failedOpens, 0);
    assert.match(r.ovpnLog, /TLS: soft reset/);
    assert.doesNotMatch(r.ovpnLog, /Inactivity timeout/);
  },
});
