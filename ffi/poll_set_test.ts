import assert from "node:assert/strict";
import { EFD_CLOEXEC, EFD_NONBLOCK, libc } from "./libc.ts";
import { PollSet } from "./poll_set.ts";

function eventfd(): number {
  const fd = libc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  assert.ok(fd >= 0);
  return fd;
}

const ONE = new BigUint64Array([1n]);

Deno.test("PollSet.waitSync() times out with 0 when nothing is ready and reports the ready slot", () => {
  const lib = libc();
  const a = eventfd();
  const b = eventfd();
  const polls = new PollSet(lib, 2);
  try {
    polls.setFd(0, a);
    polls.setFd(1, b);
    assert.equal(polls.waitSync(0), 0);
    assert.equal(polls.waitSync(5), 0);
    lib.write(b, ONE, 8);
    assert.equal(polls.waitSync(1000), 1);
    assert.equal(polls.ready(0), false);
    assert.equal(polls.ready(1), true);
    polls.setFd(1, -1);
    assert.equal(polls.waitSync(0), 0, "a negative fd is not watched");
  } finally {
    polls.close();
    lib.close(a);
    lib.close(b);
  }
});

Deno.test("PollSet.wake() ends the next synchronous wait at once and is consumed by it", () => {
  const polls = new PollSet(libc(), 1);
  try {
    polls.wake();
    const t0 = performance.now();
    assert.equal(polls.waitSync(5000), 1);
    assert.ok(performance.now() - t0 < 1000);
    assert.equal(polls.waitSync(0), 0, "the wake was consumed");
  } finally {
    polls.close();
  }
});

Deno.test("PollSet.wait() resolves when a watched fd becomes readable", async () => {
  const lib = libc();
  const a = eventfd();
  const polls = new PollSet(lib, 1);
  try {
    polls.setFd(0, a);
    const waiting = polls.wait(5000);
    setTimeout(() => lib.write(a, ONE, 8), 10);
    assert.equal(await waiting, 1);
    assert.equal(polls.ready(0), true);
  } finally {
    polls.close();
    lib.close(a);
  }
});

Deno.test("PollSet.close() ends a pending async wait", async () => {
  const polls = new PollSet(libc(), 1);
  const waiting = polls.wait(60_000);
  polls.close();
  const t0 = performance.now();
  await waiting;
  assert.ok(performance.now() - t0 < 5000);
  assert.equal(await polls.wait(60_000), 0, "a closed set does not wait");
});

Deno.test("PollSet.setFd() rejects a slot out of range", () => {
  const polls = new PollSet(libc(), 2);
  try {
    assert.throws(() => polls.setFd(2, 0), RangeError);
  } finally {
    polls.close();
  }
});
