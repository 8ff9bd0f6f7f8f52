import assert from "node:assert/strict";
import { loadConfig } from "../config/load.ts";
import type { ServerConfig } from "../config/schema.ts";
import { Logger } from "../log/log.ts";
import { startManagement } from "../ops/management.ts";
import { formatStatusTable } from "../ops/status_table.ts";
import { FakeServerControl } from "../testing/ops/control.ts";
import { prepareZeroConfig } from "../server/zero_config.ts";
import { runStatus } from "./status.ts";
import { captureCommand, freeLoopbackPort } from "../testing/cli/io.ts";

const log = new Logger({ sink: () => {} });

const run = (args: string[]) => captureCommand(runStatus, args, { timeoutMs: 2000 });

Deno.test("runStatus() prints the status table from a live management interface", async () => {
  const control = new FakeServerControl();
  const mgmt = await startManagement("127.0.0.1:0", control, { log });
  try {
    const r = await run(["--management", mgmt.address]);
    assert.equal(r.err, "");
    assert.equal(r.code, 0);
    assert.equal(r.out, formatStatusTable(control.snapshot()).join("\n") + "\n");
    assert.match(r.out, /^alice {2}198\.51\.100\.7:51514 /m);
  } finally {
    await mgmt.close();
  }
});

Deno.test("runStatus() --json prints the snapshot as JSON, also over a unix socket", async () => {
  const dir = await Deno.makeTempDir();
  const control = new FakeServerControl();
  const mgmt = await startManagement(`${dir}/mgmt.sock`, control, { log });
  try {
    const r = await run(["--json", "--management", `${dir}/mgmt.sock`]);
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.out), control.snapshot());
  } finally {
    await mgmt.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runStatus() exits 1 with one clear line when the server is not reachable", async () => {
  const port = freeLoopbackPort();
  const r = await run(["--management", `127.0.0.1:${port}`]);
  assert.equal(r.code, 1);
  assert.equal(r.out, "");
  assert.equal(
    r.err,
    `tsvpn status: Cannot reach the management interface at 127.0.0.1:${port}: connection refused (is the server running?)\n`,
  );
});

Deno.test("runStatus() exits 1 when the server answers with an error or no status document", async () => {
  // A stand-in that speaks the protocol but answers every command with an error, like an old OpenVPN.
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const replies = ["ERROR: bad status format version number\r\n", '{"not":"a snapshot"}\r\nEND\r\n'];
  const conns: Deno.Conn[] = [];
  const serving = (async () => {
    for await (const c of l) {
      conns.push(c);
      const reply = replies.shift() ?? "";
      await c.write(new TextEncoder().encode(">INFO:OpenVPN Management Interface Version 5\r\n"));
      await c.read(new Uint8Array(100));
      await c.write(new TextEncoder().encode(reply));
    }
  })();
  const address = `127.0.0.1:${(l.addr as Deno.NetAddr).port}`;
  try {
    const a = await run(["--management", address]);
    assert.equal(a.code, 1);
    assert.equal(
      a.err,
      `tsvpn status: the server at ${address} answered "ERROR: bad status format version number"\n`,
    );
    const b = await run(["--management", address]);
    assert.equal(b.code, 1);
    assert.equal(b.err, `tsvpn status: the server at ${address} sent no valid status document\n`);
  } finally {
    for (const c of conns) c.close();
    l.close();
    await serving.catch(() => {});
  }
});

Deno.test("runStatus() exits 2 on usage errors and prints help on --help", async () => {
  const unknown = await run(["--bogus"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /^tsvpn status: Unknown option '--bogus' \(see tsvpn status --help\)\n$/);
  const positional = await run(["extra"]);
  assert.equal(positional.code, 2);
  const badAddr = await run(["--management", "nowhere"]);
  assert.equal(badAddr.code, 2);
  assert.match(badAddr.err, /^tsvpn status: Invalid management address "nowhere"/);
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.out, /^Usage: tsvpn status/);
});

Deno.test("runStatus() --state-dir finds a zero-config server's socket through its server.yaml", async () => {
  const parent = await Deno.makeTempDir();
  const state = `${parent}/state`;
  try {
    await prepareZeroConfig(state, { log, sans: ["192.0.2.10"] });
    const control = new FakeServerControl();
    const config = await loadConfig(`${state}/server.yaml`) as ServerConfig;
    assert.deepEqual(config.management?.listen, { kind: "unix", path: `${state}/management.sock` });
    const mgmt = await startManagement(`${state}/management.sock`, control, { log });
    try {
      assert.equal((await Deno.stat(`${state}/management.sock`)).mode! & 0o777, 0o600);
      const r = await run(["--json", "--state-dir", state]);
      assert.equal(r.code, 0, r.err);
      assert.deepEqual(JSON.parse(r.out), control.snapshot());
      // Without server.yaml the socket's default place is still tried.
      await Deno.rename(`${state}/server.yaml`, `${state}/elsewhere.yaml`);
      const bare = await run(["--json", "--state-dir", state]);
      assert.equal(bare.code, 0, bare.err);
    } finally {
      await mgmt.close();
    }
    const down = await run(["--state-dir", state]);
    assert.equal(down.code, 1);
    assert.equal(
      down.err,
      `tsvpn status: Cannot reach the management interface at ${state}/management.sock: no such socket (is the server running?)\n`,
    );
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("runStatus() sends the password from --config's management.password_file or --password-file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/pw`, "s3cret\n", { mode: 0o600 });
    await Deno.writeTextFile(`${dir}/wrong`, "guess\n", { mode: 0o600 });
    const control = new FakeServerControl();
    const mgmt = await startManagement("127.0.0.1:0", control, {
      log,
      passwordFile: `${dir}/pw`,
      badPasswordDelayMs: 0,
    });
    try {
      await Deno.writeTextFile(
        `${dir}/server.yaml`,
        `mode: server\npki: { ca: ca.crt, cert: s.crt, key: s.key }\n` +
          `management: { listen: "${mgmt.address}", password_file: pw }\nserver: { network: 10.8.0.0/24 }\n`,
      );
      const viaConfig = await run(["--json", "--config", `${dir}/server.yaml`]);
      assert.equal(viaConfig.code, 0, viaConfig.err);
      const viaFlag = await run(["--json", "--management", mgmt.address, "--password-file", `${dir}/pw`]);
      assert.equal(viaFlag.code, 0, viaFlag.err);
      const none = await run(["--management", mgmt.address]);
      assert.equal(none.code, 1);
      assert.match(none.err, /: it asks for a password and none was given\n$/);
      const wrong = await run(["--config", `${dir}/server.yaml`, "--password-file", `${dir}/wrong`]);
      assert.equal(wrong.code, 1);
      assert.match(wrong.err, /it refused the password \(it asked again\)\n$/);
    } finally {
      await mgmt.close();
    }
    await Deno.writeTextFile(
      `${dir}/bare.yaml`,
      "mode: server\npki: { ca: a, cert: b, key: c }\nserver: { network: 10.8.0.0/24 }\n",
    );
    const bare = await run(["--config", `${dir}/bare.yaml`]);
    assert.equal(bare.code, 2);
    assert.equal(
      bare.err,
      `tsvpn status: ${dir}/bare.yaml names no management interface (management.listen)\n`,
    );
    const both = await run(["--config", `${dir}/bare.yaml`, "--state-dir", dir]);
    assert.equal(both.code, 2);
    assert.equal(both.err, "tsvpn status: Give only one of --config, --state-dir\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
