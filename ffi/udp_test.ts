// UdpSocket on loopback only (127.0.0.1, ::1). The allocation check runs this
// file as a child (`deno run … udp_test.ts --alloc-child`) with a fixed young
// generation, so heapUsed growth in the measured window is the allocation.
import assert from "node:assert/strict";
import { EADDRINUSE, OsError } from "./libc.ts";
import { decodeSockaddr, encodeSockaddr, SOCKADDR_SLOT_BYTES } from "./sockaddr.ts";
import { openUdp, type UdpSocket } from "./udp.ts";
import { EndpointSlots, FAMILY_INET, FAMILY_INET6 } from "../src/device/datagram_socket.ts";
import { pause, settledWithin, until } from "../src/testing/wait.ts";

const LOOPBACK4 = 0x7f000001;
const LOOPBACK6 = new Uint8Array(16).fill(0, 0, 15).fill(1, 15);

function rowTo4(port: number): EndpointSlots {
  const s = new EndpointSlots(1);
  s.setIpv4(0, LOOPBACK4, port);
  return s;
}

function rowTo6(port: number): EndpointSlots {
  const s = new EndpointSlots(1);
  s.setIpv6(0, LOOPBACK6, port);
  return s;
}

/** Receives until `want` datagrams arrived (fails after 2 s); returns them as copies with their sources. */
async function receiveAll(
  sock: UdpSocket,
  want: number,
  offset = 0,
): Promise<{ data: Uint8Array[]; from: string[]; families: number[] }> {
  const bufs = Array.from({ length: 16 }, () => new Uint8Array(offset + 2048));
  const sizes = new Int32Array(16);
  const from = new EndpointSlots(16);
  const out = { data: [] as Uint8Array[], from: [] as string[], families: [] as number[] };
  await until(async () => {
    const n = await settledWithin(sock.receiveBatch(bufs, sizes, from, offset), 50, 0);
    for (let i = 0; i < n; i++) {
      out.data.push(bufs[i].slice(offset, offset + sizes[i]));
      out.from.push(from.format(i));
      out.families.push(from.family(i));
    }
    return out.data.length >= want;
  }, {
    what: `${want} datagrams`,
    timeoutMs: 2000,
    intervalMs: 0,
    detail: () => `${out.data.length} arrived`,
  });
  return out;
}

function datagram(tag: number, length: number): Uint8Array {
  const d = new Uint8Array(length);
  for (let i = 0; i < length; i++) d[i] = (tag + i) & 0xff;
  return d;
}

Deno.test("encodeSockaddr() and decodeSockaddr() round-trip IPv4, IPv6 and v4-mapped rows", () => {
  const slots = new EndpointSlots(3);
  slots.setIpv4(0, 0xc0a80105, 1194);
  const v6 = new Uint8Array([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9]);
  slots.setIpv6(1, v6, 443);
  const sa = new Uint8Array(SOCKADDR_SLOT_BYTES);
  const back = new EndpointSlots(3);

  assert.equal(encodeSockaddr(sa, 0, slots, 0, 2), 16);
  assert.deepEqual([...sa.subarray(0, 8)], [2, 0, 0x04, 0xaa, 192, 168, 1, 5]);
  assert.ok(decodeSockaddr(sa, 0, back, 0));
  assert.ok(back.equals(0, slots, 0));

  assert.equal(encodeSockaddr(sa, 0, slots, 0, 10), 28);
  assert.deepEqual([...sa.subarray(8, 24)], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 1, 5]);
  assert.ok(decodeSockaddr(sa, 0, back, 2));
  assert.equal(back.family(2), FAMILY_INET);
  assert.equal(back.format(2), "192.168.1.5:1194");

  assert.equal(encodeSockaddr(sa, 0, slots, 1, 10), 28);
  assert.ok(decodeSockaddr(sa, 0, back, 1));
  assert.ok(back.equals(1, slots, 1));
  assert.equal(back.format(1), "[fd00::9]:443");
});

Deno.test("encodeSockaddr() refuses an unset row and an IPv6 row on an IPv4 socket", () => {
  const slots = new EndpointSlots(2);
  slots.setIpv6(1, LOOPBACK6, 1);
  const sa = new Uint8Array(SOCKADDR_SLOT_BYTES);
  assert.equal(encodeSockaddr(sa, 0, slots, 0, 2), 0);
  assert.equal(encodeSockaddr(sa, 0, slots, 0, 10), 0);
  assert.equal(encodeSockaddr(sa, 0, slots, 1, 2), 0);
});

Deno.test("decodeSockaddr() clears the row for an unknown address family", () => {
  const slots = new EndpointSlots(1);
  slots.setIpv4(0, LOOPBACK4, 9);
  const sa = new Uint8Array(SOCKADDR_SLOT_BYTES);
  sa[0] = 1; // AF_UNIX
  assert.equal(decodeSockaddr(sa, 0, slots, 0), false);
  assert.equal(slots.family(0), 0);
});

Deno.test("openUdp() rejects a host that is not an address and an out-of-range port", () => {
  assert.throws(() => openUdp({ host: "localhost", port: 0 }), {
    name: "TypeError",
    message: 'openUdp: host must be an IPv4 or IPv6 address, got "localhost"',
  });
  assert.throws(() => openUdp({ host: "127.0.0.1", port: 70000 }), /port must be an integer in 0\.\.65535/);
  assert.throws(() => openUdp({ host: "127.0.0.1", port: 0, recvBufferBytes: -1 }), /recvBufferBytes/);
});

Deno.test("openUdp() binds port 0 to a kernel-chosen port on IPv4 and IPv6", () => {
  using a = openUdp({ host: "127.0.0.1", port: 0 });
  using b = openUdp({ host: "::1", port: 0 });
  assert.ok(a.localPort > 0 && a.localPort < 65536);
  assert.ok(b.localPort > 0 && b.localPort !== a.localPort);
  assert.equal(a.family, 2);
  assert.equal(b.family, 10);
});

Deno.test("openUdp() names bind and the reason when the port is in use without reusePort", () => {
  using a = openUdp({ host: "127.0.0.1", port: 0 });
  assert.throws(
    () => openUdp({ host: "127.0.0.1", port: a.localPort }),
    (e: unknown) => {
      assert.ok(e instanceof OsError);
      assert.equal(e.errno, EADDRINUSE);
      assert.equal(
        e.message,
        `bind 127.0.0.1:${a.localPort}: Address already in use ` +
          "(another socket is bound to this port; sockets share a port only when all set reusePort)",
      );
      return true;
    },
  );
});

Deno.test("openUdp() lets sockets that all set reusePort share a port", () => {
  using a = openUdp({ host: "127.0.0.1", port: 0, reusePort: true });
  using b = openUdp({ host: "127.0.0.1", port: a.localPort, reusePort: true });
  assert.equal(b.localPort, a.localPort);
});

Deno.test("openUdp() applies recvBufferBytes and sendBufferBytes", () => {
  using a = openUdp({ host: "127.0.0.1", port: 0, recvBufferBytes: 1 << 20, sendBufferBytes: 1 << 19 });
  // Linux reports twice the value set; unprivileged, the value is capped by net.core.[rw]mem_max.
  if (Deno.uid() === 0) {
    assert.equal(a.recvBufferBytes, 2 << 20);
    assert.equal(a.sendBufferBytes, 2 << 19);
  } else {
    assert.ok(a.recvBufferBytes > 0 && a.sendBufferBytes > 0);
  }
});

Deno.test("UdpSocket.receiveBatch() lands datagrams at the offset and reports IPv4 sources", async () => {
  using a = openUdp({ host: "127.0.0.1", port: 0 });
  using b = openUdp({ host: "127.0.0.1", port: 0 });
  const to = rowTo4(b.localPort);
  const src = new Uint8Array(3000);
  for (let i = 0; i < 8; i++) {
    src.set(datagram(i, 100 + i), 40);
    assert.equal(a.send(src, 40, 100 + i, to, 0), true);
  }
  const OFF = 28;
  const bufs = Array.from({ length: 8 }, () => new Uint8Array(OFF + 256).fill(0xee));
  const sizes = new Int32Array(8);
  const from = new EndpointSlots(8);
  // Loopback delivers inside sendto, so all eight are queued: one call takes them.
  assert.equal(await b.receiveBatch(bufs, sizes, from, OFF), 8);
  for (let i = 0; i < 8; i++) {
    assert.deepEqual(bufs[i].subarray(OFF, OFF + 100 + i), datagram(i, 100 + i));
    assert.ok(bufs[i].subarray(0, OFF).every((x) => x === 0xee), "bytes before the offset are untouched");
    assert.equal(from.family(i), FAMILY_INET);
    assert.equal(from.format(i), `127.0.0.1:${a.localPort}`);
  }
});

Deno.test("UdpSocket.receiveBatch() fills sizes for a whole batch in one call", async () => {
  using a = openUdp({ host: "127.0.0.1", port: 0 });
  using b = openUdp({ host: "127.0.0.1", port: 0 });
  const to = rowTo4(b.localPort);
  for (let i = 0; i < 10; i++) a.send(datagram(i, 10 + i), 0, 10 + i, to, 0);
  const bufs = Array.from({ length: 16 }, () => new Uint8Array(64));
  const sizes = new Int32Array(16);
  const from = new EndpointSlots(16);
  assert.equal(await b.receiveBatch(bufs, sizes, from, 0), 10);
  assert.deepEqual([...sizes.subarray(0, 10)], [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  assert.equal(b.tryReceiveBatch(bufs, sizes, from, 0), 0);
});

Deno.test("UdpSocket.receiveBatch() reports IPv6 sources on ::1", async () => {
  using a = openUdp({ host: "::1", port: 0 });
  using b = openUdp({ host: "::1", port: 0 });
  assert.equal(a.send(datagram(7, 50), 0, 50, rowTo6(b.localPort), 0), true);
  const r = await receiveAll(b, 1);
  assert.deepEqual(r.data, [datagram(7, 50)]);
  assert.deepEqual(r.families, [FAMILY_INET6]);
  assert.deepEqual(r.from, [`[::1]:${a.localPort}`]);
});

Deno.test("UdpSocket on :: is dual-stack: IPv4 peers are reported as IPv4 and answered", async () => {
  using server = openUdp({ host: "::", port: 0 });
  using v4 = openUdp({ host: "127.0.0.1", port: 0 });
  using v6 = openUdp({ host: "::1", port: 0 });
  v4.send(datagram(1, 20), 0, 20, rowTo4(server.localPort), 0);
  v6.send(datagram(2, 30), 0, 30, rowTo6(server.localPort), 0);
  const bufs = [new Uint8Array(64), new Uint8Array(64)];
  const sizes = new Int32Array(2);
  const from = new EndpointSlots(2);
  let got = 0;
  const seen = new Map<number, string>();
  for (let guard = 0; got < 2 && guard < 50; guard++) {
    const n = await server.receiveBatch(bufs, sizes, from, 0);
    for (let i = 0; i < n; i++) {
      seen.set(sizes[i], from.format(i));
      assert.equal(server.send(bufs[i], 0, sizes[i], from, i), true);
    }
    got += n;
  }
  assert.equal(seen.get(20), `127.0.0.1:${v4.localPort}`);
  assert.equal(seen.get(30), `[::1]:${v6.localPort}`);
  assert.deepEqual((await receiveAll(v4, 1)).data, [datagram(1, 20)]);
  assert.deepEqual((await receiveAll(v6, 1)).data, [datagram(2, 30)]);
});

Deno.test("UdpSocket.sendBatch() delivers every datagram to each row's destination", async () => {
  using a = openUdp({ host: "127.0.0.1", port: 0 });
  using b = openUdp({ host: "127.0.0.1", port: 0 });
  using c = openUdp({ host: "127.0.0.1", port: 0 });
  const to = new EndpointSlots(2);
  to.setIpv4(0, LOOPBACK4, b.localPort);
  to.setIpv4(1, LOOPBACK4, c.localPort);
  const N = 64;
  const bufs = Array.from({ length: N }, (_, i) => {
    const buf = new Uint8Array(200);
    buf.set(datagram(i, 60), 12 + (i % 3));
    return buf;
  });
  const offsets = Int32Array.from({ length: N }, (_, i) => 12 + (i % 3));
  const sizes = new Int32Array(N).fill(60);
  const rows = Int32Array.from({ length: N }, (_, i) => i & 1);
  assert.equal(a.sendBatch(bufs, offsets, sizes, N, to, rows), N);
  const atB = await receiveAll(b, N / 2);
  const atC = await receiveAll(c, N / 2);
  assert.deepEqual(atB.data, Array.from({ length: N / 2 }, (_, k) => datagram(2 * k, 60)));
  assert.deepEqual(atC.data, Array.from({ length: N / 2 }, (_, k) => datagram(2 * k + 1, 60)));
  assert.ok(atB.from.every((f) => f === `127.0.0.1:${a.localPort}`));
  assert.equal(a.sendDrops + a.sendErrors, 0);
});

Deno.test("UdpSocket.sendBatch() and receiveBatch() honour buffers that are views into one ArrayBuffer", async () => {
  using a = openUdp({ host: "127.0.0.1", port: 0 });
  using b = openUdp({ host: "127.0.0.1", port: 0 });
  const arena = new Uint8Array(8 * 512).fill(0xaa);
  const slot = (i: number) => arena.subarray(i * 512, (i + 1) * 512);
  const tx = [slot(0), slot(1), slot(2)];
  tx.forEach((buf, i) => buf.set(datagram(i, 40), 8));
  assert.equal(
    a.sendBatch(
      tx,
      new Int32Array(3).fill(8),
      new Int32Array(3).fill(40),
      3,
      rowTo4(b.localPort),
      new Int32Array(3),
    ),
    3,
  );
  const rx = [slot(4), slot(5), slot(6)];
  const sizes = new Int32Array(3);
  assert.equal(await b.receiveBatch(rx, sizes, new EndpointSlots(3), 20), 3);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(arena.subarray((4 + i) * 512 + 20, (4 + i) * 512 + 60), datagram(i, 40));
    assert.equal(arena[(4 + i) * 512 + 19], 0xaa);
  }
  assert.ok(arena.subarray(3 * 512, 4 * 512).every((x) => x === 0xaa), "the slot between is untouched");
  assert.throws(
    () => a.sendBatch(tx, new Int32Array(3), new Int32Array(3), 4, rowTo4(1), new Int32Array(4)),
    /count 4 exceeds the arrays given/,
  );
});

Deno.test("UdpSocket.sendBatch() skips a row it cannot reach, counts it and sends the rest", async () => {
  using a = openUdp({ host: "127.0.0.1", port: 0 });
  using b = openUdp({ host: "127.0.0.1", port: 0 });
  const to = new EndpointSlots(3);
  to.setIpv4(0, LOOPBACK4, b.localPort);
  to.setIpv6(1, LOOPBACK6, b.localPort); // an IPv4 socket cannot send there
  const bufs = [datagram(1, 10), datagram(2, 10), datagram(3, 10), datagram(4, 10)];
  const n = a.sendBatch(
    bufs,
    new Int32Array(4),
    new Int32Array(4).fill(10),
    4,
    to,
    new Int32Array([0, 1, 2, 0]),
  );
  assert.equal(n, 2);
  assert.equal(a.sendErrors, 2);
  assert.equal(a.lastSendErrno, -1);
  assert.deepEqual((await receiveAll(b, 2)).data, [datagram(1, 10), datagram(4, 10)]);
});

Deno.test("UdpSocket.send() returns false and counts an error for an unreachable destination", () => {
  using a = openUdp({ host: "::1", port: 0 });
  // ::1 cannot reach 127.0.0.1 (sent as v4-mapped): the kernel refuses, send does not throw.
  assert.equal(a.send(datagram(0, 10), 0, 10, rowTo4(9), 0), false);
  assert.equal(a.sendErrors, 1);
  assert.ok(a.lastSendErrno > 0);
});

Deno.test("UdpSocket.receiveBatch() counts a datagram cut to its buffer's room", async () => {
  using a = openUdp({ host: "127.0.0.1", port: 0 });
  using b = openUdp({ host: "127.0.0.1", port: 0 });
  a.send(datagram(5, 300), 0, 300, rowTo4(b.localPort), 0);
  const sizes = new Int32Array(1);
  const bufs = [new Uint8Array(110)];
  assert.equal(await b.receiveBatch(bufs, sizes, new EndpointSlots(1), 10), 1);
  assert.equal(sizes[0], 100);
  assert.equal(b.truncated, 1);
  assert.deepEqual(bufs[0].subarray(10), datagram(5, 100));
});

Deno.test("UdpSocket.close() wakes a pending receiveBatch, which resolves 0", async () => {
  const a = openUdp({ host: "127.0.0.1", port: 0 });
  const bufs = [new Uint8Array(2048)];
  const pending = a.receiveBatch(bufs, new Int32Array(1), new EndpointSlots(1), 0);
  await pause(30); // part of the scenario: the receive is blocked in poll(2) when close() comes
  a.close();
  assert.equal(await pending, 0);
  assert.equal(await a.receiveBatch(bufs, new Int32Array(1), new EndpointSlots(1), 0), 0);
  assert.equal(a.tryReceiveBatch(bufs, new Int32Array(1), new EndpointSlots(1), 0), 0);
  assert.throws(() => a.send(bufs[0], 0, 1, rowTo4(9), 0), /sendto 127\.0\.0\.1:\d+: socket is closed/);
  a.close();
});

Deno.test("UdpSocket.close() with an un-awaited pending receiveBatch leaves nothing pending", () => {
  const a = openUdp({ host: "127.0.0.1", port: 0 });
  a.receiveBatch([new Uint8Array(2048)], new Int32Array(1), new EndpointSlots(1), 0);
  a.close();
});

Deno.test("UdpSocket.receiveBatch() refuses a second pending call and an offset past the buffer", async () => {
  using a = openUdp({ host: "127.0.0.1", port: 0 });
  const pending = a.receiveBatch([new Uint8Array(64)], new Int32Array(1), new EndpointSlots(1), 0);
  await assert.rejects(
    () => a.receiveBatch([new Uint8Array(64)], new Int32Array(1), new EndpointSlots(1), 0),
    /another receiveBatch is pending/,
  );
  a.close();
  assert.equal(await pending, 0);
  using b = openUdp({ host: "127.0.0.1", port: 0 });
  await assert.rejects(
    () => b.receiveBatch([new Uint8Array(64)], new Int32Array(1), new EndpointSlots(1), 64),
    /offset 64 leaves no room in buffer 0/,
  );
});

Deno.test("UdpSocket send and receive paths allocate nothing per datagram after warm-up", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--min-semi-space-size=128,--max-semi-space-size=128",
      new URL(import.meta.url).pathname,
      "--alloc-child",
    ],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  console.log(`heap growth: ${JSON.stringify(r)}`);
  assert.equal(r.datagrams, 100_000);
  // One allocation per datagram is ≥ 12 bytes (V8's smallest heap object); less is the runtime's own noise.
  assert.ok(r.syncBytesPerDatagram < 4, `send + tryReceiveBatch: ${r.syncBytesPerDatagram} B/datagram`);
  // receiveBatch is async: a promise or two per batch, nothing per datagram.
  assert.ok(r.asyncBytesPerBatch < 4096, `sendBatch + receiveBatch: ${r.asyncBytesPerBatch} B/batch`);
});

/** The allocation scenario, run in a child with a 128 MB young generation. */
async function allocChild(): Promise<void> {
  const BATCH = 32;
  const OFF = 16;
  const a = openUdp({ host: "127.0.0.1", port: 0, recvBufferBytes: 4 << 20 });
  const b = openUdp({ host: "127.0.0.1", port: 0, recvBufferBytes: 4 << 20 });
  const to = new EndpointSlots(1);
  to.setIpv4(0, LOOPBACK4, b.localPort);
  const txBufs = Array.from({ length: BATCH }, (_, i) => datagram(i, OFF + 1400));
  const offsets = new Int32Array(BATCH).fill(OFF);
  const lens = new Int32Array(BATCH).fill(1400);
  const rows = new Int32Array(BATCH);
  const rxBufs = Array.from({ length: BATCH }, () => new Uint8Array(OFF + 2048));
  const sizes = new Int32Array(BATCH);
  const from = new EndpointSlots(BATCH);
  let received = 0;
  const asyncRound = async () => {
    a.sendBatch(txBufs, offsets, lens, BATCH, to, rows);
    let got = 0;
    for (let guard = 0; got < BATCH && guard < 1000; guard++) {
      got += await b.receiveBatch(rxBufs, sizes, from, OFF);
    }
    received += got;
  };
  const syncRound = () => {
    for (let i = 0; i < BATCH; i++) a.send(txBufs[i], OFF, 1400, to, 0);
    let got = 0;
    for (let guard = 0; got < BATCH && guard < 1000; guard++) {
      got += b.tryReceiveBatch(rxBufs, sizes, from, OFF);
    }
    received += got;
  };
  const rounds = Math.ceil(100_000 / BATCH);
  for (let i = 0; i < 300; i++) {
    await asyncRound();
    syncRound();
  }
  received = 0;
  const h0 = Deno.memoryUsage().heapUsed;
  for (let i = 0; i < rounds; i++) syncRound();
  const h1 = Deno.memoryUsage().heapUsed;
  const syncReceived = received;
  received = 0;
  const h2 = Deno.memoryUsage().heapUsed;
  for (let i = 0; i < rounds; i++) await asyncRound();
  const h3 = Deno.memoryUsage().heapUsed;
  a.close();
  b.close();
  console.log(JSON.stringify({
    datagrams: rounds * BATCH,
    syncReceived,
    asyncReceived: received,
    syncBytesPerDatagram: (h1 - h0) / syncReceived,
    asyncBytesPerDatagram: (h3 - h2) / received,
    asyncBytesPerBatch: (h3 - h2) / rounds,
  }));
}

if (import.meta.main && Deno.args[0] === "--alloc-child") await allocChild();
