/**
 * The command-line contract (DESIGN.md section 4), driven through main.ts as a
 * user would run it: exit codes and one-line errors naming file, line and key.
 */
import assert from "node:assert/strict";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function tsvpn(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-net", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

async function withConfig(text: string, fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn-cli-" });
  try {
    const path = `${dir}/conf.yaml`;
    await Deno.writeTextFile(path, text);
    await fn(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("tsvpn --help prints usage with examples and exits 0", async () => {
  const r = await tsvpn("--help");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /tsvpn --server \[--config FILE\]/);
  assert.match(r.stdout, /Examples:/);
});

Deno.test("tsvpn --version prints the version and exits 0", async () => {
  const r = await tsvpn("--version");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^tsvpn \d+\.\d+\.\d+ /);
});

Deno.test("tsvpn rejects an unknown flag and a missing value with one line and exit 2", async () => {
  for (const args of [["--bogus"], ["--server", "--config"], ["--client"]]) {
    const r = await tsvpn(...args);
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^tsvpn: /);
  }
});

Deno.test("tsvpn --server with a bad config exits 2 naming file, line and key", async () => {
  const yaml = [
    "mode: server",
    "listen: { host: 0.0.0.0, port: 1194, proto: udp }",
    "dev: { type: tun, name: tsvpn0, mtu: 1420 }",
    "pki: { ca: ca.crt, cert: s.crt, key: s.key }",
    "server:",
    "  network: 10.8.0.0/24",
    "  topology: star",
  ].join("\n");
  await withConfig(yaml, async (path) => {
    const r = await tsvpn("--server", "--config", path);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr.trim(),
      `${path}:7: server.topology: expected one of net30, p2p, subnet, got "star"`,
    );
  });
});

Deno.test("tsvpn --client with a bad config exits 2 naming file, line and key", async () => {
  const yaml = ["mode: client", "remotes:", "  - { host: 127.0.0.1, port: 99999 }"].join("\n");
  await withConfig(yaml, async (path) => {
    const r = await tsvpn("--client", "--config", path);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^${path}:3: remotes\\[0\\]\\.port: `));
  });
});

Deno.test("tsvpn --client refuses a server config with exit 2", async () => {
  const yaml = [
    "mode: server",
    "pki: { ca: ca.crt, cert: s.crt, key: s.key }",
    "server: { network: 10.8.0.0/24 }",
  ].join("\n");
  await withConfig(yaml, async (path) => {
    const r = await tsvpn("--client", "--config", path);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /expected client for --client/);
  });
});

Deno.test("tsvpn client cleanup: nothing left behind exits 0 saying so; a bad config exits 2 with one line; help lists it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn-cli-" });
  try {
    const empty = await tsvpn("client", "cleanup", "--state-dir", dir);
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal(empty.stdout, `Nothing to clean up: no host journal for this network namespace in ${dir}\n`);
    await Deno.writeTextFile(`${dir}/c.yaml`, "mode: client\nremotes: []\n");
    const bad = await tsvpn("client", "cleanup", "--config", `${dir}/c.yaml`);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^tsvpn client: .*c\.yaml:2: remotes: /);
    assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
    const help = await tsvpn("--help");
    assert.match(help.stdout, /tsvpn client cleanup \[--config FILE \| --state-dir DIR\]/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
