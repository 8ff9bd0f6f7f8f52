import assert from "node:assert/strict";
import { Logger } from "../log/log.ts";
import {
  formatResolvConf,
  parseNameservers,
  recoverResolvConf,
  ResolvConfFile,
  savedPath,
} from "./resolv_conf.ts";

const log = new Logger({ sink: () => {} });
const dns = {
  servers: ["10.8.0.1", "fd00::53"],
  domain: "corp.example",
  search: ["corp.example", "lab.example"],
};

Deno.test("formatResolvConf() lists search domains and servers and keeps the original options", () => {
  const text = formatResolvConf(dns, "tun0", "nameserver 1.1.1.1\noptions edns0 trust-ad\n");
  assert.equal(
    text,
    "# Written by tsvpn for tun0; the previous contents come back when the tunnel closes\n" +
      "search corp.example lab.example\nnameserver 10.8.0.1\nnameserver fd00::53\noptions edns0 trust-ad\n",
  );
  assert.deepEqual(parseNameservers(text), ["10.8.0.1", "fd00::53"]);
});

Deno.test("formatResolvConf() writes only host names and IP addresses, so no value can start a line", () => {
  const hostile = {
    servers: ["10.8.0.1", "203.0.113.66\nsearch evil.example", "not-an-ip"],
    domain: "x\nnameserver 203.0.113.66",
    search: ["x\nnameserver 203.0.113.66", "corp.example", "a b", "options ndots:15"],
  };
  const text = formatResolvConf(hostile, "tun0", "");
  assert.equal(
    text,
    "# Written by tsvpn for tun0; the previous contents come back when the tunnel closes\n" +
      "search corp.example\nnameserver 10.8.0.1\n",
  );
});

Deno.test("ResolvConfFile.restore() puts back the original file contents and mode", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/resolv.conf`;
    await Deno.writeTextFile(path, "nameserver 192.168.1.1\n", { mode: 0o640 });
    await Deno.chmod(path, 0o640);
    const r = new ResolvConfFile(path, log);
    assert.deepEqual(await r.originalServers(), ["192.168.1.1"]);
    await r.apply(dns, "tun0");
    assert.match(await Deno.readTextFile(path), /nameserver 10\.8\.0\.1/);
    await r.apply({ ...dns, servers: ["10.8.0.2"] }, "tun0");
    assert.deepEqual(parseNameservers(await Deno.readTextFile(path)), ["10.8.0.2"]);
    assert.deepEqual(await r.originalServers(), ["192.168.1.1"]);
    await r.restore();
    assert.equal(await Deno.readTextFile(path), "nameserver 192.168.1.1\n");
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o640);
    await assert.rejects(Deno.stat(savedPath(path)), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ResolvConfFile.apply() writes in place, so a hard link (like a bind mount) sees the change", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/resolv.conf`;
    await Deno.writeTextFile(path, "nameserver 192.168.1.1\n");
    await Deno.link(path, `${dir}/alias`);
    const r = new ResolvConfFile(path, log);
    await r.apply(dns, "tun0");
    assert.match(await Deno.readTextFile(`${dir}/alias`), /nameserver 10\.8\.0\.1/);
    await r.restore();
    assert.equal(await Deno.readTextFile(`${dir}/alias`), "nameserver 192.168.1.1\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ResolvConfFile replaces a symlink without writing its target and recreates it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/resolv.conf`;
    await Deno.writeTextFile(`${dir}/stub`, "nameserver 127.0.0.53\n");
    await Deno.symlink("stub", path);
    const r = new ResolvConfFile(path, log);
    assert.deepEqual(await r.originalServers(), ["127.0.0.53"]);
    await r.apply(dns, "tun0");
    assert.equal((await Deno.lstat(path)).isSymlink, false);
    assert.equal(await Deno.readTextFile(`${dir}/stub`), "nameserver 127.0.0.53\n");
    await r.restore();
    assert.equal(await Deno.readLink(path), "stub");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ResolvConfFile.restore() removes a file that did not exist before", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/resolv.conf`;
    const r = new ResolvConfFile(path, log);
    await r.apply(dns, "tun0");
    await r.restore();
    await assert.rejects(Deno.lstat(path), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recoverResolvConf() restores what a killed run left behind, once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/resolv.conf`;
    await Deno.writeTextFile(path, "nameserver 192.168.1.1\n");
    await new ResolvConfFile(path, log).apply(dns, "tun0"); // then "killed": no restore
    assert.equal(await recoverResolvConf(path, log), true);
    assert.equal(await Deno.readTextFile(path), "nameserver 192.168.1.1\n");
    assert.equal(await recoverResolvConf(path, log), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
