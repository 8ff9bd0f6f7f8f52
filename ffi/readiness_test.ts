// Readiness on an eventfd standing in for a tun fd or socket: needs --allow-ffi, not root.
import assert from "node:assert/strict";
import { EFD_CLOEXEC, EFD_NONBLOCK, F_GETFL, libc } from "./libc.ts";
import { Readiness } from "./readiness.ts";

/** A nonblocking eventfd: readable once something is written to it. */
function openTarget(): number {
  const fd = libc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  assert.ok(fd >= 0, "eventfd failed");
  return fd;
}

function makeReadable(fd: number): void {
  assert.equal(libc().write(fd, new BigUint64Array([1n]), 8), 8);
}

function openFdCount(): number {
  let n = 0;
  for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
  return n;
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Whether `p` settles before a guard far below poll's 60 s timeout, so a wait
 * that close() failed to wake shows up as false instead of a minute's hang.
 */
async function settlesSoon(p: Promise<unknown>): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<false>((r) => timer = setTimeout(() => r(false), 10_000));
  try {
    return await Promise.race([p.then(() => true), guard]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("Readiness.wait() resolves once the fd becomes readable", async () => {
  const fd = openTarget();
  const ready = new Readiness(libc(), fd);
  try {
    let done = false;
    const pending = ready.wait().then(() => done = true);
    await tick(20);
    assert.equal(done, false);
    assert.equal(ready.waiting, true);
    makeReadable(fd);
    assert.ok(await settlesSoon(pending), "the wait missed the fd becoming readable");
    assert.equal(ready.waiting, false);
    // Still readable (nothing drained it): the next wait resolves at once.
    await ready.wait();
  } finally {
    ready.close();
    libc().close(fd);
  }
});

Deno.test("Readiness.close() ends a pending wait, and later waits resolve at once", async () => {
  const fd = openTarget();
  const ready = new Readiness(libc(), fd);
  try {
    const pending = ready.wait();
    await tick(20);
    ready.close();
    ready.close();
    assert.equal(ready.closed, true);
    assert.ok(await settlesSoon(pending), "close() did not wake the pending wait");
    assert.equal(ready.waiting, false);
    await ready.wait();
    assert.equal(ready.waiting, false);
  } finally {
    libc().close(fd);
  }
});

Deno.test("Readiness.close() releases its eventfd and leaves the watched fd open", async () => {
  const fd = openTarget();
  const before = openFdCount();
  const idle = new Readiness(libc(), fd);
  assert.equal(openFdCount(), before + 1);
  idle.close();
  assert.equal(openFdCount(), before);

  const busy = new Readiness(libc(), fd);
  const pending = busy.wait();
  busy.close();
  await pending;
  assert.equal(openFdCount(), before);
  assert.ok(libc().fcntl(fd, F_GETFL, 0) >= 0, "the watched fd was closed");
  libc().close(fd);
});

Deno.test("Readiness.close() with an un-awaited wait leaves nothing pending for Deno's test sanitizers", () => {
  const fd = openTarget();
  const ready = new Readiness(libc(), fd);
  ready.wait();
  ready.close();
  libc().close(fd);
});
