import assert from "node:assert/strict";
import { Logger } from "../log/log.ts";
import { startManagement } from "./management.ts";
import { HOLD_NOTIFICATION, ManagementEvents } from "./management_events.ts";
import { atoi, type ManagementSignal } from "./management_openvpn.ts";
import { FakeServerControl, sampleClient, sampleSnapshot } from "../testing/ops/control.ts";
import { openTestSession, type TestSession } from "../testing/ops/session.ts";
import { holds, until } from "../testing/wait.ts";

interface Rig {
  /** What the management interface itself logged (warn and above). */
  mgmtLog: string[];
  address: string;
  control: FakeServerControl;
  events: ManagementEvents;
  signals: ManagementSignal[];
  log: Logger;
  open(): Promise<TestSession>;
}

/** A management interface on loopback with events wired to a logger, as run_server.ts wires them. */
async function withRig(fn: (rig: Rig) => Promise<void>, hold = false): Promise<void> {
  const control = new FakeServerControl(sampleSnapshot({
    clients: [
      sampleClient({ clientId: 7 }),
      sampleClient({ name: "bob", realAddress: "[2001:db8::5]:40000", clientId: 8, bytesIn: 1, bytesOut: 2 }),
    ],
  }));
  let now = 1_700_000_000_000;
  const events = new ManagementEvents({ now: () => now++, hold, logCache: 5 });
  const log = new Logger({ level: "debug", sink: () => {} });
  const removeTap = log.addTap((level, text) => events.recordLog(level, text));
  const signals: ManagementSignal[] = [];
  const sessions: TestSession[] = [];
  const mgmtLog: string[] = [];
  const mgmt = await startManagement("127.0.0.1:0", control, {
    log: new Logger({ level: "warn", sink: (l) => mgmtLog.push(l) }),
    events,
    signal: (name) => signals.push(name),
  });
  const open = async () => {
    const s = await openTestSession(mgmt.address);
    sessions.push(s);
    return s;
  };
  try {
    await fn({ mgmtLog, address: mgmt.address, control, events, signals, log, open });
  } finally {
    for (const s of sessions) s.close();
    removeTap();
    await mgmt.close();
  }
}

async function ask(s: TestSession, command: string): Promise<string> {
  await s.send(command);
  return (await s.line())!;
}

Deno.test("atoi() reads leading digits as C does", () => {
  assert.deepEqual(["5", " 12x", "-3", "x", "", "+4"].map(atoi), [5, 12, -3, 0, 0, 4]);
});

Deno.test("kill IP:port kills by real address with OpenVPN's replies; kill CN still kills by name", async () => {
  await withRig(async ({ control, open }) => {
    const s = await open();
    assert.equal(
      await ask(s, "kill 198.51.100.7:51514"),
      "SUCCESS: 1 client(s) at address 198.51.100.7:51514 killed",
    );
    assert.equal(
      await ask(s, "kill 198.51.100.7:51514"),
      "ERROR: client at address 198.51.100.7:51514 not found",
    );
    assert.equal(await ask(s, "kill 10.0.0.1:0"), "ERROR: port number is out of range: 0");
    assert.equal(await ask(s, "kill 10.0.0.1:x"), "ERROR: port number is out of range: x");
    assert.equal(await ask(s, "kill 10.0.0.300:5"), "ERROR: error parsing IP address: 10.0.0.300");
    assert.equal(
      await ask(s, "kill [2001:db8::5]:40000"),
      "SUCCESS: 1 client(s) at address [2001:db8::5]:40000 killed",
    );
    assert.deepEqual(control.targetedKills.map((k) => k.address), [
      "198.51.100.7:51514",
      "198.51.100.7:51514",
      "[2001:db8::5]:40000",
    ]);
    assert.equal(await ask(s, "kill nobody"), "ERROR: common name 'nobody' not found");
  });
});

Deno.test("client-kill CID [MSG] kills by Client ID and passes the message; bad CIDs get OpenVPN's errors", async () => {
  await withRig(async ({ control, open }) => {
    const s = await open();
    assert.equal(await ask(s, "client-kill 7"), "SUCCESS: client-kill command succeeded");
    assert.equal(await ask(s, "client-kill 7"), "ERROR: client-kill command failed");
    assert.equal(await ask(s, 'client-kill 8 "HALT"'), "SUCCESS: client-kill command succeeded");
    assert.equal(await ask(s, "client-kill x"), "ERROR: cannot parse CID");
    assert.equal(
      await ask(s, "client-kill 8 caf\u00e9"),
      "ERROR: client-kill message must be 1 to 256 printable ASCII characters",
    );
    assert.equal(
      await ask(s, "client-kill"),
      "ERROR: the 'client-kill' command requires at least 1 parameter",
    );
    assert.deepEqual(control.targetedKills.map((k) => [k.clientId, k.message]), [[7, null], [7, null], [
      8,
      "HALT",
    ]]);
    assert.deepEqual(control.snapshot().clients, []);
  });
});

Deno.test("bytecount N sends >BYTECOUNT_CLI:CID,IN,OUT per client every N seconds until bytecount 0", async () => {
  await withRig(async ({ open }) => {
    const s = await open();
    assert.equal(await ask(s, "bytecount 1"), "SUCCESS: bytecount interval changed");
    const lines = [(await s.line(3000))!, (await s.line(3000))!];
    assert.deepEqual(lines, [">BYTECOUNT_CLI:7,48213,91022", ">BYTECOUNT_CLI:8,1,2"]);
    await s.send("bytecount 0");
    // Notifications already due may come before the reply; after it, silence.
    await s.until((l) => l === "SUCCESS: bytecount interval changed");
    await holds(() => s.buffered === 0, 1500, "no >BYTECOUNT_CLI after bytecount 0");
    assert.equal(await ask(s, "bytecount"), "ERROR: the 'bytecount' command requires 1 parameter");
  });
});

Deno.test("log on|off|all|N [all]: OpenVPN's replies, history TIME,FLAGS,TEXT then END, >LOG: only while on", async () => {
  await withRig(async ({ log, open }) => {
    log.info("first", { a: 1 });
    log.warn("second");
    const s = await open();
    await s.send("log all");
    assert.deepEqual(await s.until((l) => l === "END"), [
      "1700000000,I,first a=1",
      "1700000000,W,second",
      "END",
    ]);
    await s.send("log 1");
    assert.deepEqual(await s.until((l) => l === "END"), ["1700000000,W,second", "END"]);
    assert.equal(await ask(s, "log on"), "SUCCESS: real-time log notification set to ON");
    log.error("third\nline");
    log.debug("fourth");
    assert.equal(await s.line(), ">LOG:1700000000,N,third line");
    assert.equal(await s.line(), ">LOG:1700000000,D,fourth");
    assert.equal(await ask(s, "log off"), "SUCCESS: real-time log notification set to OFF");
    log.info("unseen");
    assert.equal(
      await ask(s, "log x"),
      "ERROR: log parameter must be 'on' or 'off' or some number n or 'all'",
    );
    assert.equal(await ask(s, "log"), "ERROR: the 'log' command requires at least 1 parameter");
    await s.send("log on all");
    const reply = await s.until((l) => l === "END");
    assert.equal(reply[0], "SUCCESS: real-time log notification set to ON");
    assert.equal(reply.at(-2), "1700000000,I,unseen");
  });
});

Deno.test("state [on|off|all|N]: the latest state, history, >STATE: notifications while on", async () => {
  await withRig(async ({ events, open }) => {
    events.recordState("CONNECTING");
    events.recordState("ASSIGN_IP", "", "10.8.0.1");
    events.recordState("CONNECTED", "SUCCESS", "10.8.0.1", "fd00::1");
    const s = await open();
    await s.send("state");
    assert.deepEqual(await s.until((l) => l === "END"), [
      "1700000000,CONNECTED,SUCCESS,10.8.0.1,,,,,fd00::1",
      "END",
    ]);
    await s.send("state all");
    const all = await s.until((l) => l === "END");
    assert.deepEqual(all.map((l) => l.split(",")[1]), ["CONNECTING", "ASSIGN_IP", "CONNECTED", undefined]);
    assert.equal(all[0], "1700000000,CONNECTING,,,,,,");
    assert.equal(await ask(s, "state on"), "SUCCESS: real-time state notification set to ON");
    events.recordState("EXITING", "a, reason");
    assert.match((await s.line())!, /^>STATE:\d+,EXITING,a {2}reason,,,,,$/);
    assert.equal(await ask(s, "state off"), "SUCCESS: real-time state notification set to OFF");
    assert.equal(
      await ask(s, "state bad"),
      "ERROR: state parameter must be 'on' or 'off' or some number n or 'all'",
    );
  });
});

Deno.test("hold: shows and sets the flag; a held process tells new sessions >HOLD and waits for hold release", async () => {
  await withRig(async ({ events, open }) => {
    let released = false;
    const waiting = events.waitForRelease().then(() => released = true);
    const s = await open();
    assert.equal(await s.line(), HOLD_NOTIFICATION);
    assert.equal(await ask(s, "hold"), "SUCCESS: hold=1");
    // As a held OpenVPN: no clients to show or kill yet.
    for (const command of ["status", "kill", "client-kill"]) {
      assert.equal(
        await ask(s, `${command} 2`),
        `ERROR: The '${command}' command is not supported by the current daemon mode`,
      );
    }
    assert.match(await ask(s, "load-stats"), /^SUCCESS: nclients=/);
    assert.equal(released, false);
    assert.equal(await ask(s, "hold release"), "SUCCESS: hold release succeeded");
    await waiting;
    assert.equal(events.holding, false);
    assert.equal(await ask(s, "hold off"), "SUCCESS: hold flag set to OFF");
    assert.equal(await ask(s, "hold"), "SUCCESS: hold=0");
    assert.equal(await ask(s, "hold on"), "SUCCESS: hold flag set to ON");
    assert.equal(await ask(s, "hold maybe"), "ERROR: bad hold command parameter");
  }, true);
});

Deno.test("signal: the four OpenVPN signals reach the handler, anything else is refused", async () => {
  await withRig(async ({ signals, open }) => {
    const s = await open();
    for (const name of ["SIGHUP", "SIGTERM", "SIGUSR1", "SIGUSR2"]) {
      assert.equal(await ask(s, `signal ${name}`), `SUCCESS: signal ${name} thrown`);
    }
    assert.equal(await ask(s, "signal sigusr2"), "ERROR: signal 'sigusr2' is not a known signal type");
    assert.equal(await ask(s, "signal SIGKILL"), "ERROR: signal 'SIGKILL' is not a known signal type");
    assert.equal(await ask(s, "signal"), "ERROR: the 'signal' command requires 1 parameter");
    assert.deepEqual(signals, ["SIGHUP", "SIGTERM", "SIGUSR1", "SIGUSR2"]);
  });
});

Deno.test("version N answers nothing (OpenVPN sets the client's version); bare version still answers", async () => {
  await withRig(async ({ open }) => {
    const s = await open();
    await s.send("version 3");
    await s.send("pid");
    assert.match((await s.line())!, /^SUCCESS: pid=\d+$/);
    await s.send("version");
    assert.deepEqual((await s.until((l) => l === "END")).length, 3);
  });
});

Deno.test("a session that turns log on and stops reading is closed once 1 MiB of real-time lines wait; one that reads a 500 KB burst stays", async () => {
  await withRig(async ({ mgmtLog, address, log, open }) => {
    const port = Number(address.split(":")[1]);
    const idle = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await idle.write(new TextEncoder().encode("log on\r\n"));
      const reader = await open();
      assert.equal(await ask(reader, "log on"), "SUCCESS: real-time log notification set to ON");
      // A burst of 500 lines of 1 KB in one go: the reading session takes it all.
      for (let i = 0; i < 500; i++) log.info(`burst ${i} ${"x".repeat(1000)}`);
      const burst = await reader.until((l) => l.includes("burst 499 "), 30_000);
      assert.equal(burst.filter((l) => l.startsWith(">LOG:")).length, 500);
      assert.equal(await ask(reader, "log off"), "SUCCESS: real-time log notification set to OFF");
      const closed = () =>
        mgmtLog.filter((l) => l.includes("session closed: real-time notifications not read"));
      // More lines until the kernel's socket buffers and then the idle session's 1 MiB are full.
      await until(() => {
        if (closed().length > 0) return true;
        for (let i = 0; i < 200; i++) log.info("x".repeat(1000));
        return false;
      }, { what: "the stalled session to be closed", timeoutMs: 30_000, intervalMs: 1 });
      assert.equal(closed().length, 1, "only the session that stopped reading");
      assert.match(await ask(reader, "pid"), /^SUCCESS: pid=\d+$/);
    } finally {
      idle.close();
    }
  });
});
