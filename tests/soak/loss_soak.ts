/**
 * Soak: the loss-and-jitter fault of tests/e2e/faults_test.ts held for a
 * duration (issue 14: 10 minutes). A tsvpn server (tls-crypt, data keys
 * renegotiated every `renegSeconds`) and a `tsvpn --client` that reaches it
 * only through the impaired link (support/impaired_link.ts: 10% loss,
 * 100 ms ± 50 ms each way); for the whole duration, transfers of
 * `transferBytes` over 4 TCP connections through the tunnel, one after
 * another (support/bulk_transfer.ts).
 *
 * Pass: every transfer completes with every byte, the client never
 * reconnects, the server never drops the client, and renegotiations happen.
 */

import { e2eIgnore, type LoggedProcess, ROOT, serverYaml } from "../e2e/support/lab.ts";
import { statusJson } from "../e2e/support/management.ts";
import { type PairRig, withPair } from "../e2e/support/pair.ts";
import { startTsvpnClient, tsvpnClientConfig } from "../e2e/support/tsvpn_client.ts";
import { until } from "../../src/testing/wait.ts";

export interface LossSoakOptions {
  durationMs: number;
  renegSeconds: number;
  transferBytes: number;
}

const IMPAIRED_LINK = `${ROOT}tests/e2e/support/impaired_link.ts`;
const BULK_TRANSFER = `${ROOT}tests/e2e/support/bulk_transfer.ts`;
const MGMT = "127.0.0.1:7505";
const CONNECTIONS = 4;
/** One transfer's hang bound; the loss soak's transfers take ~10 s a MiB over this path. */
const TRANSFER_DEADLINE_MS = 600_000;

async function impairedPath(r: PairRig): Promise<LoggedProcess> {
  const wan = await r.lab.host("wan", "172.31.0.20/24");
  const args = ["172.31.0.20", "1194", "172.31.0.1", "1194", "10", "100", "50"];
  const relay = r.lab.spawnLogged(wan, "impaired-link", [
    Deno.execPath(),
    "run",
    "-A",
    "--unstable-net",
    IMPAIRED_LINK,
    ...args,
  ]);
  await until(async () => (await r.lab.exec(wan, ["ss", "-uln"])).stdout.includes("172.31.0.20:1194"), {
    what: "the impaired link listening",
    timeoutMs: 15_000,
    intervalMs: 100,
  });
  return relay;
}

/** One transfer through the tunnel; the receiver's {bytes, ms}. */
async function transfer(r: PairRig, bytes: number, port: number): Promise<{ bytes: number; ms: number }> {
  const receiver = r.lab.lab.spawnDeno(r.srv, BULK_TRANSFER, [
    "receive",
    "10.8.0.1",
    `${port}`,
    `${CONNECTIONS}`,
  ]);
  await until(async () => (await r.lab.exec(r.srv, ["ss", "-tln"])).stdout.includes(`10.8.0.1:${port}`), {
    what: "the bulk receiver listening",
    timeoutMs: 15_000,
    intervalMs: 100,
  });
  const args = ["send", "10.8.0.1", `${port}`, `${bytes}`, `${CONNECTIONS}`];
  const sent = await r.lab.lab.runDeno(r.cli, BULK_TRANSFER, args, {
    timeoutMs: TRANSFER_DEADLINE_MS,
    check: false,
  });
  const received = await receiver.output();
  if (sent.code !== 0 || received.code !== 0) return { bytes: -1, ms: 0 };
  return JSON.parse(received.stdout.trim());
}

export async function runLossSoak(o: LossSoakOptions): Promise<Record<string, unknown>> {
  if (e2eIgnore()) throw new Error("the loss soak needs root, /dev/net/tun and openvpn");
  let result: Record<string, unknown> = {};
  await withPair(async (r) => {
    const server = await r.lab.startServer(
      r.srv,
      "server",
      serverYaml({
        pki: { ca: r.pki.ca, cert: r.pki.cert, key: r.pki.key, tlsCrypt: r.pki.tlsCrypt },
        server: "  network: 10.8.0.0/24",
        extra: [`management: { listen: "${MGMT}" }`, `data: { reneg_seconds: ${o.renegSeconds} }`],
      }),
    );
    const relay = await impairedPath(r);
    const config = await tsvpnClientConfig(r.pki, "alice", "172.31.0.20:1194", { tlsCrypt: true });
    const client = startTsvpnClient(r.lab, r.cli, "client", config);
    await client.waitFor(/tunnel up/, 60_000);
    const started = performance.now();
    const transfers: { bytes: number; ms: number }[] = [];
    for (let port = 5201; performance.now() - started < o.durationMs; port++) {
      transfers.push(await transfer(r, o.transferBytes, port));
      console.log(`loss soak: transfer ${transfers.length}: ${JSON.stringify(transfers.at(-1))}`);
    }
    const snapshot = await statusJson(r.lab, r.srv, MGMT);
    await relay.stop();
    const link = JSON.parse(relay.log().trim().split("\n").pop() ?? "{}");
    const log = server.log();
    const failures: string[] = [];
    const incomplete = transfers.filter((t) => t.bytes !== o.transferBytes).length;
    const renewed = (log.match(/data keys renewed cn=alice/g) ?? []).length;
    if (incomplete > 0) failures.push(`${incomplete} transfers incomplete`);
    if (snapshot.clients.length !== 1) failures.push("alice is not connected at the end");
    if (/client disconnected/.test(log)) failures.push("the server dropped alice");
    if (/reconnecting|tunnel down/i.test(client.log())) failures.push("the client reconnected");
    if (renewed < 1) failures.push("no renegotiation completed");
    const bytes = transfers.reduce((a, t) => a + Math.max(0, t.bytes), 0);
    const ms = transfers.reduce((a, t) => a + t.ms, 0);
    result = {
      piece: "loss",
      ok: failures.length === 0,
      failures,
      durationS: Math.round((performance.now() - started) / 1000),
      transfers: transfers.length,
      mbitPerS: ms > 0 ? +(bytes * 8 / ms / 1e3).toFixed(2) : 0,
      renegotiations: renewed,
      link,
      drops: Object.fromEntries(Object.entries(snapshot.drops).filter(([, v]) => v > 0)),
    };
  });
  return result;
}
