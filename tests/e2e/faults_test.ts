/**
 * Faults on real kernels, in namespaces on the e2e switch (support/lab.ts),
 * CI-length versions (issue 14). Figures are printed; docs/reliability.md
 * records them.
 *
 * Loss and jitter: the client reaches the server only through "wan", which
 * loses 10% of the datagrams in each direction and holds the rest 100 ms ± 50 ms
 * (support/impaired_link.ts; this kernel has no sch_netem):
 *
 *   cli 172.31.0.11 ── sw ── wan 172.31.0.20:1194 (10% loss, 100±50 ms) ── sw ── srv 172.31.0.1:1194
 *
 * Junk flood: mallory (172.31.0.50) sends random datagrams at the server's
 * port (support/stranger_flood.ts udp-junk, through support/flood_rounds.ts)
 * while alice's stock openvpn tunnel is up. The throughput test under the
 * same flood is timing-sensitive: tests/serial/flood_throughput_test.ts.
 */

import assert from "node:assert/strict";
import { until } from "../../src/testing/wait.ts";
import { e2eIgnore, type LoggedProcess, ROOT, serverYaml } from "./support/lab.ts";
import { statusJson } from "./support/management.ts";
import { type PairRig, withPair } from "./support/pair.ts";
import { startTsvpnClient, tsvpnClientConfig } from "./support/tsvpn_client.ts";
import { measureCpu, rss, udpCounters } from "./support/host_probes.ts";
import { floodRig, junkFlood, SERVER_PORT } from "./support/flood_rounds.ts";

const IMPAIRED_LINK = `${ROOT}tests/e2e/support/impaired_link.ts`;
const MGMT = "127.0.0.1:7505";
const RENEG_SECONDS = 5;
const BULK_TRANSFER = `${ROOT}tests/e2e/support/bulk_transfer.ts`;
const TRANSFER_BYTES = 20 * 2 ** 20;
const TRANSFER_CONNECTIONS = 8;
// Completion, not speed, is what the test asserts: the suite runs files in
// parallel on 2 cores and a loaded CI host took over 45 s, so the deadline
// only bounds a hang (the measured time is printed and in docs/reliability.md).
const TRANSFER_DEADLINE_MS = 240_000;

function tsvpnServer(r: PairRig, extra: string[]): Promise<LoggedProcess> {
  return r.lab.startServer(
    r.srv,
    "server",
    serverYaml({
      pki: { ca: r.pki.ca, cert: r.pki.cert, key: r.pki.key, tlsCrypt: r.pki.tlsCrypt },
      server: "  network: 10.8.0.0/24",
      extra: [`management: { listen: "${MGMT}" }`, ...extra],
    }),
  );
}

/** A "wan" host relaying 172.31.0.20:1194 to the server with loss, delay and jitter. */
async function impairedPath(r: PairRig): Promise<LoggedProcess> {
  const wan = await r.lab.host("wan", "172.31.0.20/24");
  const relay = r.lab.spawnLogged(wan, "impaired-link", [
    Deno.execPath(),
    "run",
    "-A",
    "--unstable-net",
    IMPAIRED_LINK,
    "172.31.0.20",
    "1194",
    "172.31.0.1",
    "1194",
    "10",
    "100",
    "50",
  ]);
  await until(async () => (await r.lab.exec(wan, ["ss", "-uln"])).stdout.includes("172.31.0.20:1194"), {
    what: "the impaired link listening",
    timeoutMs: 15_000,
    intervalMs: 100,
  });
  return relay;
}

/** TRANSFER_BYTES from "cli" to the server's tunnel address over parallel TCP connections; the receiver's figures. */
async function bulkTransfer(r: PairRig): Promise<{ bytes: number; ms: number }> {
  const port = "5201";
  const receiver = r.lab.lab.spawnDeno(r.srv, BULK_TRANSFER, [
    "receive",
    "10.8.0.1",
    port,
    `${TRANSFER_CONNECTIONS}`,
  ]);
  await until(async () => (await r.lab.exec(r.srv, ["ss", "-tln"])).stdout.includes(`10.8.0.1:${port}`), {
    what: "the bulk receiver listening",
    timeoutMs: 15_000,
    intervalMs: 100,
  });
  const args = ["send", "10.8.0.1", port, `${TRANSFER_BYTES}`, `${TRANSFER_CONNECTIONS}`];
  const sent = await r.lab.lab.runDeno(r.cli, BULK_TRANSFER, args, { timeoutMs: TRANSFER_DEADLINE_MS });
  const received = await receiver.output();
  assert.equal(received.code, 0, received.stderr);
  assert.equal(sent.code, 0, sent.stderr);
  return JSON.parse(received.stdout.trim());
}

/** BBR, as a sender on a lossy path would use (loss-based CUBIC backs off at every loss), when the kernel has it. */
async function preferBbr(r: PairRig): Promise<string> {
  const available = await Deno.readTextFile("/proc/sys/net/ipv4/tcp_available_congestion_control")
    .catch(() => "");
  if (!available.split(/\s+/).includes("bbr")) return "kernel default (no bbr)";
  await r.lab.exec(r.cli, ["sysctl", "-q", "-w", "net.ipv4.tcp_congestion_control=bbr"]);
  return "bbr";
}

const count = (log: string, re: RegExp) => (log.match(re) ?? []).length;

Deno.test({
  name:
    "tsvpn server and client over a path with 10% loss and 100 ms ± 50 ms delay each way: the tunnel comes up, renegotiates, and carries a 20 MB TCP transfer",
  ignore: e2eIgnore(),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withPair(async (r) => {
      const server = await tsvpnServer(r, [`data: { reneg_seconds: ${RENEG_SECONDS} }`]);
      const relay = await impairedPath(r);
      const config = await tsvpnClientConfig(r.pki, "alice", "172.31.0.20:1194", { tlsCrypt: true });
      const started = performance.now();
      const client = startTsvpnClient(r.lab, r.cli, "client", config);
      await client.waitFor(/tunnel up/, 30_000);
      const upMs = performance.now() - started;
      const renewedBefore = count(server.log(), /data keys renewed cn=alice/g);
      const transferStart = performance.now();
      const congestionControl = await preferBbr(r);
      const transfer = await bulkTransfer(r);
      const transferMs = performance.now() - transferStart;
      assert.ok(await r.lab.pingUntil(r.cli, "10.8.0.1", 10_000), "pings after the transfer");
      const log = server.log();
      const renewedDuring = count(log, /data keys renewed cn=alice/g) - renewedBefore;
      const snapshot = await statusJson(r.lab, r.srv, MGMT);
      await relay.stop();
      const link = JSON.parse(relay.log().trim().split("\n").pop() ?? "{}");
      console.log(JSON.stringify({
        tunnelUpMs: Math.round(upMs),
        transferMs: Math.round(transferMs),
        connections: TRANSFER_CONNECTIONS,
        congestionControl,
        receivedBytes: transfer.bytes,
        mbitPerS: +(transfer.bytes * 8 / transfer.ms / 1e3).toFixed(2),
        renegotiationsDuringTransfer: renewedDuring,
        serverRenegotiationsStarted: count(log, /renegotiating keyId=\d reason=/g),
        link,
        drops: snapshot.drops,
      }));
      assert.equal(transfer.bytes, TRANSFER_BYTES, "every byte arrived");
      assert.ok(renewedDuring >= 1, `a renegotiation during the transfer:\n${log}`);
      assert.equal(snapshot.clients.length, 1, "alice is still connected");
      assert.ok(link.up.lost > 0 && link.down.lost > 0, `the path lost datagrams: ${JSON.stringify(link)}`);
      assert.doesNotMatch(log, /client disconnected/);
      assert.doesNotMatch(client.log(), /reconnecting|tunnel down/i);
    }),
});

const JUNK_RATE = 100_000;
const JUNK_COUNT = 500_000;
const RSS_GROWTH_LIMIT = 20 * 2 ** 20;
/**
 * Server CPU per junk datagram that reached its socket. Measured 0.9–1.8 µs on
 * this busy 2-core host (a fresh server's first flood is the dearest: JIT);
 * it was 6.5–7.3 µs before refused datagrams stopped waking the event loop,
 * unknown session ids were screened, control crypto moved to OpenSSL and
 * socket reads were paced under floods (docs/reliability.md, "Junk flood").
 * The bound is ~3x the worst measured, not a benchmark.
 */
const JUNK_CPU_LIMIT_US = 5;

Deno.test({
  name:
    "runServer() under a flood of random datagrams at its port counts every one as a drop by reason, with bounded memory and CPU, and keeps the tunnel",
  ignore: e2eIgnore(),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withPair(async (r) => {
      const f = await floodRig(r);
      const pid = f.server.proc.pid;
      const rssBefore = rss(pid);
      const udpBefore = await udpCounters(r.lab, r.srv);
      const flood = junkFlood(r, f, { port: SERVER_PORT, count: JUNK_COUNT, rate: JUNK_RATE });
      await flood.started;
      const [junk, cpu] = await measureCpu(pid, () => flood.done);
      const rssAfter = rss(pid);
      const udpAfter = await udpCounters(r.lab, r.srv);
      const bufferDrops = udpAfter.RcvbufErrors - udpBefore.RcvbufErrors;
      assert.ok(await r.lab.pingUntil(r.cli, "10.8.0.1", 5000), "the tunnel carries pings after the flood");
      const snapshot = await statusJson(r.lab, r.srv, MGMT);
      const drops = Object.fromEntries(
        Object.entries(snapshot.drops).filter(([k, v]) => v > 0 && k !== "multicast_in_tun"),
      );
      const counted = Object.values(drops).reduce((a, b) => a + b, 0);
      const usPerDatagram = cpu.processCores * cpu.seconds * 1e6 / (junk.sent - bufferDrops);
      console.log(JSON.stringify({
        junk,
        serverCpu: cpu,
        usPerDatagram: +usPerDatagram.toFixed(2),
        kernelRcvbufErrors: bufferDrops,
        rssMiB: [+(rssBefore / 2 ** 20).toFixed(1), +(rssAfter / 2 ** 20).toFixed(1)],
        drops,
      }));
      assert.equal(snapshot.clients.length, 1, "alice is still connected");
      assert.ok(
        counted >= junk.sent - bufferDrops && counted <= junk.sent,
        `${counted} drops for ${junk.sent}`,
      );
      assert.ok(Object.keys(drops).length >= 3, `drops by several reasons: ${JSON.stringify(drops)}`);
      assert.ok(rssAfter - rssBefore < RSS_GROWTH_LIMIT, `RSS ${rssBefore} → ${rssAfter}`);
      assert.ok(
        usPerDatagram < JUNK_CPU_LIMIT_US,
        `${usPerDatagram.toFixed(2)} µs of server CPU per junk datagram`,
      );
    }),
});
