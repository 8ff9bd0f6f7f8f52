import assert from "node:assert/strict";
import { Logger } from "../log/log.ts";
import { startStatusFile } from "./status_file.ts";
import { formatStatus } from "./status_format.ts";
import { FakeServerControl, sampleSnapshot } from "./testing_control.ts";

const log = new Logger({ sink: () => {} });

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
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
    const handle = await startStatusFile(path, 0.05, control, { log, version: 3 });
    try {
      assert.match(await Deno.readTextFile(path), /^TITLE\ttsvpn/);
      control.snapshotValue = sampleSnapshot({ clients: [], routes: [], time: 1800000000 });
      await waitFor(async () => (await Deno.readTextFile(path)).includes("\t1800000000\n"), "a rewrite");
      assert.ok(!(await Deno.readTextFile(path)).includes("CLIENT_LIST\talice"));
    } finally {
      await handle.close();
    }
    control.snapshotValue = sampleSnapshot({ time: 1900000000 });
    await new Promise((r) => setTimeout(r, 150));
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
    const handle = await startStatusFile(path, 0.03, control, {
      log: new Logger({ sink: (l) => lines.push(l) }),
    });
    try {
      await Deno.remove(sub, { recursive: true });
      await waitFor(
        () => Promise.resolve(lines.some((l) => l.includes("Cannot write status file"))),
        "a warning",
      );
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(lines.filter((l) => l.includes("Cannot write status file")).length, 1);
      await Deno.mkdir(sub);
      await waitFor(async () => {
        try {
          return (await Deno.readTextFile(path)).endsWith("END\n");
        } catch {
          return false;
        }
      }, "the file to come back");
    } finally {
      await handle.close();
    }
  });
});
