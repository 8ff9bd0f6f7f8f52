import assert from "node:assert/strict";
import { isJournalStream } from "./journal.ts";
import { Logger } from "./log.ts";

Deno.test("isJournalStream(): JOURNAL_STREAM must name stderr's own device and inode", () => {
  assert.equal(isJournalStream("8:12345", { dev: 8, ino: 12345 }), true);
  assert.equal(isJournalStream("8:12345", { dev: 8, ino: 999 }), false, "stderr was redirected elsewhere");
  assert.equal(isJournalStream("8:12345", null), false);
  assert.equal(isJournalStream(undefined, { dev: 8, ino: 12345 }), false);
  assert.equal(isJournalStream("garbage", { dev: 8, ino: 12345 }), false);
  assert.equal(isJournalStream("8:12345:1", { dev: 8, ino: 12345 }), false);
});

Deno.test("Logger in journal style: sd-daemon <N> priority prefixes, no timestamp", () => {
  const lines: string[] = [];
  const log = new Logger({ level: "debug", sink: (l) => lines.push(l), style: "journal", scope: "server" });
  log.error("e");
  log.warn("w", { a: 1 });
  log.child("mgmt").info("i");
  log.debug("d");
  assert.deepEqual(lines, ["<3>[server] e", "<4>[server] w a=1", "<6>[server/mgmt] i", "<7>[server] d"]);
});

Deno.test("the journal is detected from the process' real stderr: JOURNAL_STREAM must name the file fd 2 is", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn-journal-" });
  try {
    const script = 'import { Logger } from "./log.ts"; new Logger({ level: "info" }).info("hello");';
    /** Runs a logger with stderr on a fresh file and JOURNAL_STREAM from `stream(file)`; returns what it wrote. */
    const run = async (name: string, stream: (st: Deno.FileInfo) => string) => {
      const file = `${dir}/${name}`;
      await Deno.writeTextFile(file, "");
      const out = await new Deno.Command("sh", {
        args: ["-c", 'exec "$0" eval --ext=ts "$1" 2>>"$2"', Deno.execPath(), script, file],
        cwd: new URL(".", import.meta.url).pathname,
        env: { JOURNAL_STREAM: stream(Deno.statSync(file)) },
      }).output();
      assert.equal(out.code, 0);
      return (await Deno.readTextFile(file)).trim();
    };
    assert.equal(await run("journal", (st) => `${st.dev}:${st.ino}`), "<6>hello");
    assert.match(
      await run("elsewhere", (st) => `${st.dev}:${st.ino! + 1}`),
      /^\d{4}-\d\d-\d\dT\S+ INFO {2}hello$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a child logger follows a level change made on its parent after it was created", () => {
  const lines: string[] = [];
  const root = new Logger({ level: "info", sink: (l) => lines.push(l), style: "journal" });
  const child = root.child("datapath");
  child.debug("before");
  assert.equal(child.debugEnabled, false);
  root.level = "debug";
  assert.equal(child.debugEnabled, true);
  child.debug("after");
  child.level = "warn";
  root.info("hidden");
  assert.deepEqual(lines, ["<7>[datapath] after"]);
});
