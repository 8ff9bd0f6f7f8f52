/**
 * Client `kill -9`: the kernel removes the tun device and the routes through
 * it, but the host routes around the tunnel, the default route redirect-gateway
 * took away and resolv.conf stay. The client's journal of host changes
 * (src/client/host_journal.ts) lets `tsvpn client cleanup` or the client's next
 * start put the host back exactly: `ip route show table all`, `ip -6 route`,
 * `ip addr` and resolv.conf equal their snapshot from before the client ran.
 *
 * The lab: tests/e2e/support/client_lab.ts (cli ── srv ── net); the tsvpn
 * server pushes redirect-gateway without def1, so the client replaces the
 * default route.
 */

import assert from "node:assert/strict";
import { e2eIgnore, type LoggedProcess, MAIN, serverYaml } from "./support/lab.ts";
import {
  type ClientNet,
  clientYaml,
  hasRoute,
  hostSnapshot,
  namespaceResolvConf,
  routes,
  startClient,
  withClientLab,
} from "./support/client_lab.ts";
import type { E2ePki } from "./support/pki.ts";

const ORIGINAL_RESOLV = "nameserver 192.0.2.53\n";

/** What must come back: routes (all tables, IPv6), addresses and resolv.conf. */
async function snapshot(n: ClientNet, resolvConf: string): Promise<string> {
  return await hostSnapshot(n) + "\n--- resolv.conf\n" + await Deno.readTextFile(resolvConf);
}

/**
 * The server (redirect-gateway bypass-dns, no def1; DNS pushed), a client
 * with pull.dns resolv.conf up and its host changes checked, then `fn` with
 * the client's config and the snapshot from before it started.
 */
async function withRedirectedClient(
  fn: (
    n: ClientNet,
    client: LoggedProcess,
    config: string,
    before: string,
    resolvConf: string,
  ) => Promise<void>,
): Promise<void> {
  await withClientLab(false, async (n: ClientNet, pki: E2ePki) => {
    const resolvConf = await namespaceResolvConf(n.cli, ORIGINAL_RESOLV);
    const before = await snapshot(n, resolvConf);
    const server = await n.e.startServer(
      n.srv,
      "server",
      serverYaml({
        pki: { ca: pki.ca, cert: pki.cert, key: pki.key, crl: pki.crl, tlsCrypt: pki.tlsCrypt },
        server: "  network: 10.8.0.0/24\n  push:\n    redirect_gateway: [bypass-dns]\n    dns: [10.8.0.1]\n",
      }),
    );
    const yaml = clientYaml(pki, ["remotes: [{ host: 10.77.0.1 }]", "pull: { dns: resolv.conf }"]);
    const client = await startClient(n, "client", yaml, { resolvConfPath: resolvConf });
    try {
      await client.waitFor(/tunnel up/, 20_000);
      const r4 = await routes(n);
      assert.ok(hasRoute(r4, "default", "tsvpn0", "10.8.0.1"), JSON.stringify(r4));
      assert.ok(hasRoute(r4, "10.77.0.1", "eth0"), "the host route to the server");
      assert.ok(hasRoute(r4, "192.0.2.53", "eth0", "10.77.0.1"), "bypass-dns: the old name server around");
      assert.match(await Deno.readTextFile(resolvConf), /^nameserver 10\.8\.0\.1$/m);
      await fn(n, client, `${n.e.dir}/client.yaml`, before, resolvConf);
    } finally {
      await client.stop();
      await server.stop();
    }
  });
}

/** kill -9, then the residue: the device is gone, what was around it is not. */
async function killHard(
  n: ClientNet,
  client: LoggedProcess,
  before: string,
  resolvConf: string,
): Promise<void> {
  client.proc.kill("SIGKILL");
  await client.proc.status;
  const after = await snapshot(n, resolvConf);
  assert.notEqual(after, before, "kill -9 leaves host changes behind");
  const r4 = await routes(n);
  assert.ok(!r4.some((r) => r.dev === "tsvpn0"), "the kernel removed the device and its routes");
  assert.ok(hasRoute(r4, "10.77.0.1", "eth0"), "the host route to the server stays");
  assert.ok(!r4.some((r) => r.dst === "default"), "the replaced default route stays removed");
  assert.match(await Deno.readTextFile(resolvConf), /^nameserver 10\.8\.0\.1$/m, "resolv.conf stays");
}

Deno.test({
  name:
    "client kill -9 with redirect-gateway: tsvpn client cleanup restores routes (all tables, IPv6), addresses and resolv.conf exactly",
  ignore: e2eIgnore(),
  async fn() {
    await withRedirectedClient(async (n, client, config, before, resolvConf) => {
      await killHard(n, client, before, resolvConf);
      const cleanup = [
        Deno.execPath(),
        "run",
        "-A",
        "--unstable-net",
        MAIN,
        "client",
        "cleanup",
        "--config",
        config,
      ];
      const first = await n.e.exec(n.cli, cleanup);
      assert.match(
        first.stdout,
        /^Restored \d+ host change\(s\) a client left behind \(.*host-tsvpn0-net\d+\.jsonl\)$/m,
      );
      assert.equal(await snapshot(n, resolvConf), before);
      const again = await n.e.exec(n.cli, cleanup);
      assert.match(again.stdout, /^Nothing to clean up/);
      assert.equal(await snapshot(n, resolvConf), before, "a second cleanup changes nothing");
    });
  },
});

Deno.test({
  name:
    "client kill -9 with redirect-gateway: the next start restores the host first, and its stop leaves it exact",
  ignore: e2eIgnore(),
  async fn() {
    await withRedirectedClient(async (n, client, config, before, resolvConf) => {
      await killHard(n, client, before, resolvConf);
      const yaml = await Deno.readTextFile(config);
      const second = await startClient(n, "client2", yaml, { resolvConfPath: resolvConf });
      try {
        await second.waitFor(/restored the host changes an earlier run left behind/, 20_000);
        await second.waitFor(/tunnel up/, 20_000);
        assert.ok(hasRoute(await routes(n), "default", "tsvpn0", "10.8.0.1"));
      } finally {
        assert.equal(await second.stop(10_000), 0, second.log());
      }
      assert.equal(await snapshot(n, resolvConf), before);
    });
  },
});
