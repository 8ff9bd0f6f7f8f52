import assert from "node:assert/strict";
import { noOpenvpn } from "../testing/openvpn.ts";
import { parse } from "yaml";
import { parseConfig } from "../config/load.ts";
import { bundle, parseRemote } from "./bundle.ts";
import { inTempDir } from "../testing/temp_dir.ts";
import { initCa, issueCertificate } from "./ca.ts";
import { revokeCertificate } from "./revoke.ts";
import { parseStaticKey } from "./static_key.ts";
import { createTlsCryptKey } from "./tls_crypt_key.ts";

const dec = new TextDecoder();

/** Runs `fn` with a new CA in a temporary directory. */
function withCa(fn: (dir: string) => Promise<void>): Promise<void> {
  return inTempDir(async (tmp) => {
    await initCa(`${tmp}/pki`);
    await fn(`${tmp}/pki`);
  }, "tsvpn_bundle_");
}

/** Runs openvpn until `until` appears in its output or `ms` pass, then stops it. Returns the output. */
async function runOpenvpn(
  args: string[],
  until: RegExp,
  ms: number,
  cwd: string,
  stop?: Promise<unknown>,
): Promise<string> {
  const child = new Deno.Command("openvpn", { args, cwd, stdout: "piped", stderr: "piped" }).spawn();
  let out = "";
  const kill = () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
  };
  const timer = setTimeout(kill, ms);
  stop?.then(kill, kill);
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) {
      out += dec.decode(chunk);
      if (until.test(out)) kill();
    }
  };
  try {
    await Promise.all([pump(child.stdout), pump(child.stderr), child.status]);
  } finally {
    clearTimeout(timer);
  }
  return out;
}

Deno.test("parseRemote() reads HOST:PORT and [IPv6]:PORT and names bad values", () => {
  assert.deepEqual(parseRemote("vpn.example.com:1194"), { host: "vpn.example.com", port: 1194 });
  assert.deepEqual(parseRemote("[2001:db8::1]:443"), { host: "2001:db8::1", port: 443 });
  assert.throws(() => parseRemote("vpn.example.com"), /Invalid remote "vpn.example.com": expected HOST:PORT/);
  assert.throws(() => parseRemote("h:0"), /port must be 1 to 65535/);
  assert.throws(() => parseRemote("2001:db8::1:443"), /expected HOST:PORT/);
});

Deno.test("bundle() ovpn profile holds the stock client directives and inline blocks", async () => {
  await withCa(async (dir) => {
    await issueCertificate(dir, { name: "alice", type: "client" });
    const plain = await bundle(dir, "alice", { remote: "vpn.example.com:1194", format: "ovpn" });
    const lines = plain.split("\n");
    for (
      const want of [
        "client",
        "dev tun",
        "proto udp",
        "remote vpn.example.com 1194",
        "nobind",
        "persist-key",
        "persist-tun",
        "remote-cert-tls server",
        "data-ciphers AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305",
        "verb 3",
      ]
    ) assert.ok(lines.includes(want), want);
    assert.ok(plain.includes(`<ca>\n${(await Deno.readTextFile(`${dir}/ca.crt`)).trim()}\n</ca>\n`));
    assert.ok(plain.includes(`<cert>\n${(await Deno.readTextFile(`${dir}/alice.crt`)).trim()}\n</cert>\n`));
    assert.ok(plain.includes(`<key>\n${(await Deno.readTextFile(`${dir}/alice.key`)).trim()}\n</key>\n`));
    assert.ok(!plain.includes("<tls-crypt>"));
    await createTlsCryptKey(dir);
    const tcp = await bundle(dir, "alice", { remote: "vpn.example.com:443", format: "ovpn", proto: "tcp" });
    assert.ok(tcp.includes("proto tcp\n"));
    const tc = /<tls-crypt>\n([\s\S]*)<\/tls-crypt>\n/.exec(tcp);
    assert.ok(tc);
    assert.deepEqual(parseStaticKey(tc[1]), parseStaticKey(await Deno.readTextFile(`${dir}/tc.key`)));
  });
});

Deno.test("bundle() yaml is a tsvpn client config that the config loader accepts", async () => {
  await withCa(async (dir) => {
    await issueCertificate(dir, { name: "alice", type: "client" });
    await createTlsCryptKey(dir);
    const text = await bundle(dir, "alice", { remote: "[2001:db8::1]:1194", format: "yaml", proto: "tcp" });
    const doc = parse(text);
    assert.equal(doc.mode, "client");
    assert.deepEqual(doc.remotes, [{ host: "2001:db8::1", port: 1194 }]);
    assert.equal(doc.proto, "tcp");
    assert.deepEqual(doc.dev, { type: "tun" });
    assert.equal(doc.pki.ca_pem, await Deno.readTextFile(`${dir}/ca.crt`));
    assert.equal(doc.pki.cert_pem, await Deno.readTextFile(`${dir}/alice.crt`));
    assert.equal(doc.pki.key_pem, await Deno.readTextFile(`${dir}/alice.key`));
    assert.equal(doc.pki.tls_crypt_pem, await Deno.readTextFile(`${dir}/tc.key`));
    const config = parseConfig(text, `${dir}/alice.yaml`);
    assert.equal(config.mode, "client");
    if (config.mode !== "client") return;
    assert.equal(config.remotes[0].port, 1194);
    assert.equal(config.pki.key.kind, "inline");
    assert.ok(config.pki.tlsCrypt !== null);
  });
});

Deno.test("bundle() refuses unknown, revoked and server names and a bad tls-crypt key", async () => {
  await withCa(async (dir) => {
    const opts = { remote: "h:1", format: "ovpn" as const };
    await assert.rejects(() => bundle(dir, "ghost", opts), /No certificate named "ghost"/);
    await issueCertificate(dir, { name: "srv", type: "server" });
    await assert.rejects(() => bundle(dir, "srv", opts), /is a server certificate; bundles are for clients/);
    await issueCertificate(dir, { name: "bob", type: "client" });
    await Deno.writeTextFile(`${dir}/bad.key`, "junk");
    await assert.rejects(() => bundle(dir, "bob", { ...opts, tlsCryptKey: `${dir}/bad.key` }), /Static key/);
    await revokeCertificate(dir, "bob");
    await assert.rejects(() => bundle(dir, "bob", opts), /Certificate "bob" is revoked/);
  });
});

Deno.test("bundle() ovpn profile loads in openvpn 2.6 with its certificate, key and tls-crypt key", {
  ignore: noOpenvpn,
}, async () => {
  await withCa(async (dir) => {
    await issueCertificate(dir, { name: "alice", type: "client" });
    await createTlsCryptKey(dir);
    await Deno.writeTextFile(
      `${dir}/alice.ovpn`,
      await bundle(dir, "alice", { remote: "127.0.0.1:1", format: "ovpn" }),
    );
    const out = await runOpenvpn(
      ["--config", "alice.ovpn", "--dev", "null", "--connect-retry-max", "1", "--verb", "4"],
      /UDPv4 link remote/,
      10_000,
      dir,
    );
    assert.doesNotMatch(out, /Options error|Cannot load|Error:/, out);
    assert.match(out, /Outgoing Control Channel Encryption: Cipher 'AES-256-CTR'/, out);
    assert.match(out, /UDPv4 link remote: \[AF_INET\]127.0.0.1:1/, out);
  });
});

Deno.test(
  "bundle() ovpn profile completes a TLS handshake with a stock openvpn server using our certificates",
  {
    ignore: noOpenvpn,
  },
  async () => {
    await withCa(async (dir) => {
      await issueCertificate(dir, { name: "server", type: "server" });
      await issueCertificate(dir, { name: "alice", type: "client" });
      await issueCertificate(dir, { name: "mallory", type: "client" });
      await createTlsCryptKey(dir);
      const port = 20000 + Math.floor(Math.random() * 30000);
      const server = (done: RegExp) =>
        runOpenvpn(
          [
            "--tls-server",
            "--dev",
            "null",
            "--proto",
            "udp",
            "--local",
            "127.0.0.1",
            "--lport",
            String(port),
            "--ca",
            "ca.crt",
            "--cert",
            "server.crt",
            "--key",
            "server.key",
            "--dh",
            "none",
            "--tls-crypt",
            "tc.key",
            "--crl-verify",
            "crl.pem",
            "--remote-cert-tls",
            "client",
            "--verb",
            "3",
          ],
          done,
          15_000,
          dir,
        );
      const client = (name: string, done: RegExp, stop?: Promise<unknown>) =>
        runOpenvpn(
          ["--config", `${name}.ovpn`, "--dev", "null", "--verb", "3"],
          done,
          15_000,
          dir,
          stop,
        );
      for (const name of ["alice", "mallory"]) {
        await Deno.writeTextFile(
          `${dir}/${name}.ovpn`,
          await bundle(dir, name, { remote: `127.0.0.1:${port}`, format: "ovpn" }),
        );
      }
      await revokeCertificate(dir, "mallory");
      // Each client runs until the server has seen what the test waits for.
      const accepted = server(/Peer Connection Initiated/);
      const c1 = await client("alice", /(?!)/, accepted);
      const s1 = await accepted;
      assert.match(s1, /Peer Connection Initiated with/, s1);
      assert.match(c1, /VERIFY OK: depth=0, CN=server/, c1);
      // The client retries until its hand-window ends, so it stops when the server has refused it.
      const refused = server(/certificate revoked/);
      await client("mallory", /AUTH_FAILED/, refused);
      const s2 = await refused;
      assert.match(s2, /certificate revoked/, s2);
    });
  },
);
