import assert from "node:assert/strict";
import { Logger } from "../log/log.ts";
import { VERSION } from "../version.ts";
import { LineReader } from "./line_reader.ts";
import { startManagement } from "./management.ts";
import { formatStatus } from "./status_format.ts";
import { formatStatusTable } from "./status_table.ts";
import { FakeServerControl, sampleClient, sampleSnapshot } from "../testing/ops/control.ts";
import { until } from "../testing/wait.ts";

const GREETING = ">INFO:OpenVPN Management Interface Version 5 -- type 'help' for more info";
const encoder = new TextEncoder();

function quietLog(lines: string[] = []): Logger {
  return new Logger({ level: "debug", sink: (l) => lines.push(l) });
}

interface Session {
  conn: Deno.Conn;
  greeting: string;
  send(text: string): Promise<void>;
  line(): Promise<string | null>;
  /** Lines up to and including END. */
  untilEnd(): Promise<string[]>;
  close(): void;
}

async function connect(address: string): Promise<Session> {
  const conn = address.startsWith("/")
    ? await Deno.connect({ transport: "unix", path: address })
    : await Deno.connect({
      hostname: address.slice(0, address.lastIndexOf(":")),
      port: Number(address.slice(address.lastIndexOf(":") + 1)),
    });
  const reader = new LineReader(conn, { maxLineBytes: 1 << 22 });
  const greeting = (await reader.readLine())!;
  return {
    conn,
    greeting,
    send: async (text) => {
      const b = encoder.encode(text);
      let off = 0;
      while (off < b.length) off += await conn.write(b.subarray(off));
    },
    line: () => reader.readLine(),
    async untilEnd() {
      const out: string[] = [];
      for (let i = 0; i < 100_000; i++) {
        const l = await reader.readLine();
        if (l === null) throw new Error(`connection closed after ${JSON.stringify(out)}`);
        out.push(l);
        if (l === "END") return out;
      }
      throw new Error("no END");
    },
    close: () => {
      try {
        conn.close();
      } catch {
        // closed
      }
    },
  };
}

async function withServer(
  fn: (address: string, control: FakeServerControl) => Promise<void>,
  options: { listen?: string; maxSessions?: number; maxLineBytes?: number } = {},
): Promise<void> {
  const control = new FakeServerControl();
  const mgmt = await startManagement(options.listen ?? "127.0.0.1:0", control, {
    log: quietLog(),
    ...options,
  });
  try {
    await fn(mgmt.address, control);
  } finally {
    await mgmt.close();
  }
}

Deno.test("startManagement() greets with OpenVPN's management banner, CRLF-terminated", async () => {
  await withServer(async (address) => {
    assert.match(address, /^127\.0\.0\.1:\d+$/);
    const port = Number(address.split(":")[1]);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      const buf = new Uint8Array(200);
      let text = "";
      while (!text.endsWith("\n")) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
      assert.equal(text, GREETING + "\r\n");
    } finally {
      conn.close();
    }
  });
});

Deno.test("startManagement() answers help, version, pid and load-stats", async () => {
  await withServer(async (address) => {
    const s = await connect(address);
    try {
      assert.equal(s.greeting, GREETING);
      await s.send("help\r\n");
      const help = await s.untilEnd();
      assert.equal(help[0], `Management Interface for tsvpn ${VERSION}`);
      for (const cmd of ["status", "kill", "reload-crl", "version", "quit"]) {
        assert.ok(help.some((l) => l.includes(cmd)), cmd);
      }
      await s.send("version\n");
      assert.deepEqual(await s.untilEnd(), [
        `OpenVPN Version: tsvpn ${VERSION} [OpenVPN 2.6 compatible]`,
        "Management Version: 5",
        "END",
      ]);
      await s.send("pid\n");
      assert.equal(await s.line(), `SUCCESS: pid=${Deno.pid}`);
      await s.send("load-stats\n");
      assert.equal(await s.line(), "SUCCESS: nclients=2,bytesin=48313,bytesout=91222");
    } finally {
      s.close();
    }
  });
});

Deno.test("startManagement() status replies in OpenVPN 1 (bare status, as OpenVPN), 2, 3, the human table and JSON", async () => {
  await withServer(async (address, control) => {
    const s = await connect(address);
    try {
      const snap = control.snapshot();
      await s.send("status\n");
      assert.deepEqual(await s.untilEnd(), formatStatus(snap, 1));
      await s.send("status table\n");
      assert.deepEqual(await s.untilEnd(), [...formatStatusTable(snap), "END"]);
      for (const v of [1, 2, 3] as const) {
        await s.send(`status ${v}\n`);
        assert.deepEqual(await s.untilEnd(), formatStatus(snap, v));
      }
      await s.send("status 2\n");
      const v2 = await s.untilEnd();
      assert.equal(
        v2[2],
        "HEADER,CLIENT_LIST,Common Name,Real Address,Virtual Address,Virtual IPv6 Address,Bytes Received," +
          "Bytes Sent,Connected Since,Connected Since (time_t),Username,Client ID,Peer ID,Data Channel Cipher",
      );
      assert.ok(
        v2.includes(
          "HEADER,ROUTING_TABLE,Virtual Address,Common Name,Real Address,Last Ref,Last Ref (time_t)",
        ),
      );
      await s.send("status 3\n");
      assert.ok((await s.untilEnd()).includes(
        "HEADER\tROUTING_TABLE\tVirtual Address\tCommon Name\tReal Address\tLast Ref\tLast Ref (time_t)",
      ));
      await s.send("status json\n");
      const json = await s.untilEnd();
      assert.equal(json.length, 2);
      assert.deepEqual(JSON.parse(json[0]), snap);
      assert.equal(json[1], "END");
      await s.send("status 9\n");
      assert.equal(await s.line(), "ERROR: bad status format version number");
    } finally {
      s.close();
    }
  });
});

Deno.test("startManagement() kill and reload-crl reach the ServerControl", async () => {
  await withServer(async (address, control) => {
    const s = await connect(address);
    try {
      await s.send("kill alice\n");
      assert.equal(await s.line(), "SUCCESS: common name 'alice' found, 1 client(s) killed");
      assert.deepEqual(control.kills.map((k) => k.name), ["alice"]);
      await s.send("kill alice\n");
      assert.equal(await s.line(), "ERROR: common name 'alice' not found");
      await s.send("kill\n");
      assert.equal(await s.line(), "ERROR: the 'kill' command requires 1 parameter");
      control.crlDisconnects = 2;
      await s.send("reload-crl\n");
      assert.equal(await s.line(), "SUCCESS: CRL reloaded, 2 client(s) disconnected");
      assert.equal(control.crlReloads, 1);
      control.failWith = "crl.pem: bad signature";
      await s.send("reload-crl\n");
      assert.equal(await s.line(), "ERROR: reload-crl failed: crl.pem: bad signature");
      await s.send("kill bob\n");
      assert.equal(await s.line(), "ERROR: kill failed: crl.pem: bad signature");
    } finally {
      s.close();
    }
  });
});

Deno.test("startManagement() rejects unknown commands, ignores blank lines and closes on quit/exit", async () => {
  await withServer(async (address) => {
    for (const bye of ["quit", "exit"]) {
      const s = await connect(address);
      try {
        await s.send("\r\n   \nfrobnicate now\nSTATUS 7\n");
        assert.equal(await s.line(), "ERROR: unknown command, enter 'help' for more options");
        assert.equal(await s.line(), "ERROR: bad status format version number");
        await s.send(`${bye}\n`);
        assert.equal(await s.line(), null);
      } finally {
        s.close();
      }
    }
  });
});

Deno.test("startManagement() answers pipelined commands in order", async () => {
  await withServer(async (address) => {
    const s = await connect(address);
    try {
      await s.send("pid\nversion\nkill nobody\nstatus json\n");
      assert.equal(await s.line(), `SUCCESS: pid=${Deno.pid}`);
      assert.equal((await s.untilEnd()).length, 3);
      assert.equal(await s.line(), "ERROR: common name 'nobody' not found");
      assert.equal((await s.untilEnd()).length, 2);
    } finally {
      s.close();
    }
  });
});

Deno.test("startManagement() serves many concurrent sessions", async () => {
  await withServer(async (address, control) => {
    const expected = formatStatus(control.snapshot(), 2);
    const sessions = await Promise.all(Array.from({ length: 12 }, () => connect(address)));
    try {
      const replies = await Promise.all(sessions.map(async (s, i) => {
        await s.send(i % 2 === 0 ? "status 2\n" : "status 2\r\n");
        return await s.untilEnd();
      }));
      for (const r of replies) assert.deepEqual(r, expected);
    } finally {
      for (const s of sessions) s.close();
    }
  }, { maxSessions: 12 });
});

Deno.test("startManagement() refuses sessions beyond maxSessions and accepts again when one leaves", async () => {
  await withServer(async (address) => {
    const a = await connect(address);
    const b = await connect(address);
    try {
      const c = await connect(address);
      assert.equal(c.greeting, "ERROR: too many management sessions");
      assert.equal(await c.line(), null);
      c.close();
      await a.send("quit\n");
      assert.equal(await a.line(), null);
      // The server frees the slot when it sees the quit; until then a new session is refused.
      const d = await until(async () => {
        const s = await connect(address);
        if (s.greeting === GREETING) return s;
        s.close();
        return undefined;
      }, { what: "a session slot freed" });
      await d.send("pid\n");
      assert.match((await d.line())!, /^SUCCESS: pid=/);
      d.close();
    } finally {
      a.close();
      b.close();
    }
  }, { maxSessions: 2 });
});

Deno.test("startManagement() ends a session whose line is too long without disturbing others", async () => {
  await withServer(async (address) => {
    const bad = await connect(address);
    const good = await connect(address);
    try {
      await bad.send("status " + "x".repeat(300));
      await bad.send("y".repeat(300) + "\n");
      assert.equal(await bad.line(), "ERROR: command line longer than 256 bytes");
      assert.equal(await bad.line(), null);
      await good.send("pid\n");
      assert.match((await good.line())!, /^SUCCESS: pid=/);
    } finally {
      bad.close();
      good.close();
    }
  }, { maxLineBytes: 256 });
});

Deno.test("startManagement() drops a session that does not read its replies and keeps serving", async () => {
  const control = new FakeServerControl(sampleSnapshot({
    clients: Array.from({ length: 2000 }, (_, i) => sampleClient({ name: `client-${i}`, peerId: i })),
  }));
  const logs: string[] = [];
  const mgmt = await startManagement("127.0.0.1:0", control, { log: quietLog(logs), writeTimeoutMs: 300 });
  const port = Number(mgmt.address.split(":")[1]);
  const hog = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    // About 600 KB of JSON per reply, never read: the socket buffers fill and the write stalls.
    const cmds = encoder.encode("status json\n".repeat(40));
    await hog.write(cmds);
    const good = await connect(mgmt.address);
    await good.send("pid\n");
    assert.match((await good.line())!, /^SUCCESS: pid=/);
    good.close();
    // A hang bound (the suite runs files in parallel on a loaded host), not a speed check.
    await until(() => logs.some((l) => l.includes("reply not read in time")), {
      what: "the stalled session closed (log line)",
      timeoutMs: 30_000,
    });
  } finally {
    hog.close();
    await mgmt.close();
  }
});

Deno.test("startManagement() paces a session that sends commands faster than commandsPerSecond", async () => {
  const logs: string[] = [];
  const control = new FakeServerControl();
  const mgmt = await startManagement("127.0.0.1:0", control, { log: quietLog(logs), commandsPerSecond: 100 });
  try {
    const s = await connect(mgmt.address);
    try {
      await s.send("pid\n".repeat(250));
      for (let i = 0; i < 250; i++) assert.match((await s.line())!, /^SUCCESS: pid=/);
      assert.ok(logs.some((l) => l.includes("session throttled")), "the session was paced");
    } finally {
      s.close();
    }
  } finally {
    await mgmt.close();
  }
});

Deno.test("startManagement() refuses a non-loopback listen address", async () => {
  const control = new FakeServerControl();
  for (const listen of ["0.0.0.0:7505", "192.0.2.1:7505", "[::]:7505"]) {
    await assert.rejects(
      () => startManagement(listen, control, { log: quietLog() }),
      /Refusing management address .* loopback only/,
    );
  }
});

Deno.test("startManagement() on a unix socket uses mode 0600 and removes the socket on close", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/mgmt.sock`;
    let closed = 0;
    const mgmt = await startManagement(path, new FakeServerControl(), {
      log: quietLog(),
      onClose: () => closed++,
    });
    assert.equal(mgmt.address, path);
    const info = await Deno.lstat(path);
    assert.ok(info.isSocket);
    assert.equal(info.mode! & 0o777, 0o600);
    const s = await connect(path);
    assert.equal(s.greeting, GREETING);
    await s.send("status 2\n");
    assert.equal((await s.untilEnd()).at(-1), "END");
    await mgmt.close();
    assert.equal(await s.line(), null, "open sessions end on close");
    s.close();
    await assert.rejects(() => Deno.lstat(path), Deno.errors.NotFound);
    await mgmt.close();
    assert.equal(closed, 1, "onClose runs once");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startManagement() replaces a stale socket but refuses a live one or a regular file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/mgmt.sock`;
    // A stale socket: bound, then the listener is gone but the file stays (as after a crash).
    const stale = Deno.listen({ transport: "unix", path });
    const tmp = `${dir}/keep.sock`;
    await Deno.link(path, tmp);
    stale.close();
    await Deno.rename(tmp, path);
    assert.ok((await Deno.lstat(path)).isSocket, "a stale socket file is left behind");
    const first = await startManagement(path, new FakeServerControl(), { log: quietLog() });
    try {
      await assert.rejects(
        () => startManagement(path, new FakeServerControl(), { log: quietLog() }),
        /in use by another process/,
      );
    } finally {
      await first.close();
    }
    await Deno.writeTextFile(`${dir}/file`, "x");
    await assert.rejects(
      () => startManagement(`${dir}/file`, new FakeServerControl(), { log: quietLog() }),
      /exists and is not a socket/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
