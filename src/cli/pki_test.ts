import assert from "node:assert/strict";
import { parse } from "yaml";
import { parseStaticKey } from "../pki/static_key.ts";
import { runPki } from "./pki.ts";
import { captureCommand, type CommandRun } from "../testing/cli/io.ts";
import { inTempDir } from "../testing/temp_dir.ts";

const pki = (...args: string[]) =>
  captureCommand(runPki, args, { now: () => new Date("2026-05-01T12:00:00Z") });

const withTmp = (fn: (tmp: string) => Promise<void>) => inTempDir(fn, "tsvpn_cli_pki_");

function assertUsage(r: CommandRun, message: RegExp): void {
  assert.equal(r.code, 2, r.err);
  assert.equal(r.out, "");
  assert.match(r.err, /^tsvpn pki: .+\n$/);
  assert.equal(r.err.trimEnd().split("\n").length, 1);
  assert.match(r.err, message);
}

Deno.test("runPki() init, issue, list, bundle and revoke work end to end", async () => {
  await withTmp(async (tmp) => {
    const dir = `${tmp}/pki`;
    let r = await pki("init", "--dir", dir);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Created CA "CN=tsvpn CA" \(ECDSA P-256\)/);
    for (const f of ["ca.crt", "ca.key", "crl.pem", "index.json"]) await Deno.stat(`${dir}/${f}`);

    r = await pki(
      "issue",
      "--dir",
      dir,
      "--server",
      "server",
      "--san",
      "vpn.example.com",
      "--san",
      "192.0.2.1",
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Issued server certificate "server" \(serial [0-9A-F]{32}\)/);
    r = await pki("issue", "--dir", dir, "--client", "alice");
    assert.equal(r.code, 0, r.err);
    assert.equal((await Deno.stat(`${dir}/alice.key`)).mode! & 0o777, 0o600);

    r = await pki("tls-crypt-key", `${dir}/tc.key`);
    assert.equal(r.code, 0, r.err);
    assert.equal(parseStaticKey(await Deno.readTextFile(`${dir}/tc.key`)).length, 256);

    r = await pki("list", "--dir", dir);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split("\n");
    assert.match(lines[0], /^SERIAL\s+NAME\s+TYPE\s+EXPIRES\s+STATUS$/);
    assert.match(lines[1], /^[0-9A-F]{32}\s+server\s+server\s+2028-08-03T12:00:00Z\s+valid$/);
    assert.match(lines[2], /^[0-9A-F]{32}\s+alice\s+client\s+\S+\s+valid$/);

    r = await pki("bundle", "--dir", dir, "alice", "--remote", "vpn.example.com:1194", "--format", "ovpn");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^client\n/);
    assert.match(r.out, /\nremote vpn.example.com 1194\n/);
    assert.match(r.out, /<tls-crypt>\n/);

    r = await pki("bundle", "--dir", dir, "alice", "--remote", "vpn.example.com:443", "--proto", "tcp");
    assert.equal(r.code, 0, r.err);
    const doc = parse(r.out);
    assert.equal(doc.mode, "client");
    assert.equal(doc.proto, "tcp");
    assert.deepEqual(doc.remotes, [{ host: "vpn.example.com", port: 443 }]);

    r = await pki("bundle", "--dir", dir, "alice", "--remote", "h:1", "--out", `${tmp}/alice.ovpn`);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, "");
    assert.match(await Deno.readTextFile(`${tmp}/alice.ovpn`), /^client\n/);
    assert.equal((await Deno.stat(`${tmp}/alice.ovpn`)).mode! & 0o777, 0o600);

    r = await pki("revoke", "--dir", dir, "alice");
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /Revoked "alice" \(serial [0-9A-F]{32}\); CRL updated/);
    r = await pki("list", "--dir", dir, "--json");
    const records = JSON.parse(r.out);
    assert.equal(records[1].name, "alice");
    assert.equal(records[1].revokedAt, "2026-05-01T12:00:00.000Z");
    assert.match(
      (await pki("list", "--dir", dir)).out,
      /alice\s+client\s+\S+\s+revoked 2026-05-01T12:00:00Z/,
    );

    r = await pki("bundle", "--dir", dir, "alice", "--remote", "h:1");
    assert.equal(r.code, 1);
    assert.equal(r.err, 'tsvpn pki: Certificate "alice" is revoked\n');

    r = await pki("crl", "--dir", dir);
    assert.equal(r.code, 0, r.err);
  });
});

Deno.test("runPki() returns 1 with one line when the operation is refused", async () => {
  await withTmp(async (tmp) => {
    const dir = `${tmp}/pki`;
    assert.equal((await pki("init", "--dir", dir, "--cn", "Corp CA", "--curve", "P-384")).code, 0);
    const again = await pki("init", "--dir", dir);
    assert.equal(again.code, 1);
    assert.match(again.err, /^tsvpn pki: CA already exists in .*refusing to overwrite\n$/);
    assert.equal((await pki("issue", "--dir", dir, "--client", "bob")).code, 0);
    const dup = await pki("issue", "--dir", dir, "--client", "bob");
    assert.equal(dup.code, 1);
    assert.match(dup.err, /A client certificate named "bob" already exists/);
    const none = await pki("revoke", "--dir", dir, "carol");
    assert.equal(none.code, 1);
    assert.equal(none.err, 'tsvpn pki: No certificate named "carol"\n');
    const noCa = await pki("list", "--dir", `${tmp}/nothing`);
    assert.equal(noCa.code, 1);
    assert.match(noCa.err, /No CA in/);
    assert.equal((await pki("tls-crypt-key", `${tmp}/tc.key`)).code, 0);
    const overwrite = await pki("tls-crypt-key", `${tmp}/tc.key`);
    assert.equal(overwrite.code, 1);
    assert.match(overwrite.err, /already exists; refusing to overwrite/);
  });
});

Deno.test("runPki() returns 2 with a one-line message on usage errors", async () => {
  assertUsage(await pki(), /Missing pki command/);
  assertUsage(await pki("frobnicate"), /Unknown pki command "frobnicate"/);
  assertUsage(await pki("constructor"), /Unknown pki command "constructor"/);
  assertUsage(await pki("init"), /Missing --dir DIR/);
  assertUsage(await pki("init", "--dir", "x", "--bogus"), /bogus/);
  assertUsage(await pki("init", "--dir", "x", "--curve", "P-521"), /Invalid --curve "P-521"/);
  assertUsage(await pki("issue", "--dir", "x"), /exactly one of --server NAME or --client NAME/);
  assertUsage(await pki("issue", "--dir", "x", "--server", "a", "--client", "b"), /exactly one/);
  assertUsage(await pki("issue", "--dir", "x", "--client", "a", "--san", "h"), /--san is only for --server/);
  assertUsage(await pki("issue", "--dir", "x", "--client", "a", "--days", "0"), /Invalid --days "0"/);
  assertUsage(await pki("revoke", "--dir", "x"), /Missing NAME to revoke/);
  assertUsage(await pki("revoke", "--dir", "x", "a", "b"), /Unexpected argument "b"/);
  assertUsage(await pki("bundle", "--dir", "x", "a"), /Missing --remote HOST:PORT/);
  assertUsage(
    await pki("bundle", "--dir", "x", "a", "--remote", "h:1", "--format", "xml"),
    /Invalid --format "xml"/,
  );
  assertUsage(
    await pki("bundle", "--dir", "x", "a", "--remote", "h:1", "--proto", "sctp"),
    /Invalid --proto/,
  );
  assertUsage(await pki("tls-crypt-key"), /Missing FILE/);
});

Deno.test("runPki() maps a malformed --remote to a usage error", async () => {
  await withTmp(async (tmp) => {
    const dir = `${tmp}/pki`;
    await pki("init", "--dir", dir);
    await pki("issue", "--dir", dir, "--client", "a");
    assertUsage(await pki("bundle", "--dir", dir, "a", "--remote", "nohost"), /Invalid remote "nohost"/);
  });
});

Deno.test("runPki() help prints the command summary", async () => {
  const r = await pki("help");
  assert.equal(r.code, 0);
  assert.match(r.out, /tsvpn pki bundle --dir DIR NAME --remote HOST:PORT/);
});
