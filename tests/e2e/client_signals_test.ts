/**
 * The client as a service (issue 16): its signals, against a tsvpn server in
 * the client lab (support/client_lab.ts: cli 10.77.0.2 ── srv 10.77.0.1).
 *
 * SIGUSR1 is a soft restart (reconnect now, device and host changes kept);
 * SIGHUP — sent exactly as deploy/systemd/tsvpn-client@.service's ExecReload
 * sends it — re-reads the configuration and restarts with it, and a broken
 * configuration is logged while the tunnel stays; SIGUSR2 logs the status.
 */

import assert from "node:assert/strict";
import { e2eIgnore, ROOT, serverYaml } from "./support/lab.ts";
import {
  type ClientNet,
  clientYaml,
  hasRoute,
  routes,
  startClient,
  withClientLab,
} from "./support/client_lab.ts";
import type { E2ePki } from "./support/pki.ts";

const ignore = e2eIgnore();
const UNIT = `${ROOT}deploy/systemd/tsvpn-client@.service`;

async function tsvpnServer(n: ClientNet, pki: E2ePki): Promise<void> {
  await n.e.startServer(
    n.srv,
    "server",
    serverYaml({
      pki: { ca: pki.ca, cert: pki.cert, key: pki.key, tlsCrypt: pki.tlsCrypt },
      server: "  network: 10.8.0.0/24",
    }).replace("listen: { host: 0.0.0.0,", "listen: { host: 10.77.0.1,"),
  );
}

/** Runs the unit's ExecReload line with $MAINPID set, as systemd would on `systemctl reload`. */
async function systemctlReload(pid: number): Promise<void> {
  const unit = await Deno.readTextFile(UNIT);
  const line = unit.split("\n").find((l) => l.startsWith("ExecReload="));
  assert.ok(line, "the unit has an ExecReload");
  const out = await new Deno.Command("sh", {
    args: ["-c", line.slice("ExecReload=".length)],
    env: { MAINPID: `${pid}` },
  }).output();
  assert.equal(out.code, 0);
}

async function tunIndex(n: ClientNet): Promise<number> {
  const r = await n.e.exec(n.cli, ["ip", "-j", "link", "show", "dev", "tsvpn0"]);
  return JSON.parse(r.stdout)[0].ifindex;
}

const count = (text: string, re: RegExp) => (text.match(re) ?? []).length;

Deno.test({
  name:
    "runClient() signals: SIGUSR1 reconnects keeping the device, the unit's reload (SIGHUP) applies an edited config, a broken one is refused, SIGUSR2 logs status",
  ignore,
  async fn() {
    await withClientLab(false, async (n, pki) => {
      await tsvpnServer(n, pki);
      const path = `${n.e.dir}/client.yaml`;
      const base = ["remotes: [{ host: 10.77.0.1, port: 1194 }]"];
      const client = await startClient(n, "client", clientYaml(pki, base));
      await client.waitFor(/tunnel up/, 30_000);
      const pid = client.proc.pid;
      const device = await tunIndex(n);

      Deno.kill(pid, "SIGUSR2");
      await client.waitFor(/status state=connected remote=10\.77\.0\.1:1194 address=10\.8\.0\.2\/24/);

      Deno.kill(pid, "SIGUSR1");
      await client.waitFor(/tunnel up again, nothing changed/, 30_000);
      assert.match(client.log(), /restarting reason="?received SIGUSR1/);
      assert.equal(await tunIndex(n), device, "a soft restart keeps the device");
      assert.doesNotMatch(client.log(), /Debugger listening/, "SIGUSR1 never opens Deno's debugger");
      assert.ok(await n.e.pingUntil(n.cli, "10.8.0.1", 15_000), "pings after SIGUSR1");

      await Deno.writeTextFile(path, clientYaml(pki, [...base, "routes: [10.66.0.0/16]"]));
      await systemctlReload(pid);
      await client.waitFor(/restarting with the configuration read again/, 30_000);
      await client.waitForLog(
        () => count(client.log(), /tunnel up remote/g) >= 2,
        "a tunnel up after the reload",
        30_000,
      );
      assert.ok(hasRoute(await routes(n), "10.66.0.0/16", "tsvpn0"), "the edited config's route is in place");
      assert.ok(await n.e.pingUntil(n.cli, "10.8.0.1", 15_000), "pings after the reload");

      await Deno.writeTextFile(path, "mode: client\nremotes: nope\n");
      await systemctlReload(pid);
      await client.waitFor(/SIGHUP: keeping the running configuration: .*remotes/);
      assert.ok(await n.e.pingUntil(n.cli, "10.8.0.1", 15_000), "a refused reload leaves the tunnel up");
      assert.ok(client.proc.running, "the client still runs");
    });
  },
});
