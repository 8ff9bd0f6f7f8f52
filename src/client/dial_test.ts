import assert from "node:assert/strict";
import { DialError, formatRemote, openTransport, resolveRemote, serverEndpoint } from "./dial.ts";
import { EndpointSlots } from "../device/datagram_socket.ts";
import { TcpPacketSocket } from "./tcp_packet_socket.ts";

Deno.test("resolveRemote() passes IP literals through and prefers what the resolver lists first", async () => {
  const never = () => Promise.reject(new Error("must not be called"));
  assert.equal(await resolveRemote("192.0.2.7", never), "192.0.2.7");
  assert.equal(await resolveRemote("2001:DB8::1", never), "2001:db8::1");
  assert.equal(
    await resolveRemote("vpn.example", () => Promise.resolve(["198.51.100.1", "::1"])),
    "198.51.100.1",
  );
});

Deno.test("resolveRemote() names the host and the reason when resolution fails", async () => {
  const notFound = () =>
    Promise.reject(Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" }));
  await assert.rejects(resolveRemote("nowhere.example", notFound), (e) => {
    assert.ok(e instanceof DialError);
    assert.equal(e.message, "Cannot resolve nowhere.example: no such host");
    return true;
  });
  await assert.rejects(
    resolveRemote("empty.example", () => Promise.resolve([])),
    /Cannot resolve empty\.example: no addresses/,
  );
});

Deno.test("serverEndpoint() and formatRemote() write and show IPv4 and IPv6 endpoints", () => {
  assert.equal(serverEndpoint("192.0.2.7", 1194).format(0), "192.0.2.7:1194");
  assert.equal(serverEndpoint("2001:db8::1", 443).format(0), "[2001:db8::1]:443");
  assert.equal(formatRemote("2001:db8::1", 443), "[2001:db8::1]:443");
  assert.throws(() => serverEndpoint("vpn.example", 1), /Not an IP address/);
});

Deno.test("openTransport() reports a refused TCP connection in one sentence", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  await assert.rejects(
    openTransport(
      { host: "127.0.0.1", port, proto: "tcp" },
      "127.0.0.1",
      serverEndpoint("127.0.0.1", port),
      2000,
      () => {},
    ),
    (e: Error) => e.message === `Connection to 127.0.0.1:${port} refused`,
  );
});

Deno.test("TcpPacketSocket frames each send and delivers each received frame from the server's endpoint", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  const endpoint = serverEndpoint("127.0.0.1", port);
  const ends: string[] = [];
  const sockP = openTransport(
    { host: "127.0.0.1", port, proto: "tcp" },
    "127.0.0.1",
    endpoint,
    2000,
    (r) => ends.push(r),
  );
  const server = await l.accept();
  const sock = await sockP;
  try {
    assert.ok(sock instanceof TcpPacketSocket);
    assert.equal(sock.send(Uint8Array.of(9, 1, 2, 3), 1, 3, endpoint, 0), true);
    const got = new Uint8Array(16);
    let n = 0;
    while (n < 5) n += (await server.read(got.subarray(n))) ?? 0;
    assert.deepEqual([...got.subarray(0, 5)], [0, 3, 1, 2, 3]);
    // Two frames in one write, the second split across writes.
    await server.write(Uint8Array.of(0, 2, 7, 8, 0, 3, 4));
    await server.write(Uint8Array.of(5, 6));
    const bufs = [new Uint8Array(64), new Uint8Array(64)];
    const sizes = new Int32Array(2);
    const from = new EndpointSlots(2);
    const frames: number[][] = [];
    while (frames.length < 2) {
      const k = await sock.receiveBatch(bufs, sizes, from, 4);
      for (let i = 0; i < k; i++) {
        frames.push([...bufs[i].subarray(4, 4 + sizes[i])]);
        assert.ok(from.equals(i, endpoint, 0));
      }
    }
    assert.deepEqual(frames, [[7, 8], [4, 5, 6]]);
    server.close();
    assert.equal(await sock.receiveBatch(bufs, sizes, from, 0), 0);
    assert.deepEqual(ends, ["server closed the TCP connection"]);
  } finally {
    sock.close();
    l.close();
  }
});
