/**
 * Data keys renewed by volume (reneg_bytes / --reneg-bytes), on real kernels
 * in namespaces on the e2e switch (support/lab.ts):
 *
 *   +------ srv (172.31.0.1) ------+     +-- sw --+     +------ cli (172.31.0.11) -------+
 *   | tsvpn --server               |=====| br0    |=====| openvpn 2.6 or tsvpn --client  |
 *   | tsvpn0 10.8.0.1/24           |     +--------+     | tun 10.8.0.2/24                |
 *   | iperf3 -s -B 10.8.0.1        |                    | iperf3 -c 10.8.0.1 -n 4M -b 8M |
 *   +------------------------------+                    +--------------------------------+
 *
 * Each case moves 4 MiB through the tunnel at 8 Mbit/s (about 4 s) with a
 * 200 000-byte limit on one side, then checks that several renegotiations
 * happened, that the side with the limit started them (its log names the
 * reason), and that the tunnel still carries pings. The figures are printed.
 */

import assert from "node:assert/strict";
import { e2eIgnore, type LoggedProcess, serverYaml } from "./support/lab.ts";
import { type PairRig, tsvpnClientUp, withPair } from "./support/pair.ts";

const RENEG_BYTES = 200_000;
const TRAFFIC = ["-n", "4M", "-b", "8M"];

function tsvpnServer(r: PairRig, extra: string[]): Promise<LoggedProcess> {
  return r.lab.startServer(
    r.srv,
    "server",
    serverYaml({
      pki: { ca: r.pki.ca, cert: r.pki.cert, key: r.pki.key, tlsCrypt: r.pki.tlsCrypt },
      server: "  network: 10.8.0.0/24",
      extra,
    }),
  );
}

async function openvpnClient(r: PairRig, extra: string[]): Promise<LoggedProcess> {
  const profile = await r.pki.profile("alice", "172.31.0.1:1194", { tlsCrypt: true });
  const p = r.lab.startClient(r.cli, "alice", profile, extra);
  await p.waitFor(/Initialization Sequence Completed/, 20_000);
  return p;
}

/** iperf3 from the client host to the server's tunnel address; returns the bytes it sent. */
async function traffic(r: PairRig): Promise<number> {
  assert.ok(await r.lab.pingUntil(r.cli, "10.8.0.1", 5000), "the tunnel carries traffic before the test");
  const server = r.lab.spawnLogged(r.srv, "iperf3-server", [
    "iperf3",
    "-s",
    "-1",
    "--forceflush",
    "-B",
    "10.8.0.1",
  ]);
  try {
    await server.waitFor(/Server listening/, 5000);
    const res = await r.lab.exec(r.cli, ["iperf3", "-c", "10.8.0.1", "-J", ...TRAFFIC], false);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    return (JSON.parse(res.stdout) as { end: { sum_sent: { bytes: number } } }).end.sum_sent.bytes;
  } finally {
    await server.stop(2000);
  }
}

const count = (log: string, re: RegExp) => (log.match(re) ?? []).length;
const RENEWED = /data keys renewed cn=alice keyId=\d/g;

function report(what: string, bytes: number, renegotiations: number, more = ""): void {
  const mib = (bytes / 2 ** 20).toFixed(1);
  console.log(`  ${what}: ${renegotiations} renegotiations while iperf3 sent ${mib} MiB${more}`);
}

Deno.test({
  name: "runServer() follows a stock openvpn client's --reneg-bytes 200000 through several soft resets",
  ignore: e2eIgnore(),
  fn: () =>
    withPair(async (r) => {
      const server = await tsvpnServer(r, []);
      const client = await openvpnClient(r, ["--reneg-bytes", String(RENEG_BYTES)]);
      try {
        const bytes = await traffic(r);
        assert.ok(await r.lab.pingUntil(r.cli, "10.8.0.1", 5000), "pings after the renegotiations");
        const log = server.log();
        const renewed = count(log, RENEWED);
        // openvpn logs each soft reset it starts with its byte count ("bytes=N/200000").
        const started = [...client.log().matchAll(/TLS: soft reset sec=\d+\/\d+ bytes=(\d+)\/(\d+)/g)];
        const limited = count(log, /peer starts renegotiations too often/g);
        const largest = Math.max(...started.map((m) => Number(m[1])));
        report(
          "openvpn --reneg-bytes 200000 → tsvpn server",
          bytes,
          renewed,
          `; openvpn started ${started.length} (largest key ${largest} B), tsvpn rate limit engaged ${limited}×`,
        );
        assert.ok(renewed >= 3, `renegotiations: ${renewed}\n${log}`);
        assert.ok(started.length >= renewed, `openvpn started them: ${started.length}`);
        for (const m of started) assert.ok(Number(m[1]) >= RENEG_BYTES && Number(m[2]) === RENEG_BYTES, m[0]);
        assert.doesNotMatch(log, /renegotiating keyId/, "tsvpn started none");
        assert.doesNotMatch(log, /client disconnected/);
      } finally {
        await client.stop();
        await server.stop();
      }
    }),
});

Deno.test({
  name: "runServer() with data.reneg_bytes 200000 starts the soft resets with a stock openvpn client",
  ignore: e2eIgnore(),
  fn: () =>
    withPair(async (r) => {
      const server = await tsvpnServer(r, [`data: { reneg_bytes: ${RENEG_BYTES} }`]);
      const client = await openvpnClient(r, []);
      try {
        const bytes = await traffic(r);
        assert.ok(await r.lab.pingUntil(r.cli, "10.8.0.1", 5000), "pings after the renegotiations");
        const log = server.log();
        const started = count(log, /renegotiating keyId=\d reason=bytes cn=alice/g);
        const renewed = count(log, RENEWED);
        report("tsvpn server reneg_bytes 200000 → openvpn client", bytes, renewed);
        assert.ok(started >= 3, `tsvpn started ${started}\n${log}`);
        assert.ok(renewed >= started - 1, `renewed ${renewed} of ${started}`);
        assert.doesNotMatch(client.log(), /TLS: soft reset sec=/, "openvpn started none");
        assert.doesNotMatch(log, /client disconnected/);
      } finally {
        await client.stop();
        await server.stop();
      }
    }),
});

Deno.test({
  name: "runClient() with data.reneg_bytes 200000 renegotiates with runServer under traffic",
  ignore: e2eIgnore(),
  fn: () =>
    withPair(async (r) => {
      const server = await tsvpnServer(r, []);
      let client: LoggedProcess | null = null;
      try {
        client = await tsvpnClientUp(r, [`data: { reneg_bytes: ${RENEG_BYTES} }`]);
        const bytes = await traffic(r);
        assert.ok(await r.lab.pingUntil(r.cli, "10.8.0.1", 5000), "pings after the renegotiations");
        const log = client.log();
        const started = count(log, /renegotiating keyId=\d reason=bytes cn=server/g);
        const renewed = count(server.log(), RENEWED);
        const limited = count(server.log(), /peer starts renegotiations too often/g);
        report(
          "tsvpn client reneg_bytes 200000 → tsvpn server",
          bytes,
          renewed,
          `; the client started ${started}, the server's rate limit engaged ${limited}×`,
        );
        assert.ok(started >= 3, `the client started ${started}\n${log}`);
        assert.ok(renewed >= started - 1, `renewed ${renewed} of ${started}`);
        assert.doesNotMatch(server.log(), /renegotiating keyId/, "the server started none");
        assert.doesNotMatch(log, /reconnecting|tunnel up again/);
      } finally {
        if (client) assert.equal(await client.stop(10_000), 0, client.log());
        await server.stop();
      }
    }),
});
