/**
 * tsvpn's management interface against a stock openvpn 2.6 server's, driven
 * with the same script: both servers run side by side in namespaces, each
 * with one stock openvpn client connected, each with its management
 * interface on a unix socket behind the same password file (the test process
 * reaches the sockets through the file system). Every reply is reduced to its
 * shape (support/management_shapes.ts: prefixes, field counts, terminators,
 * not values) and the shapes must be equal, command by command.
 *
 *   srv (172.31.0.1) tsvpn  ◄── alice (172.31.0.11, openvpn client)
 *   ovs (172.31.0.2) openvpn ◄── bob  (172.31.0.12, openvpn client)
 */

import assert from "node:assert/strict";
import { OPENVPN } from "../interop/openvpn_harness.ts";
import { openTestSession, type TestSession } from "../../src/testing/ops/session.ts";
import { until } from "../../src/testing/wait.ts";
import { e2eIgnore, E2eLab, type LoggedProcess, serverYaml } from "./support/lab.ts";
import { command, lineShape, replyShape } from "./support/management_shapes.ts";
import { createE2ePki, type E2ePki } from "./support/pki.ts";

const opts = { ignore: e2eIgnore() };
const PASSWORD = "correct horse";

/** The same script for both; `version 3` answers nothing, so it is sent without reading a reply. */
const SCRIPT = [
  "version",
  "pid",
  "load-stats",
  "status",
  "status 1",
  "status 2",
  "status 3",
  "status 9",
  "state",
  "state all",
  "state 2",
  "state on",
  "state off",
  "state bad",
  "log 3",
  "log off",
  "log bad",
  "log",
  "hold",
  "hold on",
  "hold off",
  "hold release",
  "hold bad",
  "bytecount 0",
  "bytecount",
  "kill nobody",
  "kill",
  "kill 1.2.3.4:5",
  "kill 1.2.3.4:0",
  "kill 1.2.3.4:x",
  "client-kill 99",
  "client-kill x",
  "client-kill",
  "signal FOO",
  "signal sigusr2",
  "signal",
  "signal SIGUSR2",
  "nonsense",
];

/**
 * The commands of OpenVPN's `help` that tsvpn implements: its help must have these lines verbatim
 * (pid's says "tsvpn process" instead of "OpenVPN process").
 */
const SHARED_HELP =
  /^(bytecount|client-kill|exit\|quit|help|hold|kill|load-stats|log|signal|state|version)\b/;

interface Side {
  name: string;
  socket: string;
  client: LoggedProcess;
  session: TestSession;
  notices: string[];
}

function ovpnServerArgs(pki: E2ePki, socket: string, pw: string, extra: string[] = []): string[] {
  return [
    OPENVPN!,
    ...["--server", "10.8.0.0", "255.255.255.0", "--topology", "subnet", "--dev", "tun"],
    ...["--proto", "udp", "--port", "1194", "--ca", pki.ca, "--cert", pki.cert, "--key", pki.key],
    ...["--dh", "none", "--keepalive", "2", "10", "--verb", "3"],
    ...["--management", socket, "unix", pw],
    ...extra,
  ];
}

function tsvpnYaml(pki: E2ePki, socket: string, pw: string, hold = false): string {
  return serverYaml({
    pki: { ca: pki.ca, cert: pki.cert, key: pki.key },
    server: "  network: 10.8.0.0/24\n",
    extra: [`management: { listen: ${socket}, password_file: ${pw}${hold ? ", hold: true" : ""} }`],
  });
}

/** Two servers, two hosts, a PKI and a password file; `body` runs with everything up. */
async function withTwoServers(
  body: (lab: E2eLab, pki: E2ePki, ns: Record<string, string>, pw: string) => Promise<void>,
): Promise<void> {
  const pki = await createE2ePki(["alice", "bob"]);
  const lab = new E2eLab(pki.dir);
  try {
    await lab.init();
    const ns = {
      srv: await lab.host("srv", "172.31.0.1/24"),
      ovs: await lab.host("ovs", "172.31.0.2/24"),
      alice: await lab.host("alice", "172.31.0.11/24"),
      bob: await lab.host("bob", "172.31.0.12/24"),
    };
    const pw = `${pki.dir}/mgmt.pw`;
    await Deno.writeTextFile(pw, PASSWORD + "\n", { mode: 0o600 });
    await body(lab, pki, ns, pw);
  } finally {
    await lab.close();
    await pki.cleanup();
  }
}

async function openSide(name: string, socket: string, client: LoggedProcess): Promise<Side> {
  const session = await openTestSession(socket, PASSWORD);
  assert.equal(session.greeting, "SUCCESS: password is correct", name);
  assert.match(
    (await session.line())!,
    /^>INFO:OpenVPN Management Interface Version 5 -- type 'help' for more info$/,
  );
  return { name, socket, client, session, notices: [] };
}

/** Runs the script on both and compares the shapes command by command. */
async function compareScript(ts: Side, ov: Side): Promise<void> {
  for (const line of SCRIPT) {
    const [a, b] = [await command(ts.session, line, ts.notices), await command(ov.session, line, ov.notices)];
    assert.deepEqual(
      replyShape(a),
      replyShape(b),
      `${line}\ntsvpn:\n${a.join("\n")}\nopenvpn:\n${b.join("\n")}`,
    );
  }
  // `version 3` sets the session's version and answers nothing: the next reply is pid's.
  for (const side of [ts, ov]) {
    await side.session.send("version 3");
    assert.match((await command(side.session, "pid", side.notices))[0], /^SUCCESS: pid=\d+$/, side.name);
  }
  const [helpTs, helpOv] = [await command(ts.session, "help", []), await command(ov.session, "help", [])];
  assert.equal(lineShape(helpTs[0]), lineShape(helpOv[0]));
  assert.equal(helpTs.at(-1), "END");
  const missing = helpOv.filter((l) => SHARED_HELP.test(l) && !helpTs.includes(l));
  assert.deepEqual(missing, [], "OpenVPN help lines of shared commands missing from tsvpn's help");
}

/** The client's Client ID and real address, from `status 2`. */
async function clientRow(side: Side): Promise<{ cid: string; address: string }> {
  const rows = (await command(side.session, "status 2", side.notices)).filter((l) =>
    l.startsWith("CLIENT_LIST,")
  );
  assert.equal(rows.length, 1, `${side.name}: ${rows.join("\n")}`);
  const f = rows[0].split(",");
  return { cid: f[10], address: f[2] };
}

/** Waits for the next real-time line of `kind` (e.g. ">BYTECOUNT_CLI:"), reading replies of `pid` meanwhile. */
async function nextNotice(side: Side, kind: string): Promise<string> {
  const found = await until(async () => {
    const hit = side.notices.find((l) => l.startsWith(kind));
    if (hit) return hit;
    await command(side.session, "pid", side.notices);
    return null;
  }, { what: `${kind} from ${side.name}`, timeoutMs: 15_000, intervalMs: 200 });
  return found;
}

/** kill IP:port and client-kill CID on the live client, with `log on`: replies and >LOG lines compared. */
async function compareKills(ts: Side, ov: Side): Promise<void> {
  for (const side of [ts, ov]) {
    side.notices.length = 0;
    await command(side.session, "log on", side.notices);
  }
  const [rowTs, rowOv] = [await clientRow(ts), await clientRow(ov)];
  const [killTs, killOv] = [
    await command(ts.session, `kill ${rowTs.address}`, ts.notices),
    await command(ov.session, `kill ${rowOv.address}`, ov.notices),
  ];
  assert.equal(killTs[0], `SUCCESS: 1 client(s) at address ${rowTs.address} killed`);
  assert.deepEqual(replyShape(killTs), replyShape(killOv), `${killTs}\n${killOv}`);
  // Both clients restart and come back as new sessions.
  for (const side of [ts, ov]) {
    await side.client.waitFor(
      /Initialization Sequence Completed[\s\S]*Initialization Sequence Completed/,
      30_000,
    );
    await until(async () => (await clientRow(side).catch(() => null))?.cid, {
      what: `${side.name}'s client back`,
      timeoutMs: 15_000,
      intervalMs: 200,
    });
  }
  const [again, againOv] = [await clientRow(ts), await clientRow(ov)];
  const [ck, ckOv] = [
    await command(ts.session, `client-kill ${again.cid}`, ts.notices),
    await command(ov.session, `client-kill ${againOv.cid}`, ov.notices),
  ];
  assert.equal(ck[0], "SUCCESS: client-kill command succeeded");
  assert.deepEqual(replyShape(ck), replyShape(ckOv));
  for (const side of [ts, ov]) {
    const logs = side.notices.filter((l) => l.startsWith(">LOG:"));
    assert.ok(logs.length > 0, `${side.name} sent >LOG lines while log was on`);
    assert.deepEqual(
      [...new Set(logs.map(lineShape))],
      [">LOG:#,FLAGS,*"],
      `${side.name}: ${logs.join("\n")}`,
    );
  }
}

Deno.test({
  ...opts,
  name:
    "management: tsvpn and a stock openvpn 2.6 server give replies of the same shape to the same script (password, status 1/2/3, state, log, hold, bytecount, kill, client-kill, signal, errors)",
  fn: () =>
    withTwoServers(async (lab, pki, ns, pw) => {
      const tsSock = `${pki.dir}/tsvpn.sock`;
      const ovSock = `${pki.dir}/ovpn.sock`;
      const server = await lab.startServer(ns.srv, "tsvpn", tsvpnYaml(pki, tsSock, pw));
      const ovServer = lab.spawnLogged(ns.ovs, "openvpn-server", ovpnServerArgs(pki, ovSock, pw));
      await ovServer.waitFor(/Initialization Sequence Completed/, 20_000);
      const alice = lab.startClient(ns.alice, "alice", await pki.profile("alice", "172.31.0.1:1194"));
      const bob = lab.startClient(ns.bob, "bob", await pki.profile("bob", "172.31.0.2:1194"));
      await Promise.all([alice, bob].map((c) => c.waitFor(/Initialization Sequence Completed/, 25_000)));

      const ts = await openSide("tsvpn", tsSock, alice);
      const ov = await openSide("openvpn", ovSock, bob);
      try {
        await compareScript(ts, ov);
        for (const side of [ts, ov]) await command(side.session, "bytecount 1", side.notices);
        const counts = [await nextNotice(ts, ">BYTECOUNT_CLI:"), await nextNotice(ov, ">BYTECOUNT_CLI:")];
        assert.deepEqual(
          counts.map(lineShape),
          [">BYTECOUNT_CLI:#|#|#", ">BYTECOUNT_CLI:#|#|#"],
          counts.join("\n"),
        );
        for (const side of [ts, ov]) await command(side.session, "bytecount 0", side.notices);
        await compareKills(ts, ov);
        assert.match(server.log(), /killing client cn=alice/);
      } finally {
        ts.session.close();
        ov.session.close();
      }
    }),
});

Deno.test({
  ...opts,
  name:
    "management.hold: tsvpn, like openvpn --management-hold, starts nothing until hold release (>HOLD to the session, no client gets in), then serves; signal SIGTERM stops it",
  fn: () =>
    withTwoServers(async (lab, pki, ns, pw) => {
      const tsSock = `${pki.dir}/tsvpn.sock`;
      const ovSock = `${pki.dir}/ovpn.sock`;
      await Deno.writeTextFile(`${pki.dir}/held.yaml`, tsvpnYaml(pki, tsSock, pw, true));
      const server = lab.spawnLogged(ns.srv, "tsvpn", [
        ...[Deno.execPath(), "run", "-A", "--unstable-net"],
        ...[
          new URL("../../main.ts", import.meta.url).pathname,
          "--server",
          "--config",
          `${pki.dir}/held.yaml`,
        ],
      ]);
      const ovServer = lab.spawnLogged(
        ns.ovs,
        "openvpn-server",
        ovpnServerArgs(pki, ovSock, pw, ["--management-hold"]),
      );
      await server.waitFor(/holding until the management interface sends 'hold release'/, 20_000);
      await until(() => Deno.lstat(ovSock).then(() => true, () => false), {
        what: "openvpn's socket",
        timeoutMs: 20_000,
      });
      const alice = lab.startClient(ns.alice, "alice", await pki.profile("alice", "172.31.0.1:1194"));
      const bob = lab.startClient(ns.bob, "bob", await pki.profile("bob", "172.31.0.2:1194"));
      const ts = await openSide("tsvpn", tsSock, alice);
      const ov = await openSide("openvpn", ovSock, bob);
      try {
        for (const side of [ts, ov]) {
          assert.equal(await side.session.line(), ">HOLD:Waiting for hold release:0", side.name);
          assert.deepEqual(await command(side.session, "hold", side.notices), ["SUCCESS: hold=1"], side.name);
        }
        const held = [await command(ts.session, "status", []), await command(ov.session, "status", [])];
        assert.deepEqual(
          replyShape(held[0]),
          replyShape(held[1]),
          held.map((r) => r.join("\n")).join("\n--\n"),
        );
        assert.doesNotMatch(server.log(), /server started/);
        assert.doesNotMatch(ovServer.log(), /Initialization Sequence Completed/);
        assert.doesNotMatch(alice.log(), /Initialization Sequence Completed/);
        for (const side of [ts, ov]) {
          assert.deepEqual(await command(side.session, "hold release", side.notices), [
            "SUCCESS: hold release succeeded",
          ]);
        }
        await server.waitFor(/server started/, 20_000);
        await ovServer.waitFor(/Initialization Sequence Completed/, 20_000);
        await Promise.all([alice, bob].map((c) => c.waitFor(/Initialization Sequence Completed/, 30_000)));
        assert.ok(await lab.pingUntil(ns.alice, "10.8.0.1"));
        const states = [await command(ts.session, "state", []), await command(ov.session, "state", [])];
        assert.deepEqual(replyShape(states[0]), replyShape(states[1]), states.join("\n"));
        assert.match(states[0][0], /^\d+,CONNECTED,SUCCESS,10\.8\.0\.1,,,,$/);
        // `signal SIGTERM` stops both, as the OS signal would.
        for (const [side, proc] of [[ts, server], [ov, ovServer]] as const) {
          assert.deepEqual(await command(side.session, "signal SIGTERM", side.notices), [
            "SUCCESS: signal SIGTERM thrown",
          ]);
          assert.equal((await proc.proc.status).code, 0, side.name);
        }
        assert.match(server.log(), /server stopping reason="received a signal to stop"/);
      } finally {
        ts.session.close();
        ov.session.close();
      }
    }),
});
