import assert from "node:assert/strict";
import { Logger } from "../log/log.ts";
import { startStatusFile } from "./status_file.ts";
import { formatStatus } from "./status_format.ts";
import { FakeServerControl, sampleSnapshot } from "../testing/ops/control.ts";
import { ManualClock } from "../testing/control/clock.ts";
import { until } from "../testing/wait.ts";

const log = new Logger({ sink: () => {} });

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The file's text, or "" while it does not exist. */
async function readOrEmpty(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return "";
  }
}

Deno.test("startStatusFile() writes status-version 2 at once, mode 0600", async () => {
  await withDir(async (dir) => {
    const control = new FakeServerControl();
    const path = `${dir}/status.log`;
    const handle = await startStatusFile(path, 3600, control, { log });
    try {
      assert.equal(await Deno.readTextFile(path), formatStatus(control.snapshot(), 2).join("\n") + "\n");
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["status.log"]);
    } finally {
      await handle.close();
    }
  });
});

Deno.test("startStatusFile() rewrites the file every interval and stops on close", async () => {
  await withDir(async (dir) => {
    const control = new FakeServerControl();
    const path = `${dir}/status.log`;
    const clock = new ManualClock();
    const handle = await startStatusFile(path, 60, control, { log, version: 3, clock });
    try {
      assert.match(await Deno.readTextFile(path), /^TITLE\ttsvpn/);
      control.snapshotValue = sampleSnapshot({ clients: [], routes: [], time: 1800000000 });
      await clock.advance(59_999);
      assert.ok(!(await Deno.readTextFile(path)).includes("\t1800000000\n"), "not before the interval");
      await clock.advance(1);
      await until(async () => (await Deno.readTextFile(path)).includes("\t1800000000\n"), {
        what: "a rewrite",
      });
      assert.ok(!(await Deno.readTextFile(path)).includes("CLIENT_LIST\talice"));
      await until(() => clock.pending === 1, { what: "the next rewrite scheduled" });
    } finally {
      await handle.close();
    }
    assert.equal(clock.pending, 0, "close() cancels the next rewrite");
    control.snapshotValue = sampleSnapshot({ time: 1900000000 });
    await clock.advance(10 * 60_000);
    assert.ok(!(await Deno.readTextFile(path)).includes("1900000000"), "no rewrite after close");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["status.log"]);
  });
});

Deno.test("startStatusFile() writeNow() rewrites on demand", async () => {
  await withDir(async (dir) => {
    const control = new FakeServerControl();
    const path = `${dir}/status.log`;
    const handle = await startStatusFile(path, 0, control, { log });
    try {
      control.snapshotValue = sampleSnapshot({ time: 1700000123 });
      await handle.writeNow();
      assert.match(await Deno.readTextFile(path), /^TIME,.*,1700000123$/m);
    } finally {
      await handle.close();
    }
  });
});

Deno.test("startStatusFile() rejects a path it cannot write with one line naming it", async () => {
  await assert.rejects(
    () => startStatusFile("/nonexistent-dir/status.log", 60, new FakeServerControl(), { log }),
    (e: Error) => {
      assert.match(e.message, /^Cannot write status file \/nonexistent-dir\/status.log: /);
      assert.ok(!e.message.includes("\n"));
      return true;
    },
  );
});

Deno.test("startStatusFile() keeps going after a failed rewrite and logs it once", async () => {
  await withDir(async (dir) => {
    const lines: string[] = [];
    const control = new FakeServerControl();
    const sub = `${dir}/sub`;
    await Deno.mkdir(sub);
    const path = `${sub}/status.log`;
    const clock = new ManualClock();
    const handle = await startStatusFile(path, 30, control, {
      log: new Logger({ sink: (l) => lines.push(l) }),
      clock,
    });
    /** Fires the next rewrite and waits until it finished (the one after it is scheduled). */
    const rewrite = async () => {
      await clock.advance(30_000);
      await until(() => clock.pending === 1, { what: "a rewrite attempt finished" });
    };
    const warnings = () => lines.filter((l) => l.includes("Cannot write status file")).length;
    try {
      await Deno.remove(sub, { recursive: true });
      for (let i = 0; i < 3; i++) await rewrite();
      assert.equal(warnings(), 1, "three failed rewrites, one warning");
      await Deno.mkdir(sub);
      await rewrite();
      assert.ok((await readOrEmpty(path)).endsWith("END\n"), "the file came back");
      assert.ok(lines.some((l) => l.includes("status file written again")));
      assert.equal(warnings(), 1);
    } finally {
      await handle.close();
    }
  });
});
