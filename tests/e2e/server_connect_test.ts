/**
 * End-to-end: client-config-dir, the connect scripts (client-connect,
 * client-disconnect, learn-address) and reload, against a real tsvpn server
 * with stock openvpn 2.6 clients in namespaces (support/scenario.ts: server
 * "srv" at 172.31.0.1, clients on 172.31.0.1x). The scripts are shell scripts
 * the server runs in its namespace; they write what they were given to files
 * the test reads.
 */

import assert from "node:assert/strict";
import { e2eIgnore } from "./support/lab.ts";
import { managementSession } from "./support/management.ts";
import { inet, runScenario } from "./support/scenario.ts";
import { until } from "../../src/testing/wait.ts";

const opts = { ignore: e2eIgnore() };
const MGMT = "127.0.0.1:7505";
const MANAGEMENT = `management: { listen: "${MGMT}" }`;

async function script(dir: string, name: string, body: string): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return path;
}

/** A file's lines once `ready` accepts them. */
function fileLines(path: string, ready: (lines: string[]) => boolean, what: string): Promise<string[]> {
  return until(() => {
    try {
      const lines = Deno.readTextFileSync(path).split("\n").filter((l) => l !== "");
      return ready(lines) ? lines : null;
    } catch {
      return null;
    }
  }, { what, timeoutMs: 20_000, intervalMs: 100 }) as Promise<string[]>;
}

function envOf(lines: string[]): Record<string, string> {
  return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

Deno.test({
  ...opts,
  name:
    "stock clients: the ccd file and client-connect's output set addresses and pushes, the scripts see OpenVPN's variables, a ccd edit applies at the next connect, a failing client-connect refuses",
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "tsvpn-e2e-connect-" });
    try {
      const ccd = `${dir}/ccd`;
      await Deno.mkdir(ccd);
      await Deno.writeTextFile(
        `${ccd}/alice`,
        'ifconfig-push 10.8.0.50 255.255.255.0\npush "route 172.16.0.0 255.255.0.0"\n',
      );
      const connect = await script(
        dir,
        "connect.sh",
        [
          `env > ${dir}/connect.$common_name.env`,
          '[ "$common_name" = carol ] && exit 1',
          '[ "$common_name" = bob ] && echo "ifconfig-push 10.8.0.60 255.255.255.0" > "$1"',
          "exit 0",
        ].join("\n"),
      );
      const disconnect = await script(dir, "disconnect.sh", `env > ${dir}/disconnect.$common_name.env`);
      const learn = await script(dir, "learn.sh", `echo "$*" >> ${dir}/learn.log`);
      await runScenario({
        clients: [{ name: "alice" }, { name: "bob", extra: ["--explicit-exit-notify", "1"] }],
        extraNames: ["carol"],
        extra: [MANAGEMENT],
        server: [
          "  network: 10.8.0.0/24",
          `  client_config_dir: ${ccd}`,
          `  scripts: { client_connect: ${connect}, client_disconnect: ${disconnect}, learn_address: ${learn} }`,
        ].join("\n"),
      }, async ({ lab, pki, ns, srv, server, clients }) => {
        assert.deepEqual(inet(await lab.addresses(ns.alice, "tun0")), ["10.8.0.50/24"]);
        assert.deepEqual(inet(await lab.addresses(ns.bob, "tun0")), ["10.8.0.60/24"]);
        const aliceRoutes = (await lab.exec(ns.alice, ["ip", "route", "show", "172.16.0.0/16"])).stdout;
        assert.match(aliceRoutes, /172\.16\.0\.0\/16 via 10\.8\.0\.1 dev tun0/);
        assert.ok(await lab.pingUntil(ns.bob, "10.8.0.1"));

        const env = envOf(await fileLines(`${dir}/connect.alice.env`, (l) => l.length > 5, "alice's env"));
        assert.equal(env.script_type, "client-connect");
        assert.equal(env.common_name, "alice");
        assert.equal(env.trusted_ip, "172.31.0.11");
        assert.equal(env.untrusted_ip, "172.31.0.11");
        assert.match(env.trusted_port, /^\d+$/);
        assert.match(env.ifconfig_pool_remote_ip, /^10\.8\.0\.\d+$/);
        assert.equal(env.ifconfig_pool_netmask, "255.255.255.0");
        assert.match(env.IV_VER, /^2\.6/);
        assert.equal(env.IV_PLAT, "linux");
        assert.match(env.time_unix, /^\d{10}$/);
        await fileLines(
          `${dir}/learn.log`,
          (l) => l.includes("add 10.8.0.50 alice") && l.includes("add 10.8.0.60 bob"),
          "learn-address add",
        );

        // bob leaves (explicit-exit-notify): learn-address delete, client-disconnect with its figures.
        await clients.bob.stop();
        await fileLines(`${dir}/learn.log`, (l) => l.includes("delete 10.8.0.60"), "learn-address delete");
        const gone = envOf(
          await fileLines(`${dir}/disconnect.bob.env`, (l) => l.length > 5, "bob's disconnect env"),
        );
        assert.equal(gone.script_type, "client-disconnect");
        assert.match(gone.bytes_received, /^[1-9]\d*$/);
        assert.match(gone.bytes_sent, /^[1-9]\d*$/);
        assert.match(gone.time_duration, /^\d+$/);

        // The ccd file is read at each connect: an edit applies when alice comes back, no restart.
        await Deno.writeTextFile(`${ccd}/alice`, "ifconfig-push 10.8.0.55 255.255.255.0\n");
        await managementSession(lab, srv, MGMT, ["kill alice"]);
        await clients.alice.waitFor(
          /Initialization Sequence Completed[\s\S]*Initialization Sequence Completed/,
          30_000,
        );
        assert.deepEqual(inet(await lab.addresses(ns.alice, "tun0")), ["10.8.0.55/24"]);

        // client-connect exits 1 for carol: AUTH_FAILED, as OpenVPN.
        const nsCarol = await lab.host("carol", "172.31.0.30/24");
        const carol = lab.startClient(nsCarol, "carol", await pki.profile("carol", "172.31.0.1:1194"));
        await carol.waitFor(/AUTH_FAILED/, 20_000);
        await server.waitFor(/client refused cn=carol reason="client-connect failed/);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** `ping` output's transmitted and received counts. */
function pingCounts(out: string): [number, number] {
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  assert.ok(m, out);
  return [Number(m[1]), Number(m[2])];
}

Deno.test({
  ...opts,
  name:
    "reload (SIGHUP) with a ping stream: alice's iroute changes in place with no ping lost, bob alone reconnects with his new static address, a new server route is added; management reload of a restart-only key is refused by name",
  fn: async () => {
    await runScenario({
      clients: [{ name: "alice" }, { name: "bob" }],
      extra: [MANAGEMENT],
      server: "  network: 10.8.0.0/24\n  clients:\n    alice: { iroutes: [192.168.10.0/24] }\n",
    }, async ({ lab, ns, srv, server, clients }) => {
      assert.ok(await lab.pingUntil(ns.alice, "10.8.0.1"));
      const path = `${lab.dir}/server.yaml`;
      const yaml = await Deno.readTextFile(path);
      // 60 pings 0.2 s apart span the reload and bob's reconnection.
      const stream = lab.exec(ns.alice, ["ping", "-c", "60", "-i", "0.2", "-W", "2", "10.8.0.1"], false);
      await until(() => server.log().includes("client connected cn=alice") || null, {
        what: "alice",
        timeoutMs: 5000,
      });
      await Deno.writeTextFile(
        path,
        yaml.replace("192.168.10.0/24", "192.168.20.0/24").replace(
          "  clients:\n",
          "  routes: [192.168.30.0/24]\n  clients:\n",
        ) +
          "    bob: { address: 10.8.0.40 }\n",
      );
      server.proc.kill("SIGHUP");
      await server.waitFor(
        /configuration reloaded .*summary="1 client\(s\) reconnected, 1 updated, 0 disconnected"/,
      );
      await clients.bob.waitFor(
        /Initialization Sequence Completed[\s\S]*Initialization Sequence Completed/,
        30_000,
      );
      assert.deepEqual(inet(await lab.addresses(ns.bob, "tun0")), ["10.8.0.40/24"]);
      const hostRoute = (await lab.exec(srv, ["ip", "route", "show", "192.168.30.0/24"])).stdout;
      assert.match(hostRoute, /192\.168\.30\.0\/24 dev tsvpn0/, "server.routes applied on the host");
      const [sent, received] = pingCounts((await stream).stdout);
      assert.equal(sent, 60);
      assert.equal(received, 60, "no ping lost across the reload");
      assert.equal(
        clients.alice.log().match(/Initialization Sequence Completed/g)?.length,
        1,
        "alice never reconnected",
      );
      const status = await managementSession(lab, srv, MGMT, ["status 2"]);
      assert.ok(status.some((l) => /^ROUTING_TABLE,192\.168\.20\.0\/24,alice,/.test(l)), status.join("\n"));

      await Deno.writeTextFile(path, yaml.replace("name: tsvpn0", "name: tsvpn9"));
      const reply = await managementSession(lab, srv, MGMT, ["reload"]);
      assert.equal(
        reply[0],
        "ERROR: reload refused: dev.name changed, which needs a restart; the running configuration stays",
      );
      assert.ok(await lab.pingUntil(ns.alice, "10.8.0.1"));
    });
  },
});
