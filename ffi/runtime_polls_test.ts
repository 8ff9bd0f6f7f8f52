import assert from "node:assert/strict";
import { libc, POLLIN } from "./libc.ts";
import { runtimeEventPolls } from "./runtime_polls.ts";

/** poll(2) with timeout 0 on one fd: true when it is readable. */
function readable(fd: number): boolean {
  const pfd = new Uint8Array(8);
  const v = new DataView(pfd.buffer);
  v.setInt32(0, fd, true);
  v.setInt16(4, POLLIN, true);
  return libc().poll(pfd, 1n, 0) === 1 && (v.getInt16(6, true) & POLLIN) !== 0;
}

Deno.test("runtimeEventPolls() finds an epoll of Deno's reactor that turns readable when a Deno socket has input", async () => {
  const fds = runtimeEventPolls();
  assert.ok(fds.length > 0, "Deno's event loop has at least one epoll instance");
  const b = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  try {
    // Register b with the reactor: a pending receive, then let it settle.
    const got = b.receive();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(fds.some(readable), false, "nothing pending yet");
    // Send from a child process so this thread does not run the reactor in between.
    const port = (b.addr as Deno.NetAddr).port;
    const lib = libc();
    const sent = new Deno.Command("bash", { args: ["-c", `printf x >/dev/udp/127.0.0.1/${port}`] })
      .outputSync();
    assert.equal(sent.code, 0);
    // Without awaiting (the reactor cannot run), one of the epoll fds now reports the datagram.
    let seen = false;
    for (let i = 0; i < 200 && !seen; i++) {
      seen = fds.some(readable);
      if (!seen) lib.poll(new Uint8Array(8), 0n, 1);
    }
    assert.equal(seen, true);
    const [data] = await got;
    assert.equal(new TextDecoder().decode(data), "x");
  } finally {
    b.close();
  }
});

Deno.test("runtimeEventPolls() returns [] when the fd directory cannot be read", () => {
  assert.deepEqual(runtimeEventPolls("/nonexistent/fd"), []);
});
