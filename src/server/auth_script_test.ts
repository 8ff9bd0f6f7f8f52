import assert from "node:assert/strict";
import { Logger } from "../log/log.ts";
import { inTempDir } from "../testing/temp_dir.ts";
import { until } from "../testing/wait.ts";
import {
  AuthScript,
  authScriptEnv,
  type AuthScriptSubject,
  type ChildRunner,
  remapPassword,
  remapUsername,
} from "./auth_script.ts";

const SUBJECT: AuthScriptSubject = {
  username: "alice",
  password: "s3cret pass",
  commonName: "alice-laptop",
  remote: "192.0.2.7:51000",
  peerInfo: new Map([["IV_VER", "2.6.12"], ["IV_PLAT", "linux"], ["BAD KEY", "x"], ["IV_GUI_VER", "a\nb"]]),
  serial: "0A1B",
};

function logger(lines: string[]): Logger {
  return new Logger({ level: "debug", sink: (l) => lines.push(l) });
}

Deno.test("authScriptEnv() gives OpenVPN's auth-user-pass-verify variables", () => {
  const env = authScriptEnv(SUBJECT);
  assert.deepEqual(env, {
    script_type: "user-pass-verify",
    common_name: "alice-laptop",
    X509_0_CN: "alice-laptop",
    tls_serial_hex_0: "0A:1B",
    tls_serial_0: "2587",
    untrusted_ip: "192.0.2.7",
    untrusted_port: "51000",
    IV_VER: "2.6.12",
    IV_PLAT: "linux",
    IV_GUI_VER: "a_b",
  });
  assert.equal(authScriptEnv({ ...SUBJECT, remote: "[2001:db8::7]:1194" }).untrusted_ip6, "2001:db8::7");
});

Deno.test("remapUsername() and remapPassword() replace what OpenVPN would with '_'", () => {
  assert.equal(remapUsername("a.b-c_d@e"), "a.b-c_d@e");
  assert.equal(remapUsername("x;rm -rf /$(id)"), "x_rm_-rf____id_");
  assert.equal(remapPassword("p ä$!\r\nq\0"), "p ä$!__q_");
});

Deno.test("AuthScript.check() via-env: the username and password are in the environment; exit 0 accepts, others refuse", async () => {
  const seen: { args: string[]; env: Record<string, string> }[] = [];
  let code = 0;
  const run: ChildRunner = (_path, args, env) => {
    seen.push({ args, env });
    return Promise.resolve({ code, timedOut: false, output: "" });
  };
  const lines: string[] = [];
  const script = new AuthScript({
    script: "/c",
    method: "via-env",
    timeoutMs: 1000,
    log: logger(lines),
    run,
  });
  assert.deepEqual(await script.check(SUBJECT), { ok: true });
  assert.deepEqual(seen[0].args, []);
  assert.equal(seen[0].env.username, "alice");
  assert.equal(seen[0].env.password, "s3cret pass");
  code = 1;
  assert.deepEqual(await script.check(SUBJECT), { ok: false, reason: "authentication failed" });
  assert.ok(lines.some((l) => l.includes("auth script exited with code 1")));
  assert.ok(!lines.some((l) => l.includes("s3cret")), "the password reached the log");
});

Deno.test("AuthScript.check() via-file: a 0600 file with two lines, passed as the one argument and removed after", async () => {
  await inTempDir(async (dir) => {
    let file = "";
    const run: ChildRunner = async (_path, args, env) => {
      file = args[0];
      assert.equal(args.length, 1);
      assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
      assert.equal(await Deno.readTextFile(file), "alice\ns3cret pass\n");
      assert.equal(env.password, undefined);
      return { code: 0, timedOut: false, output: "" };
    };
    const script = new AuthScript({
      script: "/c",
      method: "via-file",
      timeoutMs: 1000,
      log: logger([]),
      run,
      tempDir: dir,
    });
    assert.deepEqual(await script.check(SUBJECT), { ok: true });
    await assert.rejects(Deno.lstat(file), Deno.errors.NotFound);
  });
});

Deno.test("AuthScript.check() with a real script: a timeout refuses without waiting for a background child, output is logged", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/check.sh`;
    await Deno.writeTextFile(
      path,
      '#!/bin/sh\necho "checking $username"\n[ "$username" = slow ] && { sleep 30 & sleep 30; }\n[ "$password" = ok ]\n',
      { mode: 0o755 },
    );
    const lines: string[] = [];
    const script = new AuthScript({ script: path, method: "via-env", timeoutMs: 300, log: logger(lines) });
    assert.deepEqual(await script.check({ ...SUBJECT, password: "ok" }), { ok: true });
    assert.ok(lines.some((l) => l.includes("checking alice")), lines.join("\n"));
    const started = performance.now();
    assert.deepEqual(await script.check({ ...SUBJECT, username: "slow" }), {
      ok: false,
      reason: "authentication failed",
    });
    assert.ok(performance.now() - started < 5000, "the verdict waited for the script's background child");
    assert.ok(lines.some((l) => l.includes("did not finish within 0.3 s")), lines.join("\n"));
    const missing = new AuthScript({
      script: `${dir}/nope`,
      method: "via-env",
      timeoutMs: 300,
      log: logger(lines),
    });
    assert.deepEqual(await missing.check(SUBJECT), { ok: false, reason: "authentication failed" });
  });
});

Deno.test("AuthScript.check() runs at most maxRunning scripts at once; the others wait their turn", async () => {
  let running = 0;
  let most = 0;
  const release: (() => void)[] = [];
  const run: ChildRunner = async () => {
    running++;
    most = Math.max(most, running);
    await new Promise<void>((r) => release.push(r));
    running--;
    return { code: 0, timedOut: false, output: "" };
  };
  const script = new AuthScript({
    script: "/c",
    method: "via-env",
    timeoutMs: 1000,
    log: logger([]),
    run,
    maxRunning: 2,
  });
  const checks = Array.from({ length: 5 }, () => script.check(SUBJECT));
  for (let done = 0; done < 5; done++) {
    await until(() => release.length > 0 || null, {
      what: "a running script",
      timeoutMs: 2000,
      intervalMs: 1,
    });
    assert.ok(running <= 2, `${running} scripts at once`);
    release.shift()!();
  }
  assert.deepEqual(await Promise.all(checks), Array(5).fill({ ok: true }));
  assert.equal(most, 2);
});

Deno.test("AuthScript.check() honours OpenVPN's deferred auth (exit 2 + auth_control_file) and auth_failed_reason_file", async () => {
  await inTempDir(async (dir) => {
    const path = `${dir}/check.sh`;
    await Deno.writeTextFile(
      path,
      `#!/bin/sh
case "$username" in
  later-yes) (sleep 0.2; echo 1 > "$auth_control_file") >/dev/null 2>&1 & exit 2;;
  later-no) (sleep 0.2; echo "Your token was wrong" > "$auth_failed_reason_file"; echo 0 > "$auth_control_file") >/dev/null 2>&1 & exit 2;;
  never) exit 2;;
  reason) echo "Account locked" > "$auth_failed_reason_file"; exit 1;;
esac
exit 1
`,
      { mode: 0o755 },
    );
    const lines: string[] = [];
    const script = new AuthScript({
      script: path,
      method: "via-env",
      timeoutMs: 1500,
      log: logger(lines),
      tempDir: dir,
    });
    assert.deepEqual(await script.check({ ...SUBJECT, username: "later-yes" }), { ok: true });
    assert.deepEqual(await script.check({ ...SUBJECT, username: "later-no" }), {
      ok: false,
      reason: "Your token was wrong",
    });
    assert.deepEqual(await script.check({ ...SUBJECT, username: "reason" }), {
      ok: false,
      reason: "Account locked",
    });
    assert.deepEqual(await script.check({ ...SUBJECT, username: "never" }), {
      ok: false,
      reason: "authentication failed",
    });
    assert.ok(
      lines.some((l) => l.includes("deferred auth script did not decide within 1.5 s")),
      lines.join("\n"),
    );
    // The control, reason (and via-file) files are gone once each check returned.
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["check.sh"]);
  });
});
