import assert from "node:assert/strict";
import { Logger } from "../log/log.ts";
import { LineReader } from "./line_reader.ts";
import { startManagement } from "./management.ts";
import { managementRequest } from "./management_client.ts";
import { FakeServerControl } from "../testing/ops/control.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const GREETING = ">INFO:OpenVPN Management Interface Version 5 -- type 'help' for more info";

interface Harness {
  address: string;
  port: number;
  control: FakeServerControl;
  logs: string[];
}

async function withManagement(
  fn: (h: Harness) => Promise<void>,
  options: { password?: string; passwordMode?: number; badPasswordDelayMs?: number } = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn_mgmt_" });
  const control = new FakeServerControl();
  const logs: string[] = [];
  let passwordFile: string | undefined;
  if (options.password !== undefined) {
    passwordFile = `${dir}/pw`;
    await Deno.writeTextFile(passwordFile, options.password + "\n");
    await Deno.chmod(passwordFile, options.passwordMode ?? 0o600);
  }
  const mgmt = await startManagement("127.0.0.1:0", control, {
    log: new Logger({ level: "debug", sink: (l) => logs.push(l) }),
    passwordFile,
    badPasswordDelayMs: options.badPasswordDelayMs ?? 0,
  });
  try {
    await fn({ address: mgmt.address, port: Number(mgmt.address.split(":")[1]), control, logs });
  } finally {
    await mgmt.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Sends `text` in one write and returns everything the server said until it closed (bounded wait). */
async function exchange(port: number, text: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), 5000);
  try {
    await conn.write(encoder.encode(text));
    let out = "";
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) return out;
      out += decoder.decode(buf.subarray(0, n));
    }
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // Closed by the timer.
    }
  }
}

function assertNothingRan(control: FakeServerControl): void {
  assert.deepEqual(control.kills, [], "no kill ran");
  assert.equal(control.crlReloads, 0, "no reload-crl ran");
}

Deno.test("startManagement() ends a session on a browser's fetch() POST without running its body's commands", async () => {
  await withManagement(async ({ port, control, logs }) => {
    await assert.rejects(() =>
      fetch(`http://127.0.0.1:${port}/`, {
        method: "POST",
        body: "kill alice\nreload-crl\n",
        headers: { "content-type": "text/plain" },
        signal: AbortSignal.timeout(5000),
      }).then((r) => r.body?.cancel())
    );
    assertNothingRan(control);
    assert.ok(logs.some((l) => /HTTP request reached the management interface/.test(l)), logs.join("\n"));
    // The interface still serves real clients.
    assert.deepEqual(await managementRequest(`127.0.0.1:${port}`, "kill alice"), [
      "SUCCESS: common name 'alice' found, 1 client(s) killed",
    ]);
  });
});

Deno.test("startManagement() ends a session at an HTTP header line, before or after real commands", async () => {
  await withManagement(async ({ port, control }) => {
    const raw = await exchange(port, "POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nkill alice\r\n");
    assert.equal(raw, GREETING + "\r\n", "no reply to any line");
    const headerFirst = await exchange(port, "Host: 127.0.0.1\r\nkill alice\r\n");
    assert.equal(headerFirst, GREETING + "\r\n");
    assertNothingRan(control);
    const after = await exchange(port, "pid\r\nUser-Agent: Mozilla/5.0\r\nkill alice\r\n");
    assert.equal(after, `${GREETING}\r\nSUCCESS: pid=${Deno.pid}\r\n`);
    assertNothingRan(control);
  });
});

Deno.test("startManagement() with a password file asks for it first, as OpenVPN's management pw-file does", async () => {
  await withManagement(async ({ port, control }) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      const prompt = new Uint8Array(15);
      let got = 0;
      while (got < 15) got += (await conn.read(prompt.subarray(got)))!;
      assert.equal(decoder.decode(prompt), "ENTER PASSWORD:", "a prompt without a newline");
      await conn.write(encoder.encode("s3cret pass\r\nkill alice\r\n"));
      const reader = new LineReader(conn);
      assert.equal(await reader.readLine(), "SUCCESS: password is correct");
      assert.equal(await reader.readLine(), GREETING);
      assert.equal(await reader.readLine(), "SUCCESS: common name 'alice' found, 1 client(s) killed");
    } finally {
      conn.close();
    }
    assert.deepEqual(control.kills.map((k) => k.name), ["alice"]);
  }, { password: "s3cret pass" });
});

Deno.test("startManagement() asks again after a bad password, closes after the third, and runs nothing sent with them", async () => {
  await withManagement(async ({ port, control, logs }) => {
    const t0 = performance.now();
    const reply = await exchange(port, "guess\r\nkill alice\r\nreload-crl\r\n");
    // Stock openvpn 2.6: the prompt again after each wrong password, no ERROR line, closed after three.
    assert.equal(reply, "ENTER PASSWORD:".repeat(3));
    assert.ok(
      performance.now() - t0 >= 3 * 290,
      "each bad password is answered only after badPasswordDelayMs",
    );
    assertNothingRan(control);
    assert.ok(logs.some((l) => /too many bad management passwords/.test(l)));
    const browser = await exchange(port, "POST / HTTP/1.1\r\nHost: a\r\n\r\ns3cret\r\nkill alice\r\n");
    assert.equal(browser, "ENTER PASSWORD:", "an HTTP request line ends the session silently");
    assertNothingRan(control);
    const second = await exchange(port, "wrong\r\ns3cret\r\nkill alice\r\nquit\r\n");
    assert.match(second, /^ENTER PASSWORD:ENTER PASSWORD:SUCCESS: password is correct\r\n>INFO:/);
    assert.deepEqual(
      control.kills.map((k) => k.name),
      ["alice"],
      "the right password on the second try opens the session",
    );
  }, { password: "s3cret", badPasswordDelayMs: 300 });
});

Deno.test("managementRequest() answers the password prompt and explains a missing or wrong password", async () => {
  await withManagement(async ({ address, logs }) => {
    assert.deepEqual(await managementRequest(address, "pid", { password: "s3cret" }), [
      `SUCCESS: pid=${Deno.pid}`,
    ]);
    await assert.rejects(
      () => managementRequest(address, "pid"),
      new RegExp(
        `^ManagementUnreachableError: Cannot reach the management interface at ${address}: it asks for a password and none was given$`,
      ),
    );
    await assert.rejects(
      () => managementRequest(address, "pid", { password: "wrong" }),
      /it refused the password \(it asked again\)/,
    );
    assert.ok(logs.some((l) => /readable by group or others/.test(l)), "a 0644 password file is reported");
  }, { password: "s3cret", passwordMode: 0o644 });
});

Deno.test("startManagement() refuses to start with an empty or missing password file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/pw`, "\n");
    const log = new Logger({ sink: () => {} });
    await assert.rejects(
      () => startManagement("127.0.0.1:0", new FakeServerControl(), { log, passwordFile: `${dir}/pw` }),
      /Management password file .* has an empty first line/,
    );
    await assert.rejects(
      () => startManagement("127.0.0.1:0", new FakeServerControl(), { log, passwordFile: `${dir}/none` }),
      /Cannot read management password file/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
