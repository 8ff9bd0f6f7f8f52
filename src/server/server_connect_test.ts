/**
 * client-config-dir, the connect scripts and reload, through the real server
 * and real tsvpn clients in one process (src/testing/server/lab.ts). The
 * scripts are real shell scripts run as child processes; they write what
 * they were given to files in a temporary directory.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { Lab, type LabClient, type LabServer, until } from "../testing/server/lab.ts";
import { holds } from "../testing/wait.ts";

async function withLab(extraClients: string[], fn: (lab: Lab, dir: string) => Promise<void>): Promise<void> {
  const lab = await Lab.create(extraClients);
  const dir = await Deno.makeTempDir({ prefix: "tsvpn-connect-" });
  try {
    await fn(lab, dir);
  } finally {
    await lab.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function hasLine(client: LabClient, re: RegExp): boolean {
  return client.net.snapshot().some((l) => re.test(l));
}

async function addressOf(client: LabClient): Promise<string> {
  await client.handle.waitConnected(15_000);
  return addressNow(client);
}

function addressNow(client: LabClient): string {
  return client.net.snapshot().find((l) => l.startsWith("addr tun0 "))?.split(" ")[2] ?? "";
}

async function restart(lab: Lab, client: LabClient): Promise<LabClient> {
  client.handle.stop();
  await client.handle.done;
  return lab.startClient(client.name);
}

/** A file's lines once `ready` accepts them (bounded wait). */
function linesOf(path: string, ready: (lines: string[]) => boolean, what: string): Promise<string[]> {
  return until(() => {
    try {
      const lines = Deno.readTextFileSync(path).split("\n").filter((l) => l !== "");
      return ready(lines) ? lines : undefined;
    } catch {
      return undefined;
    }
  }, what);
}

async function script(dir: string, name: string, body: string): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return path;
}

Deno.test("client_config_dir: the client's file gives its address, iroute and pushes, DEFAULT serves the others with push-reset, and an edit applies at the next connect without a restart", async () => {
  await withLab(["client2"], async (lab, dir) => {
    const ccd = `${dir}/ccd`;
    await Deno.mkdir(ccd);
    await Deno.writeTextFile(
      `${ccd}/client1`,
      'ifconfig-push 10.8.0.50 255.255.255.0\niroute 192.168.50.0 255.255.255.0\npush "route 172.16.0.0 255.255.0.0"\n',
    );
    await Deno.writeTextFile(`${ccd}/DEFAULT`, 'push-reset\npush "route 10.99.0.0 255.255.0.0"\n');
    const server = await lab.startServer({
      server: [
        "  network: 10.8.0.0/24",
        `  client_config_dir: ${ccd}`,
        "  push: { routes: [172.20.0.0/16] }",
      ],
    });
    let c1 = lab.startClient("client1");
    assert.equal(await addressOf(c1), "10.8.0.50/24");
    assert.ok(hasLine(c1, /^route 172\.16\.0\.0\/16 /), c1.net.snapshot().join("\n"));
    assert.ok(hasLine(c1, /^route 172\.20\.0\.0\/16 /), "server.push is inherited without push-reset");
    assert.ok(routesOf(server).includes("192.168.50.0/24 client1"), routesOf(server).join("\n"));

    const c2 = lab.startClient("client2");
    await addressOf(c2);
    assert.ok(hasLine(c2, /^route 10\.99\.0\.0\/16 /), c2.net.snapshot().join("\n"));
    assert.ok(!hasLine(c2, /^route 172\.20\.0\.0\/16 /), "push-reset in DEFAULT drops server.push");

    await Deno.writeTextFile(`${ccd}/client1`, "ifconfig-push 10.8.0.60 255.255.255.0\n");
    c1 = await restart(lab, c1);
    assert.equal(await addressOf(c1), "10.8.0.60/24");
    assert.ok(!routesOf(server).some((r) => r.startsWith("192.168.50.0/24")), routesOf(server).join("\n"));

    await Deno.writeTextFile(`${ccd}/client1`, "disable\n");
    c1 = await restart(lab, c1);
    const end = await until(() => c1.ends.find((e) => e.kind === "auth-failed"), "client1 refused");
    assert.match(end.reason, /disabled/);
  });
});

function routesOf(server: LabServer): string[] {
  return server.handle.control.snapshot().routes.map((r) => `${r.virtualAddress} ${r.name}`);
}

Deno.test("server.scripts: client-connect sees OpenVPN's variables and its output applies; learn-address and client-disconnect follow; a failing client-connect refuses the client", async () => {
  await withLab(["client2"], async (lab, dir) => {
    const connect = await script(
      dir,
      "connect.sh",
      [
        `env > ${dir}/connect.$common_name.env`,
        `echo "$1" > ${dir}/connect.$common_name.arg`,
        '[ "$common_name" = client2 ] && exit 3',
        'echo "ifconfig-push 10.8.0.77 255.255.255.0" > "$1"',
        'echo "iroute 192.168.77.0 255.255.255.0" >> "$1"',
      ].join("\n"),
    );
    const disconnect = await script(dir, "disconnect.sh", `env > ${dir}/disconnect.$common_name.env`);
    const learn = await script(dir, "learn.sh", `echo "$script_type $*" >> ${dir}/learn.log`);
    const server = await lab.startServer({
      server: [
        "  network: 10.8.0.0/24",
        `  scripts: { client_connect: ${connect}, client_disconnect: ${disconnect}, learn_address: ${learn} }`,
      ],
    });
    const c1 = lab.startClient("client1");
    assert.equal(await addressOf(c1), "10.8.0.77/24");
    assert.ok(routesOf(server).includes("192.168.77.0/24 client1"), routesOf(server).join("\n"));
    const env = envOf(
      await linesOf(`${dir}/connect.client1.env`, (l) => l.length > 0, "client-connect's env"),
    );
    assert.equal(env.script_type, "client-connect");
    assert.equal(env.common_name, "client1");
    assert.equal(env.X509_0_CN, "client1");
    assert.equal(env.trusted_ip, "192.168.1.10");
    assert.equal(env.untrusted_ip, "192.168.1.10");
    assert.equal(env.trusted_port, "40000");
    assert.equal(
      env.ifconfig_pool_remote_ip,
      "10.8.0.2",
      "the pool's address before the script's ifconfig-push",
    );
    assert.equal(env.ifconfig_pool_netmask, "255.255.255.0");
    assert.equal(env.dev, "tsvpn0");
    assert.match(env.time_unix, /^\d{10}$/);
    assert.match(env.tls_serial_0, /^\d+$/);
    const arg = (await linesOf(`${dir}/connect.client1.arg`, (l) => l.length === 1, "$1"))[0];
    assert.equal(env.client_connect_config_file, arg);
    await linesOf(`${dir}/learn.log`, (l) => l.length === 2, "learn-address add twice");

    c1.handle.stop();
    await c1.handle.done;
    const learned = await linesOf(`${dir}/learn.log`, (l) => l.length === 4, "learn-address delete twice");
    assert.deepEqual(learned, [
      "learn-address add 10.8.0.77 client1",
      "learn-address add 192.168.77.0/24 client1",
      "learn-address delete 10.8.0.77",
      "learn-address delete 192.168.77.0/24",
    ]);
    const gone = envOf(
      await linesOf(`${dir}/disconnect.client1.env`, (l) => l.length > 0, "client-disconnect's env"),
    );
    assert.equal(gone.script_type, "client-disconnect");
    assert.equal(gone.common_name, "client1");
    assert.match(gone.bytes_received, /^[1-9]\d*$/);
    assert.match(gone.bytes_sent, /^\d+$/);
    assert.match(gone.time_duration, /^\d+$/);

    const c2 = lab.startClient("client2");
    const end = await until(() => c2.ends.find((e) => e.kind === "auth-failed"), "client2 refused");
    assert.match(end.reason, /client-connect failed: .*exited with code 3/);
    await server.log.waitFor(/client refused cn=client2 reason="client-connect failed/);
    assert.equal(c2.handle.status.connects, 0);
    // A client client-connect refused was never let in: no client-disconnect, no learn-address.
    await server.log.waitFor(/session ended before data cn=client2/);
    await holds(() => !existsSync(`${dir}/disconnect.client2.env`), 1000, "no client-disconnect for client2");
    assert.equal((await Deno.readTextFile(`${dir}/learn.log`)).includes("client2"), false);
  });
});

function envOf(lines: string[]): Record<string, string> {
  return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

Deno.test("reload: an iroute change updates the client in place, a static address change reconnects only that client, and a key that needs a restart is refused by name", async () => {
  await withLab(["client2"], async (lab, dir) => {
    const configPath = `${dir}/server.yaml`;
    const server = await lab.startServer({
      configPath,
      server: ["  network: 10.8.0.0/24", "  clients:", "    client1: { iroutes: [192.168.1.0/24] }"],
    });
    const c1 = lab.startClient("client1");
    const c2 = lab.startClient("client2");
    await Promise.all([addressOf(c1), addressOf(c2)]);
    const yaml = await Deno.readTextFile(configPath);
    const reload = (text: string) =>
      Deno.writeTextFile(configPath, text).then(() => server.handle.control.reload!());

    const c2Again = c2.handle.waitConnected(15_000);
    const summary = await reload(
      yaml.replace("192.168.1.0/24", "192.168.2.0/24") + "    client2: { address: 10.8.0.40 }\n",
    );
    assert.equal(summary, "1 client(s) reconnected, 1 updated, 0 disconnected");
    assert.ok(routesOf(server).includes("192.168.2.0/24 client1"), routesOf(server).join("\n"));
    assert.ok(!routesOf(server).some((r) => r.startsWith("192.168.1.0/24")));
    await c2Again;
    assert.equal(addressNow(c2), "10.8.0.40/24");
    assert.equal(c2.handle.status.connects, 2);
    assert.equal(c1.handle.status.connects, 1, "client1's tunnel never dropped");
    assert.deepEqual(c1.ends, []);

    const refused = reload(yaml.replace("port: 1194", "port: 1195"));
    await assert.rejects(refused, /reload refused: listen\.port changed, which needs a restart/);
    await assert.rejects(
      reload(yaml.replace("network: 10.8.0.0/24", "network: 10.9.0.0/24")),
      /reload refused: server\.network changed/,
    );
    assert.ok(routesOf(server).includes("192.168.2.0/24 client1"), "the running configuration stays");
    await assert.rejects(reload("mode: server\nlisten: [\n"), /server\.yaml/);
  });
});

Deno.test("server.scripts: while client-connect runs the client is not on the datapath (no route, no data), and the push reply waits for it", async () => {
  await withLab([], async (lab, dir) => {
    const connect = await script(
      dir,
      "connect.sh",
      `touch ${dir}/started\nfor i in $(seq 100); do [ -f ${dir}/go ] && exit 0; sleep 0.1; done\nexit 1`,
    );
    const server = await lab.startServer({
      server: ["  network: 10.8.0.0/24", `  scripts: { client_connect: ${connect}, timeout: 30 }`],
    });
    const c1 = lab.startClient("client1");
    const up = c1.handle.waitConnected(20_000);
    up.catch(() => {}); // awaited below; a failure before that must not surface as an uncaught rejection
    await until(() => existsSync(`${dir}/started`) || undefined, "client-connect started");
    await server.log.waitFor(/client certificate verified cn=client1/);
    await holds(
      () => server.handle.control.snapshot().clients.length === 0 && routesOf(server).length === 0,
      500,
      "client1 stays off the datapath while client-connect runs",
    );
    assert.equal(c1.handle.status.connects, 0, "no push reply yet");
    await Deno.writeTextFile(`${dir}/go`, "");
    await up;
    assert.deepEqual(routesOf(server), ["10.8.0.2 client1"]);
  });
});
