/**
 * The client as a service (issue 16): a tsvpn client's management interface
 * (`management.listen`, a unix socket behind a password, reached from the
 * test process through the file system) against a tsvpn server, compared
 * with a stock openvpn 2.6 client's `--management` on the same commands:
 * the replies must have the same shapes (management_shapes.ts). Then
 * `tsvpn status --config` (text and --json), and the `signal` command:
 * SIGUSR1 reconnects, SIGTERM stops the client and leaves the host as found.
 */

import assert from "node:assert/strict";
import { openTestSession, type TestSession } from "../../src/testing/ops/session.ts";
import { e2eIgnore, MAIN, serverYaml } from "./support/lab.ts";
import { command, replyShape } from "./support/management_shapes.ts";
import { type PairRig, withPair } from "./support/pair.ts";
import { startTsvpnClient, tsvpnClientConfig } from "./support/tsvpn_client.ts";
import type { ClientSnapshot } from "../../src/ops/client_control.ts";

const PASSWORD = "s3cret-client";
/**
 * Commands whose reply shapes both clients must share (`version` and `help` name the product;
 * `state all` differs on purpose: openvpn also lists WAIT, AUTH, GET_CONFIG, ASSIGN_IP).
 */
const SCRIPT = ["state", "state 1", "status", "status 2", "status 3", "pid", "load-stats", "signal SIGUSR2"];

async function startServer(r: PairRig): Promise<void> {
  await r.lab.startServer(
    r.srv,
    "server",
    serverYaml({
      pki: { ca: r.pki.ca, cert: r.pki.cert, key: r.pki.key, tlsCrypt: r.pki.tlsCrypt },
      server: "  network: 10.8.0.0/24",
    }),
  );
}

async function shapes(session: TestSession): Promise<string[][]> {
  const notices: string[] = [];
  const out: string[][] = [];
  for (const c of SCRIPT) out.push(replyShape(await command(session, c, notices)));
  return out;
}

/** A stock openvpn client's management replies to SCRIPT, as shapes. */
async function stockShapes(r: PairRig, pw: string): Promise<string[][]> {
  const socket = `${r.pki.dir}/ovpn-client.sock`;
  const profile = await r.pki.profile("alice", "172.31.0.1:1194", { tlsCrypt: true });
  const stock = r.lab.startClient(r.cli, "openvpn-client", profile, ["--management", socket, "unix", pw]);
  await stock.waitFor(/Initialization Sequence Completed/, 30_000);
  const session = await openTestSession(socket, PASSWORD);
  try {
    return await shapes(session);
  } finally {
    session.close();
    await stock.stop();
  }
}

async function statusCli(r: PairRig, config: string, json: boolean): Promise<string> {
  const argv = [
    Deno.execPath(),
    "run",
    "-A",
    MAIN,
    "status",
    "--config",
    config,
    ...(json ? ["--json"] : []),
  ];
  return (await r.lab.exec(r.cli, argv)).stdout;
}

Deno.test({
  name:
    "a tsvpn client's management interface answers like a stock openvpn client's, serves tsvpn status, and takes signals",
  ignore: e2eIgnore(),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withPair(async (r) => {
      await startServer(r);
      const pw = `${r.pki.dir}/mgmt.pw`;
      await Deno.writeTextFile(pw, PASSWORD + "\n", { mode: 0o600 });
      const expected = await stockShapes(r, pw);

      const socket = `${r.pki.dir}/tsvpn-client.sock`;
      const config = await tsvpnClientConfig(r.pki, "alice", "172.31.0.1:1194", {
        tlsCrypt: true,
        extra: [`management: { listen: ${socket}, password_file: ${pw} }`],
      });
      const client = startTsvpnClient(r.lab, r.cli, "client", config);
      await client.waitFor(/tunnel up/, 30_000);
      const session = await openTestSession(socket, PASSWORD);
      try {
        assert.deepEqual(await shapes(session), expected, "same reply shapes as openvpn's client");
        const history = await command(session, "state all", []);
        assert.deepEqual(history.map((l) => l.split(",").length), [8, 8, 1], `state all: ${history}`);
        assert.deepEqual(history.map((l) => l.split(",")[1]), ["CONNECTING", "CONNECTED", undefined]);
        await client.waitFor(/status state=connected/);

        const snapshot = JSON.parse(await statusCli(r, config, true)) as ClientSnapshot;
        assert.equal(snapshot.mode, "client");
        assert.equal(snapshot.state, "connected");
        assert.equal(snapshot.address, "10.8.0.2/24");
        assert.equal(snapshot.remote, "172.31.0.1:1194");
        assert.match(await statusCli(r, config, false), /^state +connected/m);

        const notices: string[] = [];
        assert.deepEqual(await command(session, "signal SIGUSR1", notices), [
          "SUCCESS: signal SIGUSR1 thrown",
        ]);
        await client.waitFor(/tunnel up again, nothing changed/, 30_000);
        const states = await command(session, "state all", notices);
        assert.ok(
          states.filter((l) => /,CONNECTED,SUCCESS,10\.8\.0\.2,172\.31\.0\.1,1194,,$/.test(l)).length >= 2,
        );
        assert.ok(await r.lab.pingUntil(r.cli, "10.8.0.1", 15_000), "pings after the soft restart");

        assert.deepEqual(await command(session, "signal SIGTERM", notices), [
          "SUCCESS: signal SIGTERM thrown",
        ]);
        assert.equal(await client.stop(15_000), 0, "SIGTERM through management: a clean exit");
        const links = await r.lab.exec(r.cli, ["ip", "-j", "link", "show"]);
        assert.ok(!links.stdout.includes('"tsvpn0"'), "the tun device is gone");
      } finally {
        session.close();
      }
    }),
});
