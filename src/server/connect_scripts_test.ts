import assert from "node:assert/strict";
import type { ServerScripts } from "../config/schema.ts";
import { Logger } from "../log/log.ts";
import { ConnectScripts } from "./connect_scripts.ts";

const log = new Logger({ level: "error", scope: "test", sink: () => {} });

async function withScripts(
  fn: (dir: string, write: (name: string, body: string) => Promise<string>) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn-scripts-" });
  try {
    await fn(dir, async (name, body) => {
      await Deno.writeTextFile(`${dir}/${name}`, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
      return `${dir}/${name}`;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function config(o: Partial<ServerScripts>): () => ServerScripts {
  return () => ({ clientConnect: null, clientDisconnect: null, learnAddress: null, timeout: 10, ...o });
}

Deno.test("clientConnect() passes an empty file as $1 and returns what the script wrote there; the file is gone after", async () => {
  await withScripts(async (dir, write) => {
    const path = await write(
      "cc.sh",
      `echo "$script_type $common_name $(wc -c < "$1")" > ${dir}/seen\necho "iroute 10.1.0.0 255.255.0.0" > "$1"`,
    );
    const scripts = new ConnectScripts({ config: config({ clientConnect: path }), log });
    const r = await scripts.clientConnect({ common_name: "alice" });
    assert.deepEqual(r, { ok: true, text: "iroute 10.1.0.0 255.255.0.0\n", file: path });
    assert.equal((await Deno.readTextFile(`${dir}/seen`)).trim(), "client-connect alice 0");
  });
});

Deno.test("clientConnect() fails on a non-zero exit, a missing script and a timeout (the script is killed)", async () => {
  await withScripts(async (dir, write) => {
    const fails = await write("fail.sh", "exit 4");
    // A child of the script outlives it (holding stdout, if it were a pipe); the test ends it afterwards.
    const slow = await write("slow.sh", `sleep 30 &\necho $! > ${dir}/pid\nwait`);
    const r1 = await new ConnectScripts({ config: config({ clientConnect: fails }), log }).clientConnect({});
    assert.deepEqual(r1, { ok: false, reason: `${fails} exited with code 4` });
    const r2 = await new ConnectScripts({ config: config({ clientConnect: `${dir}/none` }), log })
      .clientConnect({});
    assert.equal(r2?.ok, false);
    const started = performance.now();
    const r3 = await new ConnectScripts({ config: config({ clientConnect: slow, timeout: 1 }), log })
      .clientConnect({});
    assert.deepEqual(r3, { ok: false, reason: `${slow} did not finish within 1 s` });
    assert.ok(performance.now() - started < 10_000);
    Deno.kill(Number((await Deno.readTextFile(`${dir}/pid`)).trim()), "SIGKILL");
    assert.equal(await new ConnectScripts({ config: config({}), log }).clientConnect({}), null);
  });
});

Deno.test("learnAddress() and clientDisconnect() run one at a time in order, with OpenVPN's arguments; values with control characters are left out", async () => {
  await withScripts(async (dir, write) => {
    const la = await write("la.sh", `echo "$script_type $* [$evil]" >> ${dir}/log`);
    const cd = await write("cd.sh", `echo "$script_type $common_name $bytes_sent" >> ${dir}/log`);
    const scripts = new ConnectScripts({ config: config({ learnAddress: la, clientDisconnect: cd }), log });
    const env = { common_name: "alice", evil: "a\nb" };
    scripts.learnAddress("add", "10.8.0.2", env);
    scripts.learnAddress("update", "192.168.1.0/24", env);
    scripts.learnAddress("delete", "10.8.0.2", env);
    scripts.clientDisconnect({ ...env, bytes_sent: "42" });
    await scripts.settled();
    assert.deepEqual((await Deno.readTextFile(`${dir}/log`)).trim().split("\n"), [
      "learn-address add 10.8.0.2 alice []",
      "learn-address update 192.168.1.0/24 alice []",
      "learn-address delete 10.8.0.2 []",
      "client-disconnect alice 42",
    ]);
  });
});
