import assert from "node:assert/strict";
import { parseConfig } from "../config/load.ts";
import type { ClientConfig } from "../config/schema.ts";
import { Logger } from "../log/log.ts";
import { startManagement } from "../ops/management.ts";
import { FakeServerControl } from "../testing/ops/control.ts";
import { listCertificates } from "../pki/ca.ts";
import { X509Crl } from "../pki/x509.ts";
import { prepareZeroConfig } from "../server/zero_config.ts";
import { noOpenvpn } from "../testing/openvpn.ts";
import { inTempDir } from "../testing/temp_dir.ts";
import { runClientAdmin } from "./client_admin.ts";
import { captureCommand, freeLoopbackPort } from "../testing/cli/io.ts";

const log = new Logger({ sink: () => {} });

function withServerState(sans: string[], fn: (dir: string) => Promise<void>): Promise<void> {
  return inTempDir(async (parent) => {
    await prepareZeroConfig(`${parent}/state`, { log, sans });
    await fn(`${parent}/state`);
  });
}

const run = (args: string[]) => captureCommand(runClientAdmin, args, { timeoutMs: 2000 });

async function setManagement(dir: string, listen: string | null, passwordFile?: string): Promise<void> {
  const path = `${dir}/server.yaml`;
  const text = await Deno.readTextFile(path);
  const extra = passwordFile === undefined ? "" : `\n  password_file: ${passwordFile}`;
  const next = listen === null
    ? text.replace(/^management:\n {2}listen: .*\n/m, "")
    : text.replace(/^( {2}listen: )\.\/management\.sock$/m, `$1${listen}${extra}`);
  assert.notEqual(next, text);
  await Deno.writeTextFile(path, next);
}

Deno.test("runClientAdmin() add prints an .ovpn profile for the server's first address, port and protocol", async () => {
  await withServerState(["192.0.2.10", "2001:db8::10"], async (dir) => {
    const r = await run(["add", "alice", "--state-dir", dir]);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split("\n");
    for (const l of ["client", "dev tun", "proto udp", "remote 192.0.2.10 1194", "remote-cert-tls server"]) {
      assert.ok(lines.includes(l), l);
    }
    for (const tag of ["ca", "cert", "key"]) {
      assert.ok(r.out.includes(`<${tag}>\n-----BEGIN `) && r.out.includes(`</${tag}>\n`), tag);
    }
    assert.match(r.out, /<tls-crypt>\n[^<]*-----BEGIN OpenVPN Static key V1-----[^<]*<\/tls-crypt>\n/);
    assert.match(
      r.err,
      /^Issued client certificate "alice" \(serial [0-9A-F]+\); ovpn profile for udp 192\.0\.2\.10:1194 written to stdout\n$/,
    );
    const certs = await listCertificates(`${dir}/pki`);
    assert.deepEqual(certs.map((c) => [c.name, c.type]), [["server", "server"], ["alice", "client"]]);
  });
});

Deno.test("runClientAdmin() add honours --remote, --proto and --format yaml, and brackets an IPv6 default", async () => {
  await withServerState(["2001:db8::10"], async (dir) => {
    const v6 = await run(["add", "bob", "--state-dir", dir]);
    assert.equal(v6.code, 0, v6.err);
    assert.ok(v6.out.includes("\nremote 2001:db8::10 1194\n"));
    assert.match(v6.err, /udp \[2001:db8::10\]:1194/);

    const y = await run([
      "add",
      "carol",
      "--state-dir",
      dir,
      "--format",
      "yaml",
      "--proto",
      "tcp",
      "--remote",
      "vpn.example.com:443",
    ]);
    assert.equal(y.code, 0, y.err);
    const c = parseConfig(y.out, "carol.yaml") as ClientConfig;
    assert.equal(c.mode, "client");
    assert.deepEqual(c.remotes, [{ host: "vpn.example.com", port: 443, proto: "tcp" }]);
    assert.equal(c.pki.cert.kind, "inline");
    assert.ok(c.pki.tlsCrypt !== null);
  });
});

Deno.test("runClientAdmin() add refuses a name in use, a missing state dir and bad arguments", async () => {
  await withServerState(["192.0.2.10"], async (dir) => {
    assert.equal((await run(["add", "alice", "--state-dir", dir])).code, 0);
    const again = await run(["add", "alice", "--state-dir", dir]);
    assert.equal(again.code, 1);
    assert.equal(again.out, "");
    assert.match(again.err, /^tsvpn client: A client certificate named "alice" already exists/);
    const server = await run(["add", "server", "--state-dir", dir]);
    assert.equal(server.code, 1);

    const usage: [string[], RegExp][] = [
      [["add", "--state-dir", dir], /Missing NAME for client add/],
      [["add", "a", "b", "--state-dir", dir], /Unexpected argument "b"/],
      [["add", "bad/name", "--state-dir", dir], /Invalid name "bad\/name"/],
      [["add", "x", "--format", "pem", "--state-dir", dir], /Invalid --format "pem": expected ovpn or yaml/],
      [["add", "x", "--proto", "sctp", "--state-dir", dir], /Invalid --proto "sctp"/],
      [["add", "x", "--remote", "nohost", "--state-dir", dir], /Invalid remote "nohost"/],
      [["add", "x", "--bogus"], /Unknown option '--bogus'/],
      [["list"], /Unknown client command "list"/],
      [[], /Missing client command/],
    ];
    for (const [args, re] of usage) {
      const r = await run(args);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.err, re);
      assert.ok(r.err.endsWith("(see tsvpn client help)\n"));
    }
  });
  const missing = await run(["add", "zed", "--state-dir", "/nonexistent/tsvpn"]);
  assert.equal(missing.code, 1);
  assert.equal(
    missing.err,
    'tsvpn client: No tsvpn server state in /nonexistent/tsvpn (server.yaml is missing): start the server once with "tsvpn --server --state-dir /nonexistent/tsvpn"\n',
  );
});

Deno.test("runClientAdmin() revoke updates the CRL and makes a live server reload it over its password-protected socket", async () => {
  await withServerState(["192.0.2.10"], async (dir) => {
    assert.equal((await run(["add", "alice", "--state-dir", dir])).code, 0);
    const control = new FakeServerControl();
    control.crlDisconnects = 1;
    await Deno.writeTextFile(`${dir}/mgmt.pw`, "s3cret\n", { mode: 0o600 });
    const mgmt = await startManagement(`${dir}/management.sock`, control, {
      log,
      passwordFile: `${dir}/mgmt.pw`,
    });
    try {
      await setManagement(dir, "./management.sock", "mgmt.pw");
      const r = await run(["revoke", "alice", "--state-dir", dir]);
      assert.equal(r.code, 0, r.err);
      const serial = (await listCertificates(`${dir}/pki`)).find((c) => c.name === "alice")!.serial;
      assert.equal(
        r.out,
        `Revoked "alice" (serial ${serial}); CRL updated: ${dir}/pki/crl.pem\n` +
          `Server at ${mgmt.address}: CRL reloaded, 1 client(s) disconnected\n`,
      );
      assert.equal(control.crlReloads, 1);
      const crl = new X509Crl(await Deno.readTextFile(`${dir}/pki/crl.pem`));
      assert.deepEqual(crl.entries.map((e) => e.serialNumber.toUpperCase().replace(/^0+/, "")), [
        serial.replace(/^0+/, ""),
      ]);
      const again = await run(["revoke", "alice", "--state-dir", dir]);
      assert.equal(again.code, 1);
      assert.match(again.err, /Certificate "alice" is already revoked/);
      assert.equal(control.crlReloads, 1);
    } finally {
      await mgmt.close();
    }
  });
});

Deno.test("runClientAdmin() revoke still revokes when the server is down or has no management interface", async () => {
  await withServerState(["192.0.2.10"], async (dir) => {
    assert.equal((await run(["add", "alice", "--state-dir", dir])).code, 0);
    assert.equal((await run(["add", "bob", "--state-dir", dir])).code, 0);
    const port = freeLoopbackPort();
    await setManagement(dir, `127.0.0.1:${port}`);
    const down = await run(["revoke", "alice", "--state-dir", dir]);
    assert.equal(down.code, 0, down.err);
    assert.match(
      down.out,
      new RegExp(
        `\\nServer not reached: Cannot reach the management interface at 127\\.0\\.0\\.1:${port}: connection refused \\(is the server running\\?\\); the revocation applies when it starts or reloads its CRL\\n$`,
      ),
    );
    await setManagement(dir, null);
    const none = await run(["revoke", "bob", "--state-dir", dir]);
    assert.equal(none.code, 0, none.err);
    assert.match(none.out, /\nNo management interface in server\.yaml: /);
    const revoked = (await listCertificates(`${dir}/pki`)).filter((c) => c.revokedAt !== null).map((c) =>
      c.name
    );
    assert.deepEqual(revoked, ["alice", "bob"]);
    const unknown = await run(["revoke", "nobody", "--state-dir", dir]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /No certificate named "nobody"/);
  });
});

Deno.test({
  name: "runClientAdmin() add writes an .ovpn profile that openvpn 2.6 accepts without a config error",
  ignore: noOpenvpn,
  async fn() {
    await withServerState(["192.0.2.10"], async (dir) => {
      // Loopback only: the profile's remote and the extra --remote both point at 127.0.0.1:9 (discard).
      const r = await run(["add", "alice", "--state-dir", dir, "--remote", "127.0.0.1:9"]);
      assert.equal(r.code, 0, r.err);
      const profile = `${dir}/alice.ovpn`;
      await Deno.writeTextFile(profile, r.out);
      for (const verb of ["0", "3"]) {
        const child = new Deno.Command("openvpn", {
          args: [
            "--config",
            profile,
            "--dev",
            "null",
            "--verb",
            verb,
            "--connect-retry-max",
            "1",
            "--remote",
            "127.0.0.1",
            "9",
          ],
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        // openvpn either stops at once on a config error or keeps waiting for a TLS handshake.
        const timer = setTimeout(() => child.kill("SIGTERM"), 1500);
        const out = await child.output();
        clearTimeout(timer);
        const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
        assert.ok(!/Options error|Use --help for more information/i.test(text), text);
        assert.ok(out.signal === "SIGTERM" || out.code === 0, `openvpn exited with ${out.code}: ${text}`);
        if (verb === "3") assert.match(text, /UDPv4 link remote: \[AF_INET\]127\.0\.0\.1:9/, text);
      }
    });
  },
});
