import assert from "node:assert/strict";
import { join } from "node:path";
import { parseConfig } from "../config/load.ts";
import type { ServerConfig } from "../config/schema.ts";
import { runImport } from "./import.ts";
import { captureCommand } from "../testing/cli/io.ts";
import { inTempDir } from "../testing/temp_dir.ts";

const run = (args: string[]) => captureCommand(runImport, args, {});

const withDir = (fn: (dir: string) => Promise<void>) => inTempDir(fn, "tsvpn-import-");

const SAMPLES = "/usr/share/doc/openvpn/examples/sample-config-files";
const haveSamples = (() => {
  try {
    return Deno.statSync(`${SAMPLES}/server.conf`).isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "runImport() translates Debian's sample server.conf and lists what it ignored",
  ignore: !haveSamples, // needs the openvpn package's examples
  fn: async () => {
    const file = `${SAMPLES}/server.conf`;
    const { code, out, err } = await run(["openvpn", file]);
    assert.equal(code, 0, err);
    const c = parseConfig(out, join(SAMPLES, "server.yaml")) as ServerConfig;
    assert.equal(c.mode, "server");
    assert.deepEqual(c.listen, { host: "0.0.0.0", port: 1194, proto: "udp" });
    assert.equal(c.server.network!.text, "10.8.0.0/24");
    assert.equal(c.server.topology, "subnet");
    assert.deepEqual(c.keepalive, { interval: 10, timeout: 120 });
    assert.equal(c.server.statusFile, "/var/log/openvpn/openvpn-status.log");
    assert.equal(c.server.poolPersist, "/var/log/openvpn/ipp.json");
    assert.deepEqual(c.pki.ca, { kind: "file", path: `${SAMPLES}/ca.crt` });
    const lines = err.trimEnd().split("\n");
    assert.deepEqual(lines, [`${file}:93: dh dh2048.pem: not translated (not needed: tsvpn uses ECDHE)`]);
  },
});

Deno.test({
  name: "runImport() translates Debian's loopback-server sample and names each option it drops",
  ignore: !haveSamples,
  fn: async () => {
    await withDir(async (dir) => {
      // loopback-server is a point-to-point test config: give it a device and a pool like a server.
      const text = await Deno.readTextFile(`${SAMPLES}/loopback-server`);
      const file = join(dir, "server.conf");
      await Deno.writeTextFile(
        file,
        text.replace("dev null", "dev tun").replace("remote localhost\n", "") +
          "server 10.8.0.0 255.255.255.0\n",
      );
      const { code, out, err } = await run(["openvpn", file]);
      assert.equal(code, 0, err);
      const c = parseConfig(out, join(dir, "server.yaml")) as ServerConfig;
      assert.equal(c.listen.port, 16000);
      assert.equal(c.data.renegSeconds, 10);
      assert.deepEqual(c.pki.tlsAuth, {
        key: { kind: "file", path: join(dir, "sample-keys/ta.key") },
        direction: 0,
        digest: "SHA1",
      });
      assert.deepEqual(c.data.ciphers, ["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"]);
      assert.equal(c.server.topology, "net30");
      assert.deepEqual(err.trimEnd().split("\n"), [
        `${file}:12: rport 16001: not translated (the server answers each client on the client's own port)`,
        `${file}:14: local localhost: not translated (tsvpn listens on an IP address, not a host name)`,
        `${file}:19: dh sample-keys/dh2048.pem: not translated (not needed: tsvpn uses ECDHE)`,
        `${file}:25: ping 1: not translated (not supported by tsvpn)`,
        `${file}:26: inactive 120 10000000: not translated (not supported by tsvpn)`,
      ]);
    });
  },
});

Deno.test("runImport() reads client-config-dir from --ccd and the output loads", async () => {
  await withDir(async (dir) => {
    const ccd = join(dir, "clients");
    await Deno.mkdir(ccd);
    await Deno.writeTextFile(
      join(ccd, "alice"),
      "ifconfig-push 10.8.0.50 255.255.255.0\niroute 192.168.10.0 255.255.255.0\n",
    );
    await Deno.writeTextFile(join(ccd, "mallory"), "disable\n");
    const file = join(dir, "server.conf");
    await Deno.writeTextFile(
      file,
      "dev tun\ntopology subnet\nca ca.crt\ncert s.crt\nkey s.key\nserver 10.8.0.0 255.255.255.0\n" +
        "route 192.168.10.0 255.255.255.0\nclient-config-dir /nonexistent/ccd\nclient-to-client\n",
    );
    const { code, out, err } = await run(["openvpn", file, "--ccd", ccd]);
    assert.equal(code, 0, err);
    const c = parseConfig(out, join(dir, "server.yaml")) as ServerConfig;
    assert.equal(c.server.clients.get("alice")!.address!.text, "10.8.0.50");
    assert.deepEqual(c.server.clients.get("alice")!.iroutes.map((p) => p.text), ["192.168.10.0/24"]);
    assert.equal(c.server.clients.get("mallory")!.disabled, true);
    assert.equal(c.server.clientToClient, true);
    assert.equal(c.server.clientConfigDir, null);
    assert.equal(err, "");
  });
});

Deno.test("runImport() keeps a client-config-dir with a DEFAULT file live (server.client_config_dir) instead of folding it", async () => {
  await withDir(async (dir) => {
    const ccd = join(dir, "clients");
    await Deno.mkdir(ccd);
    await Deno.writeTextFile(join(ccd, "alice"), "ifconfig-push 10.8.0.50 255.255.255.0\n");
    await Deno.writeTextFile(join(ccd, "DEFAULT"), 'push "route 10.1.0.0 255.255.0.0"\n');
    const file = join(dir, "server.conf");
    await Deno.writeTextFile(
      file,
      "dev tun\ntopology subnet\nca ca.crt\ncert s.crt\nkey s.key\nserver 10.8.0.0 255.255.255.0\n" +
        "client-config-dir /nonexistent/ccd\n",
    );
    const { code, out, err } = await run(["openvpn", file, "--ccd", ccd]);
    assert.equal(code, 0, err);
    const c = parseConfig(out, join(dir, "server.yaml")) as ServerConfig;
    assert.equal(c.server.clientConfigDir, ccd);
    assert.deepEqual([...c.server.clients.keys()], []);
    assert.match(
      out,
      /client_config_dir: .*# server\.conf:7 client-config-dir \/nonexistent\/ccd \(read at each connect: a DEFAULT file needs it live\)/,
    );
    assert.equal(err, "");
  });
});

Deno.test("runImport() exits 2 with one line for an unreadable file", async () => {
  const { code, out, err } = await run(["openvpn", "/nonexistent/server.conf"]);
  assert.equal(code, 2);
  assert.equal(out, "");
  assert.equal(err, "tsvpn import: cannot read /nonexistent/server.conf: no such file or directory\n");
});

Deno.test("runImport() exits 2 with one line for an unreadable client-config-dir", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "server.conf");
    await Deno.writeTextFile(
      file,
      "ca a\ncert b\nkey c\nserver 10.8.0.0 255.255.255.0\nclient-config-dir ccd\n",
    );
    const { code, err } = await run(["openvpn", file]);
    assert.equal(code, 2);
    assert.equal(
      err,
      `tsvpn import: ${join(dir, "ccd")}: cannot read client-config-dir: no such file or directory\n`,
    );
  });
});

Deno.test("runImport() exits 2 with file:line for an invalid OpenVPN option", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "server.conf");
    await Deno.writeTextFile(file, "ca a\ncert b\nkey c\nserver 10.8.0.0 255.0.255.0\n");
    const { code, out, err } = await run(["openvpn", file]);
    assert.equal(code, 2);
    assert.equal(out, "");
    assert.equal(
      err,
      `tsvpn import: ${file}:4: server: expected a netmask such as 255.255.255.0, got "255.0.255.0"\n`,
    );
  });
});

Deno.test("runImport() exits 2 when the translation would not validate", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "server.conf");
    // No ca/cert/key: OpenVPN would refuse this too.
    await Deno.writeTextFile(file, "server 10.8.0.0 255.255.255.0\n");
    const { code, out, err } = await run(["openvpn", file]);
    assert.equal(code, 2);
    assert.equal(out, "");
    assert.match(
      err,
      /^tsvpn import: .*server\.conf translates to an invalid tsvpn config: translated\.yaml:\d+: pki: required key is missing\n$/,
    );
  });
});

Deno.test("runImport() rejects bad usage with exit 2", async () => {
  for (
    const args of [[], ["wireguard", "x.conf"], ["openvpn"], ["openvpn", "a", "b"], [
      "openvpn",
      "a",
      "--bogus",
    ]]
  ) {
    const { code, err } = await run(args);
    assert.equal(code, 2, args.join(" "));
    assert.equal(err.split("\n").length, 2, err);
    assert.match(err, /Usage: tsvpn import openvpn SERVER\.CONF \[--ccd DIR\]/);
  }
});
