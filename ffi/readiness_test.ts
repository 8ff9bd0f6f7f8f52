// Readiness on an eventfd standing in for a tun fd or socket: needs --allow-ffi, not root.
import assert from "node:assert/strict";
import { EFD_CLOEXEC, EFD_NONBLOCK, F_GETFL, libc } from "./libc.ts";
import { Readiness } from "./readiness.ts";
import { holds, pause, settledWithin } from "../src/testing/wait.ts";

/** A nonblocking eventfd: readable once something is written to it. */
function openTarget(): number {
  const fd = libc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  assert.ok(fd >= 0, "eventfd failed");
  return fd;
}

function makeReadable(fd: number): void {
  assert.equal(libc().write(fd, new BigUint64Array([1n]), 8), 8);
}

/**
 * The kernel's id of the eventfd open as `fd` in this process, or null. Test
 * files run in parallel in one process and reuse fd numbers at once, so a
 * released fd is told by its eventfd id, not by counting open fds.
 */
function eventfdId(fd: number): string | null {
  try {
    return /^eventfd-id:\s*(\d+)/m.exec(Deno.readTextFileSync(`/proc/self/fdinfo/${fd}`))?.[1] ?? null;
  } catch {
    return null;
  }
}

/** Asserts that `r`'s eventfd is open now, and returns a check that it is no longer. */
function wakeFdReleaseCheck(r: Readiness): () => void {
  const fd = r.wakeFd;
  const id = eventfdId(fd);
  assert.ok(id !== null, "the eventfd is open");
  return () => assert.notEqual(eventfdId(fd), id, `eventfd ${fd} (id ${id}) is still open`);
}

/**
 * Whether `p` settles before a guard far below poll's 60 s timeout, so a wait
 * that close() failed to wake shows up as false instead of a minute's hang.
 */
function settlesSoon(p: Promise<unknown>): Promise<boolean> {
  return settledWithin(p.then(() => true), 10_000, false);
}

Deno.test("Readiness.wait() resolves once the fd becomes readable", async () => {
  const fd = openTarget();
  const ready = new Readiness(libc(), fd);
  try {
    let done = false;
    const pending = ready.wait().then(() => done = true);
    // Proving an absence (no clock in a kernel poll): the wait does not end while the fd is not readable.
    await holds(() => !done && ready.waiting, 20, "the wait stays pending");
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
    await pause(20); // part of the scenario: the wait is blocked in poll(2) when close() comes
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
  const idle = new Readiness(libc(), fd);
  const idleReleased = wakeFdReleaseCheck(idle);
  idle.close();
  idleReleased();

  const busy = new Readiness(libc(), fd);
  const busyReleased = wakeFdReleaseCheck(busy);
  const pending = busy.wait();
  busy.close();
  await pending;
  busyReleased();
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
