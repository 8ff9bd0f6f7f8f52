import assert from "node:assert/strict";
import {
  cString,
  EAGAIN,
  ENOENT,
  EPERM,
  errno,
  fromCString,
  ioErrnoPlausible,
  libc,
  O_RDWR,
  OsError,
  osError,
  strerror,
} from "./libc.ts";

Deno.test("cString() NUL-terminates UTF-8 and fromCString() stops at the NUL", () => {
  const c = cString("/dev/net/tun");
  assert.equal(c.length, 13);
  assert.equal(c[12], 0);
  assert.equal(fromCString(c, 0, c.length), "/dev/net/tun");
  assert.equal(fromCString(new Uint8Array([0x61, 0x62]), 0, 2), "ab");
});

Deno.test("strerror() returns the C library's text", () => {
  assert.equal(strerror(EPERM), "Operation not permitted");
  assert.equal(strerror(EAGAIN), "Resource temporarily unavailable");
});

Deno.test("errno() reports the failure of the call just made", () => {
  const fd = libc().open(cString("/nonexistent/tsvpn-test"), O_RDWR, 0);
  assert.equal(fd, -1);
  assert.equal(errno(), ENOENT);
});

Deno.test("osError() names the call, the errno text and the privilege hint", () => {
  const e = osError("open /dev/net/tun", EPERM);
  assert.ok(e instanceof OsError);
  assert.equal(e.errno, EPERM);
  assert.equal(e.message, "open /dev/net/tun: Operation not permitted (run as root or grant CAP_NET_ADMIN)");
  assert.equal(osError("open /x", ENOENT).message, "open /x: No such file or directory");
  assert.equal(
    new OsError("read tun0", EAGAIN, "try later").message,
    "read tun0: Resource temporarily unavailable (try later)",
  );
});

Deno.test("ioErrnoPlausible() accepts what reads and receives report and rejects values they cannot", () => {
  for (const e of [4, 9, 11, 77, 104, 111]) assert.equal(ioErrnoPlausible(e), true, `errno ${e}`);
  // ENOENT, ESRCH, EEXIST, ENODEV: never from read(2) or recvmmsg(2); left behind by other code.
  for (const e of [0, 2, 3, 17, 19]) assert.equal(ioErrnoPlausible(e), false, `errno ${e}`);
});
