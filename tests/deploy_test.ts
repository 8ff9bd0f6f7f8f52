/**
 * The deploy/ files: example configs load with the config loader, and the
 * systemd units are hardened as documented and pass `systemd-analyze verify`.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../src/config/load.ts";

const DEPLOY = fileURLToPath(new URL("../deploy/", import.meta.url));
const UNITS = ["tsvpn-server.service", "tsvpn-client@.service"];
const BINARY = "/usr/local/bin/tsvpn";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const systemdAnalyze = (() => {
  try {
    return new Deno.Command("systemd-analyze", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

for (const [file, mode] of [["server.yaml", "server"], ["client.yaml", "client"]] as const) {
  const path = `${DEPLOY}examples/${file}`;
  const present = exists(path);
  Deno.test({
    name: `loadConfig() loads deploy/examples/${file} as a ${mode} config` +
      (present ? "" : ` (ignored: deploy/examples/${file} is absent)`),
    ignore: !present,
    async fn() {
      const config = await loadConfig(path);
      assert.equal(config.mode, mode);
    },
  });
}

/** Directive → values, over all sections (the units repeat no directive we check). */
function readUnit(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith("[")) continue;
    const eq = line.indexOf("=");
    const key = line.slice(0, eq);
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

Deno.test("deploy/systemd units carry the hardening and commands the docs promise", async () => {
  for (const unit of UNITS) {
    const u = readUnit(await Deno.readTextFile(`${DEPLOY}systemd/${unit}`));
    const want: Record<string, string> = {
      CapabilityBoundingSet: "CAP_NET_ADMIN",
      AmbientCapabilities: "CAP_NET_ADMIN",
      NoNewPrivileges: "yes",
      ProtectSystem: "strict",
      StateDirectory: "tsvpn",
      ReadOnlyPaths: "-/etc/tsvpn",
      ProtectHome: "yes",
      PrivateTmp: "yes",
      DeviceAllow: "/dev/net/tun rw",
      RestrictAddressFamilies: "AF_INET AF_INET6 AF_NETLINK AF_UNIX",
      Restart: "on-failure",
      ExecReload: "/bin/kill -HUP $MAINPID",
    };
    for (const [k, v] of Object.entries(want)) assert.deepEqual(u.get(k), [v], `${unit} ${k}`);
    assert.equal(u.get("ExecStart")?.length, 1, unit);
    assert.ok(u.get("ExecStart")![0].startsWith(`${BINARY} `), unit);
    assert.equal(u.has("PrivateDevices"), false, `${unit}: PrivateDevices would hide /dev/net/tun`);
    assert.equal(u.has("MemoryDenyWriteExecute"), false, `${unit}: the V8 JIT needs W+X memory`);
  }
  const server = readUnit(await Deno.readTextFile(`${DEPLOY}systemd/tsvpn-server.service`));
  assert.deepEqual(server.get("ExecStart"), [`${BINARY} --server --state-dir /var/lib/tsvpn`]);
  const client = readUnit(await Deno.readTextFile(`${DEPLOY}systemd/tsvpn-client@.service`));
  assert.deepEqual(client.get("ExecStart"), [`${BINARY} --client --config /etc/tsvpn/%i.yaml`]);
});

Deno.test({
  name: "systemd-analyze verify accepts deploy/systemd units" +
    (systemdAnalyze ? "" : " (ignored: systemd-analyze is not installed)"),
  ignore: !systemdAnalyze,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      // verify insists that ExecStart exists: point the units at a stub unless tsvpn is installed.
      const binary = exists(BINARY) ? BINARY : `${dir}/tsvpn`;
      if (binary !== BINARY) await Deno.writeTextFile(binary, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
      const paths: string[] = [];
      for (const unit of UNITS) {
        const text = await Deno.readTextFile(`${DEPLOY}systemd/${unit}`);
        paths.push(`${dir}/${unit}`);
        await Deno.writeTextFile(`${dir}/${unit}`, text.replaceAll(BINARY, binary));
      }
      const out = await new Deno.Command("systemd-analyze", {
        args: ["verify", ...paths],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      // verify exits 0 on mere warnings ("ignoring"), so any output is a failure.
      assert.equal(text, "");
      assert.equal(out.code, 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
