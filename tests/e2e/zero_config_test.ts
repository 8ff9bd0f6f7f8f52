/**
 * End-to-end: the appliance experience. A server started with no --config
 * makes its own state directory (CA, server certificate, tls-crypt key,
 * server.yaml); `tsvpn client add` hands out profiles that a stock openvpn
 * client (alice, .ovpn) and a tsvpn client (bob, .yaml) use unchanged;
 * `tsvpn client revoke` cuts alice at once; a restart reuses the state.
 *
 *     +-- srv 172.31.0.1 -----------------+     +-- sw --+     +-- alice 172.31.0.11 --+
 *     | main.ts --server --state-dir S    |=====|  br0   |=====| openvpn 2.6 alice.ovpn |
 *     | tsvpn0 10.8.0.1/24, udp/1194      |     |        |     +-----------------------+
 *     | management S/management.sock      |     |        |=====| bob 172.31.0.12       |
 *     +-----------------------------------+     +--------+     | main.ts --client      |
 *                                                              +-----------------------+
 */

import assert from "node:assert/strict";
import type { ServerSnapshot } from "../../src/ops/server_control.ts";
import { e2eIgnore, E2eLab, type LoggedProcess, MAIN } from "./support/lab.ts";
import { inet } from "./support/scenario.ts";
import { startTsvpnClient } from "./support/tsvpn_client.ts";

const SERVER_ADDR = "172.31.0.1";
/** Files a later start must leave exactly as the first start made them. */
const KEPT = ["server.yaml", "pki/ca.crt", "pki/ca.key", "pki/server.crt", "pki/server.key", "pki/tc.key"];

interface Kept {
  text: string;
  mtime: number;
}

async function snapshotFiles(state: string): Promise<Map<string, Kept>> {
  const out = new Map<string, Kept>();
  for (const f of KEPT) {
    const st = await Deno.stat(`${state}/${f}`);
    out.set(f, { text: await Deno.readTextFile(`${state}/${f}`), mtime: st.mtime!.getTime() });
  }
  return out;
}

function mode(path: string): number {
  return Deno.statSync(path).mode! & 0o777;
}

function main(args: string[]): string[] {
  return [Deno.execPath(), "run", "-A", "--unstable-net", MAIN, ...args];
}

/** Interface name → its "addr/len" list, from `ip -j addr` (the namespace's whole address state). */
async function links(lab: E2eLab, ns: string): Promise<Record<string, string[]>> {
  const r = await lab.exec(ns, ["ip", "-j", "addr"]);
  const parsed = JSON.parse(r.stdout) as {
    ifname: string;
    addr_info: { local: string; prefixlen: number }[];
  }[];
  return Object.fromEntries(
    parsed.map((l) => [l.ifname, l.addr_info.map((a) => `${a.local}/${a.prefixlen}`)]),
  );
}

function count(text: string, re: RegExp): number {
  return text.match(new RegExp(re.source, "g"))?.length ?? 0;
}

/** Polls until `re` has matched the log `n` times. */
async function waitForNth(p: LoggedProcess, re: RegExp, n: number, timeoutMs: number): Promise<void> {
  await p.waitForLog(() => count(p.log(), re) >= n, `${p.logPath}: ${re} ${n} times`, timeoutMs);
}

Deno.test({
  name:
    "tsvpn --server with no --config (zero-config) makes its state dir, serves clients from tsvpn client add, cuts a client at tsvpn client revoke, and restarts on the same state",
  ignore: e2eIgnore(),
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "tsvpn-e2e-zc-" });
    const state = `${dir}/state`;
    const lab = new E2eLab(dir);
    // Each step needs the one before: stop at the first failure.
    const step = async (name: string, fn: () => Promise<void>) => {
      if (!await t.step(name, fn)) throw new Error(`Stopped after the failed step "${name}"`);
    };
    try {
      await lab.init();
      const srv = await lab.host("srv", `${SERVER_ADDR}/24`);
      const nsAlice = await lab.host("alice", "172.31.0.11/24");
      const nsBob = await lab.host("bob", "172.31.0.12/24");
      const before = await links(lab, srv);
      const startServer = async (name: string) => {
        const p = lab.spawnLogged(srv, name, main(["--server", "--state-dir", state]));
        await p.waitFor(/server started/, 20_000);
        await p.waitFor(/management interface listening/, 5_000);
        return p;
      };

      // -- 1. First start, two clients from `client add`. --
      assert.throws(() => Deno.statSync(state), Deno.errors.NotFound, "the server creates the state dir");
      const t0 = Date.now();
      let server = await startServer("server1");
      let bob!: LoggedProcess;
      let alice!: LoggedProcess;
      let bobAddr = "";
      let kept!: Map<string, Kept>;
      let revokeCount = -1;
      await step(
        "a first start creates the state dir, PKI and server.yaml, and serves udp/1194 on 10.8.0.0/24",
        async () => {
          const log = server.log();
          assert.match(
            log,
            new RegExp(
              `zero-config: first start, created CA, server certificate \\(${SERVER_ADDR}\\), tls-crypt key, server\\.yaml`,
            ),
            log,
          );
          assert.match(
            log,
            /server started listen=udp:0\.0\.0\.0:1194 dev=tsvpn0 mode=tun topology=subnet address=10\.8\.0\.1/,
          );
          assert.equal(mode(state), 0o700, "state dir mode");
          for (const f of ["server.yaml", "pki/ca.key", "pki/server.key", "pki/tc.key"]) {
            assert.equal(mode(`${state}/${f}`), 0o600, `${f} mode`);
          }
          for (const f of ["pki/ca.crt", "pki/server.crt", "pki/crl.pem", "pki/index.json"]) {
            assert.ok(Deno.statSync(`${state}/${f}`).isFile, f);
          }
          const yaml = await Deno.readTextFile(`${state}/server.yaml`);
          assert.match(yaml, /^ {2}port: 1194$/m);
          assert.match(yaml, /^ {2}proto: udp$/m);
          assert.match(yaml, /^ {2}type: tun$/m);
          assert.match(yaml, /^ {2}network: 10\.8\.0\.0\/24$/m);
          assert.match(yaml, /^ {2}listen: \.\/management\.sock$/m);
          assert.equal(mode(`${state}/management.sock`), 0o600, "management socket mode");
          // The SANs are what the namespace has: eth0's address only (lo and link-local are skipped).
          const san = await lab.exec(srv, [
            "openssl",
            "x509",
            "-in",
            `${state}/pki/server.crt`,
            "-noout",
            "-ext",
            "subjectAltName",
          ]);
          assert.match(
            san.stdout,
            new RegExp(`^\\s*IP Address:${SERVER_ADDR.replaceAll(".", "\\.")}\\s*$`, "m"),
            san.stdout,
          );
          assert.equal(count(san.stdout, /IP Address:/), 1, san.stdout);
          const dev = await lab.addresses(srv, "tsvpn0");
          assert.deepEqual(inet(dev), ["10.8.0.1/24"]);
          const udp = await lab.exec(srv, ["ss", "-H", "-uln"]);
          assert.match(udp.stdout, /0\.0\.0\.0:1194\b/, udp.stdout);
          kept = await snapshotFiles(state);
        },
      );

      await step(
        "client add profiles (ovpn with --remote, yaml with the default remote) connect and ping",
        async () => {
          const add = (name: string, extra: string[]) =>
            lab.exec(srv, main(["client", "add", name, "--state-dir", state, ...extra]));
          const a = await add("alice", ["--remote", `${SERVER_ADDR}:1194`, "--format", "ovpn"]);
          assert.match(a.stderr, /Issued client certificate "alice"/);
          assert.match(a.stdout, new RegExp(`^remote ${SERVER_ADDR.replaceAll(".", "\\.")} 1194$`, "m"));
          assert.match(a.stdout, /^proto udp$/m);
          assert.match(a.stdout, /<tls-crypt>/);
          const b = await add("bob", ["--format", "yaml"]);
          // No --remote: the server certificate's first address and server.yaml's port.
          assert.match(
            b.stderr,
            new RegExp(`yaml profile for udp ${SERVER_ADDR.replaceAll(".", "\\.")}:1194`),
            b.stderr,
          );
          assert.match(b.stdout, /tls_crypt_pem:/);
          await Deno.writeTextFile(`${dir}/alice.ovpn`, a.stdout, { mode: 0o600 });
          await Deno.writeTextFile(`${dir}/bob.yaml`, b.stdout, { mode: 0o600 });

          alice = lab.startClient(nsAlice, "alice", `${dir}/alice.ovpn`);
          bob = startTsvpnClient(lab, nsBob, "bob", `${dir}/bob.yaml`);
          await Promise.all([
            alice.waitFor(/Initialization Sequence Completed/, 25_000),
            bob.waitFor(/tunnel up/, 25_000),
          ]);
          const [aAddrs, bAddrs] = await Promise.all([
            lab.addresses(nsAlice, "tun0").then(inet),
            lab.addresses(nsBob, "tsvpn0").then(inet),
          ]);
          assert.equal(aAddrs.length, 1, JSON.stringify(aAddrs));
          assert.equal(bAddrs.length, 1, JSON.stringify(bAddrs));
          assert.match(aAddrs[0], /^10\.8\.0\.\d+\/24$/);
          assert.match(bAddrs[0], /^10\.8\.0\.\d+\/24$/);
          assert.notEqual(aAddrs[0], bAddrs[0]);
          bobAddr = bAddrs[0];
          const pings = await Promise.all([
            lab.pingUntil(nsAlice, "10.8.0.1"),
            lab.pingUntil(nsBob, "10.8.0.1"),
          ]);
          assert.deepEqual(pings, [true, true], "alice→10.8.0.1, bob→10.8.0.1");

          // `tsvpn status --json --state-dir S`: the socket is found through S/server.yaml.
          const st = await lab.exec(srv, main(["status", "--json", "--state-dir", state]));
          const snap = JSON.parse(st.stdout) as ServerSnapshot;
          assert.equal(snap.mode, "tun");
          assert.equal(snap.topology, "subnet");
          assert.equal(snap.device, "tsvpn0");
          assert.deepEqual(
            snap.clients.map((c) => `${c.name} ${c.virtualAddress} ${c.realAddress.split(":")[0]}`).sort(),
            [
              `alice ${aAddrs[0].split("/")[0]} 172.31.0.11`,
              `bob ${bAddrs[0].split("/")[0]} 172.31.0.12`,
            ],
          );
        },
      );
      console.log(`zero-config: first start to two clients pinging in ${Date.now() - t0} ms`);

      // -- 2. Revoke alice while she is connected. --
      await step("client revoke cuts alice at once through reload-crl; bob stays up", async () => {
        const r = await lab.exec(srv, main(["client", "revoke", "alice", "--state-dir", state]));
        assert.equal(r.code, 0);
        assert.match(r.stdout, /^Revoked "alice" \(serial [0-9A-F]+\); CRL updated: /m, r.stdout);
        const m = r.stdout.match(
          new RegExp(
            `^Server at ${state}/management\\.sock: CRL reloaded, (\\d+) client\\(s\\) disconnected$`,
            "m",
          ),
        );
        assert.ok(m, `${r.stdout}\nserver log:\n${server.log().slice(-2000)}`);
        // The server also checks crl.pem's mtime every second. When that check reloads first it cuts
        // alice itself and reload-crl finds nobody left (0): either way alice is cut exactly once.
        assert.ok(m[1] === "1" || m[1] === "0", r.stdout);
        revokeCount = Number(m[1]);
        await server.waitFor(/disconnecting client cn=alice reason="certificate revoked/, 5_000);
        await server.waitFor(/client disconnected cn=alice/, 5_000);
        assert.equal(count(server.log(), /disconnecting client cn=alice/), 1, server.log().slice(-2000));
        // openvpn is told at once (an exit notification, not a ping timeout); every retry then fails.
        await alice.waitFor(/SIGUSR1\[soft,remote-exit\] received, process restarting/, 10_000);
        await server.waitFor(/client refused cn=alice reason="certificate revoked/, 15_000);
        await alice.waitFor(/TLS Error: TLS handshake failed/, 10_000);
        assert.ok(await lab.pingFails(nsAlice, "10.8.0.1"), "alice is cut off");
        assert.ok(await lab.pingUntil(nsBob, "10.8.0.1", 3_000), "bob still pings");
        assert.equal(count(bob.log(), /tunnel up/), 1, "bob never reconnected");
        const st = await lab.exec(srv, main(["status", "--json", "--state-dir", state]));
        assert.deepEqual((JSON.parse(st.stdout) as ServerSnapshot).clients.map((c) => c.name), ["bob"]);
      });
      console.log(`zero-config: client revoke reported ${revokeCount} client(s) disconnected`);

      // -- 3. Restart on the same state. --
      await step(
        "SIGTERM exits 0 leaving the namespace as it was; a second start reuses the state and bob reconnects",
        async () => {
          assert.equal(await server.stop(10_000), 0, server.log().slice(-3000));
          assert.match(server.log(), /server stopping/);
          const after = await links(lab, srv);
          assert.deepEqual(after, before, "tsvpn0 and its addresses are gone");
          assert.equal(after.tsvpn0, undefined);

          const t1 = Date.now();
          server = await startServer("server2");
          const log = server.log();
          assert.match(log, /zero-config: using the existing server state/);
          assert.doesNotMatch(log, /first start/);
          assert.deepEqual(await snapshotFiles(state), kept, "the second start changed none of its files");
          assert.deepEqual(inet(await lab.addresses(srv, "tsvpn0")), ["10.8.0.1/24"]);

          await waitForNth(bob, /tunnel up/, 2, 25_000);
          console.log(`zero-config: restart to bob's tunnel up again in ${Date.now() - t1} ms`);
          assert.deepEqual(
            inet(await lab.addresses(nsBob, "tsvpn0")),
            [bobAddr],
            "bob keeps its address (ipp.txt)",
          );
          assert.ok(await lab.pingUntil(nsBob, "10.8.0.1"), "bob pings after the restart");
          // The CRL is read at start: alice is still refused.
          await server.waitFor(/client refused cn=alice reason="certificate revoked/, 15_000);
          assert.equal(await bob.stop(10_000), 0, bob.log().slice(-3000));
          assert.equal(await server.stop(10_000), 0, server.log().slice(-3000));
        },
      );
    } finally {
      await lab.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
