import assert from "node:assert/strict";
import { loadConfig } from "../config/load.ts";
import type { ServerConfig } from "../config/schema.ts";
import { Logger } from "../log/log.ts";
import { listCertificates } from "../pki/ca.ts";
import { X509Certificate } from "../pki/x509.ts";
import { hostAddresses, prepareZeroConfig } from "./zero_config.ts";

async function withStateDir(fn: (dir: string, logs: string[], log: Logger) => Promise<void>): Promise<void> {
  const parent = await Deno.makeTempDir();
  const logs: string[] = [];
  try {
    await fn(`${parent}/state`, logs, new Logger({ sink: (l) => logs.push(l) }));
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
}

async function snapshotTree(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else out.set(p, (await Deno.stat(p)).mtime!.getTime());
    }
  };
  await walk(dir);
  return out;
}

Deno.test("prepareZeroConfig() first start creates a 0700 state dir, CA, server cert, tls-crypt key and a loadable server.yaml", async () => {
  await withStateDir(async (dir, logs, log) => {
    const r = await prepareZeroConfig(dir, { log, sans: ["192.0.2.10", "2001:db8::10"] });
    assert.equal(r.created, true);
    assert.equal(r.configPath, `${dir}/server.yaml`);
    assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
    for (const f of ["ca.crt", "ca.key", "crl.pem", "index.json", "server.crt", "server.key", "tc.key"]) {
      assert.ok((await Deno.stat(`${dir}/pki/${f}`)).isFile, f);
    }
    for (const f of ["ca.key", "server.key", "tc.key"]) {
      assert.equal((await Deno.stat(`${dir}/pki/${f}`)).mode! & 0o777, 0o600, f);
    }
    assert.equal((await Deno.stat(`${dir}/pki`)).mode! & 0o777, 0o700);
    assert.equal((await Deno.stat(r.configPath)).mode! & 0o777, 0o600);

    const c = await loadConfig(r.configPath) as ServerConfig;
    assert.equal(c.mode, "server");
    assert.deepEqual(c.listen, { host: "0.0.0.0", port: 1194, proto: "udp" });
    assert.deepEqual(c.dev, { type: "tun", name: "tsvpn0", mtu: 1500 });
    assert.equal(c.server.network!.text, "10.8.0.0/24");
    assert.equal(c.server.topology, "subnet");
    assert.equal(c.server.clientToClient, false);
    assert.deepEqual(c.keepalive, { interval: 10, timeout: 60 });
    assert.deepEqual(c.management, {
      listen: { kind: "unix", path: `${dir}/management.sock` },
      passwordFile: null,
      hold: false,
      clientAuth: false,
    });
    assert.equal(c.server.poolPersist, `${dir}/ipp.txt`);
    assert.equal(c.server.statusFile, `${dir}/status.log`);
    assert.deepEqual(c.pki.ca, { kind: "file", path: `${dir}/pki/ca.crt` });
    assert.deepEqual(c.pki.cert, { kind: "file", path: `${dir}/pki/server.crt` });
    assert.deepEqual(c.pki.crl, { kind: "file", path: `${dir}/pki/crl.pem` });
    assert.deepEqual(c.pki.tlsCrypt, { kind: "file", path: `${dir}/pki/tc.key` });

    const cert = new X509Certificate(await Deno.readTextFile(`${dir}/pki/server.crt`));
    assert.equal(cert.subject, "CN=server");
    const records = await listCertificates(`${dir}/pki`);
    assert.deepEqual(records.map((x) => [x.name, x.type, x.sans]), [
      ["server", "server", ["IP:192.0.2.10", "IP:2001:db8::10"]],
    ]);
    const text = logs.join("\n");
    assert.match(
      text,
      /first start, created CA, server certificate \(192\.0\.2\.10, 2001:db8::10\), tls-crypt key, server\.yaml/,
    );
    assert.ok(text.includes(r.configPath));
    assert.ok(text.includes(`tsvpn client add NAME --state-dir ${dir}`));
  });
});

Deno.test("prepareZeroConfig() second start reuses everything and creates nothing", async () => {
  await withStateDir(async (dir, logs, log) => {
    const first = await prepareZeroConfig(dir, { log, sans: ["192.0.2.10"] });
    const before = await snapshotTree(dir);
    const ca = await Deno.readTextFile(`${dir}/pki/ca.crt`);
    logs.length = 0;
    const second = await prepareZeroConfig(dir, { log, sans: ["198.51.100.1"] });
    assert.deepEqual(second, { configPath: first.configPath, created: false });
    assert.deepEqual(await snapshotTree(dir), before);
    assert.equal(await Deno.readTextFile(`${dir}/pki/ca.crt`), ca);
    assert.equal((await listCertificates(`${dir}/pki`)).length, 1);
    assert.match(logs.join("\n"), /using the existing server state/);
  });
});

Deno.test("prepareZeroConfig() closes an existing state directory opened to 0755 on every start", async () => {
  await withStateDir(async (dir, _logs, log) => {
    await prepareZeroConfig(dir, { log, sans: ["192.0.2.10"] });
    await Deno.chmod(dir, 0o755);
    const r = await prepareZeroConfig(dir, { log });
    assert.equal(r.created, false);
    assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
    // A directory made by hand (e.g. mkdir with a 022 umask) before the first start.
    await Deno.remove(dir, { recursive: true });
    await Deno.mkdir(dir, { mode: 0o755 });
    await Deno.chmod(dir, 0o755);
    await prepareZeroConfig(dir, { log, sans: ["192.0.2.10"] });
    assert.equal((await Deno.stat(dir)).mode! & 0o777, 0o700);
  });
});

Deno.test("prepareZeroConfig() writes no secret through a symlink planted in the state directory", async () => {
  await withStateDir(async (dir, _logs, log) => {
    const outside = `${dir}-victim`;
    await Deno.writeTextFile(outside, "precious\n");
    await Deno.mkdir(`${dir}/pki`, { recursive: true });
    await Deno.symlink(outside, `${dir}/pki/ca.key`);
    await assert.rejects(() => prepareZeroConfig(dir, { log, sans: ["192.0.2.10"] }), /already exists/);
    await Deno.remove(`${dir}/pki/ca.key`);
    await Deno.symlink(outside, `${dir}/server.yaml.tmp-${Deno.pid}`);
    await Deno.symlink(outside, `${dir}/pki/server.key`);
    await prepareZeroConfig(dir, { log, sans: ["192.0.2.10"] });
    assert.equal(await Deno.readTextFile(outside), "precious\n");
    assert.ok(!(await Deno.lstat(`${dir}/pki/server.key`)).isSymlink, "the key replaced the link");
    assert.equal((await Deno.stat(`${dir}/pki/server.key`)).mode! & 0o777, 0o600);
    await Deno.remove(outside);
  });
});

Deno.test("prepareZeroConfig() resumes a first start that stopped before server.yaml", async () => {
  await withStateDir(async (dir, logs, log) => {
    await prepareZeroConfig(dir, { log, sans: ["192.0.2.10"] });
    const ca = await Deno.readTextFile(`${dir}/pki/ca.crt`);
    await Deno.remove(`${dir}/server.yaml`);
    await Deno.remove(`${dir}/pki/tc.key`);
    logs.length = 0;
    const r = await prepareZeroConfig(dir, { log });
    assert.equal(r.created, true);
    assert.equal(await Deno.readTextFile(`${dir}/pki/ca.crt`), ca, "the CA is kept");
    assert.equal((await listCertificates(`${dir}/pki`)).length, 1, "no second server certificate");
    assert.match(logs.join("\n"), /created tls-crypt key, server\.yaml/);
    await loadConfig(r.configPath);
  });
});

Deno.test("hostAddresses() lists IPv4 then IPv6 without loopback, link-local or tsvpn devices", () => {
  const got = hostAddresses([
    { family: "IPv4", name: "lo", address: "127.0.0.1" },
    { family: "IPv6", name: "lo", address: "::1" },
    { family: "IPv6", name: "eth0", address: "fe80::1" },
    { family: "IPv6", name: "eth0", address: "2001:db8::2" },
    { family: "IPv4", name: "eth0", address: "192.0.2.2" },
    { family: "IPv4", name: "eth1", address: "169.254.1.1" },
    { family: "IPv4", name: "tsvpn0", address: "10.8.0.1" },
    { family: "IPv4", name: "eth2", address: "198.51.100.3" },
    { family: "IPv4", name: "eth2:1", address: "198.51.100.3" },
  ]);
  assert.deepEqual(got, ["192.0.2.2", "198.51.100.3", "2001:db8::2"]);
  for (const a of hostAddresses()) assert.ok(!a.startsWith("127.") && a !== "::1", a);
});
