import assert from "node:assert/strict";
import { EndpointSlots } from "../device/datagram_socket.ts";
import { ManualClock } from "../testing/control/clock.ts";
import { closeQuietly } from "../device/socket_helpers.ts";
import { TcpServerSocket, type TcpServerSocketOptions } from "./tcp_socket.ts";
import { closedByServer } from "../testing/control/tcp.ts";
import { until } from "../testing/wait.ts";

Deno.test("TcpServerSocket delivers length-framed packets with a connection row and answers on it", async () => {
  const closed: number[] = [];
  const sock = new TcpServerSocket({ hostname: "127.0.0.1", port: 0, onClose: (id) => closed.push(id) });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: sock.localPort });
  try {
    // Two frames, the second split across writes.
    await conn.write(Uint8Array.of(0, 3, 1, 2, 3, 0, 2, 9));
    await conn.write(Uint8Array.of(8));
    const bufs = [new Uint8Array(64), new Uint8Array(64)];
    const sizes = new Int32Array(2);
    const from = new EndpointSlots(2);
    let got = 0;
    while (got < 2) got += await sock.receiveBatch(bufs.slice(got), sizes.subarray(got), from, 4);
    assert.deepEqual([...bufs[0].subarray(4, 4 + sizes[0])], [1, 2, 3]);
    const id = TcpServerSocket.connectionOf(from, 0);
    assert.ok(id > 0);
    assert.match(sock.remoteOf(id), /^127\.0\.0\.1:\d+$/);
    assert.equal(sock.send(Uint8Array.of(7, 7, 5, 6), 2, 2, from, 0), true);
    const back = new Uint8Array(16);
    const n = await conn.read(back);
    assert.deepEqual([...back.subarray(0, n!)], [0, 2, 5, 6]);
    const unknown = new EndpointSlots(1);
    unknown.setIpv4(0, 0x7f000001, 1);
    assert.equal(sock.send(Uint8Array.of(1), 0, 1, unknown, 0), false, "a UDP row names no connection");
    conn.close();
    await until(() => closed.length > 0, { what: "onClose after the peer closed" });
    assert.deepEqual(closed, [id]);
  } finally {
    sock.close();
  }
});

/** Connection ids in accept order: each connection sends one frame [i] and the socket reports its row. */
async function connectAll(sock: TcpServerSocket, n: number): Promise<{ conns: Deno.Conn[]; ids: number[] }> {
  const conns: Deno.Conn[] = [];
  const ids: number[] = [];
  const bufs = [new Uint8Array(16)];
  const sizes = new Int32Array(1);
  const from = new EndpointSlots(1);
  for (let i = 0; i < n; i++) {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: sock.localPort });
    conns.push(c);
    await c.write(Uint8Array.of(0, 1, i));
    assert.equal(await sock.receiveBatch(bufs, sizes, from, 0), 1);
    assert.equal(bufs[0][0], i);
    ids.push(TcpServerSocket.connectionOf(from, 0));
  }
  return { conns, ids };
}

function closeAll(conns: Deno.Conn[]): void {
  for (const c of conns) closeQuietly(c);
}

/** One more connection, added to `conns` (so `closeAll` closes it). */
async function connectOneMore(sock: TcpServerSocket, conns: Deno.Conn[]): Promise<Deno.Conn> {
  const c = await Deno.connect({ hostname: "127.0.0.1", port: sock.localPort });
  conns.push(c);
  return c;
}

/** A socket on a ManualClock whose hasSession answers from `sessions`; `closed` collects onClose's ids. */
function sessionTrackingSocket(options: Partial<TcpServerSocketOptions>) {
  const clock = new ManualClock();
  const sessions = new Set<number>();
  const closed: number[] = [];
  const sock = new TcpServerSocket({
    hostname: "127.0.0.1",
    port: 0,
    clock,
    hasSession: (id) => sessions.has(id),
    onClose: (id) => closed.push(id),
    ...options,
  });
  return { clock, sessions, closed, sock };
}

Deno.test("TcpServerSocket refuses and counts connections beyond maxConnections", async () => {
  const sock = new TcpServerSocket({ hostname: "127.0.0.1", port: 0, maxConnections: 2 });
  const { conns } = await connectAll(sock, 2);
  try {
    const third = await connectOneMore(sock, conns);
    assert.equal(await closedByServer(third, 2000), true, "third connection closed on accept");
    assert.equal(sock.refused, 1);
    assert.equal(sock.connections, 2);
    assert.equal(await closedByServer(conns[0], 100), false, "the first two stay open");
  } finally {
    closeAll(conns);
    sock.close();
  }
});

Deno.test("TcpServerSocket closes a connection that carried no session for idleMs and keeps one that does", async () => {
  const { clock, sessions, closed, sock } = sessionTrackingSocket({ idleMs: 60_000, helloMs: Infinity });
  const { conns, ids } = await connectAll(sock, 3);
  try {
    sessions.add(ids[0]);
    sessions.add(ids[2]);
    await clock.advance(45_000);
    assert.deepEqual(closed, [], "nothing closed before idleMs");
    sessions.delete(ids[2]); // its session ended: idle from now on
    await clock.advance(15_000);
    assert.deepEqual(closed, [ids[1]], "no session for 60 s");
    assert.equal(await closedByServer(conns[1], 2000), true);
    await clock.advance(60_000);
    assert.deepEqual(closed, [ids[1], ids[2]], "60 s after its session ended");
    assert.equal(sock.idleClosed, 2);
    assert.equal(await closedByServer(conns[0], 100), false, "the connection with a session stays");
  } finally {
    closeAll(conns);
    sock.close();
  }
  assert.equal(clock.pending, 0, "close() stops the idle sweep");
});

Deno.test("TcpServerSocket without hasSession keeps a connection while frames arrive", async () => {
  const clock = new ManualClock();
  const sock = new TcpServerSocket({ hostname: "127.0.0.1", port: 0, clock, idleMs: 1000 });
  const { conns, ids } = await connectAll(sock, 2);
  const bufs = [new Uint8Array(16)];
  const sizes = new Int32Array(1);
  const from = new EndpointSlots(1);
  try {
    for (let i = 0; i < 8; i++) {
      await conns[0].write(Uint8Array.of(0, 1, 42));
      assert.equal(await sock.receiveBatch(bufs, sizes, from, 0), 1);
      await clock.advance(250);
    }
    assert.equal(sock.remoteOf(ids[1]), "", "the silent one is gone");
    assert.match(sock.remoteOf(ids[0]), /^127\.0\.0\.1:/);
    assert.equal(sock.idleClosed, 1);
  } finally {
    closeAll(conns);
    sock.close();
  }
});

Deno.test("TcpServerSocket drops and counts packets past 1 MiB queued for a peer that does not read", async () => {
  const sock = new TcpServerSocket({ hostname: "127.0.0.1", port: 0 });
  const { conns, ids } = await connectAll(sock, 1);
  const to = new EndpointSlots(1);
  const packet = new Uint8Array(60_000);
  try {
    TcpServerSocket.setConnection(to, 0, ids[0]);
    let accepted = 0;
    // One synchronous burst: the kernel takes at most the first packet before the queue is full.
    for (let i = 0; i < 30; i++) {
      packet.fill(i);
      if (sock.send(packet, 0, packet.length, to, 0)) accepted++;
    }
    assert.ok(accepted >= 17 && accepted < 30, `accepted ${accepted}`);
    assert.equal(sock.writeDrops, 30 - accepted);
    assert.ok(sock.queuedBytes(ids[0]) <= 1024 * 1024);
    // The peer reads everything: exactly the accepted packets arrive, whole and in order.
    const want = accepted * (packet.length + 2);
    const got = new Uint8Array(want);
    let n = 0;
    while (n < want) n += (await conns[0].read(got.subarray(n)))!;
    for (let i = 0; i < accepted; i++) {
      const o = i * (packet.length + 2);
      assert.equal((got[o] << 8) | got[o + 1], packet.length);
      assert.ok(got.subarray(o + 2, o + 2 + packet.length).every((b) => b === i), `packet ${i}`);
    }
    assert.equal(sock.queuedBytes(ids[0]), 0);
  } finally {
    closeAll(conns);
    sock.close();
  }
});

/** Waits (bounded) until the socket holds exactly `n` connections. */
async function accepted(sock: TcpServerSocket, n: number): Promise<void> {
  await until(() => sock.connections === n, { what: `${n} connections accepted` });
}

Deno.test("TcpServerSocket closes a connection that carries no session helloMs after opening", async () => {
  const { clock, sessions, closed, sock } = sessionTrackingSocket({ helloMs: 5000 });
  const { conns, ids } = await connectAll(sock, 2);
  try {
    sessions.add(ids[0]); // its reset was accepted; ids[1] sent a frame the listener refused
    await clock.advance(4999);
    assert.deepEqual(closed, []);
    await clock.advance(1);
    assert.deepEqual(closed, [ids[1]]);
    assert.equal(sock.helloTimeouts, 1);
    assert.equal(await closedByServer(conns[1], 2000), true);
    sessions.delete(ids[0]);
    await clock.advance(10_000);
    assert.deepEqual(closed, [ids[1]], "past the hello, a session that ends is the idle check's business");
  } finally {
    closeAll(conns);
    sock.close();
  }
  assert.equal(clock.pending, 0, "close() clears every timer");
});

Deno.test("TcpServerSocket without hasSession closes a connection that sent no whole frame within helloMs", async () => {
  const clock = new ManualClock();
  const sock = new TcpServerSocket({ hostname: "127.0.0.1", port: 0, clock, helloMs: 5000 });
  const { conns } = await connectAll(sock, 1);
  const silent = await connectOneMore(sock, conns);
  try {
    await silent.write(Uint8Array.of(0, 9, 1)); // a frame header and one byte of nine
    await accepted(sock, 2);
    await clock.advance(5000);
    assert.equal(sock.helloTimeouts, 1);
    assert.equal(await closedByServer(silent, 2000), true);
    assert.equal(await closedByServer(conns[0], 100), false);
  } finally {
    closeAll(conns);
    sock.close();
  }
});

Deno.test("TcpServerSocket refuses connections beyond maxConnectionsPerSource and counts them", async () => {
  const sock = new TcpServerSocket({ hostname: "127.0.0.1", port: 0, maxConnectionsPerSource: 2 });
  const { conns } = await connectAll(sock, 2);
  try {
    const third = await connectOneMore(sock, conns);
    assert.equal(await closedByServer(third, 2000), true, "third from 127.0.0.1 closed on accept");
    assert.equal(sock.refusedPerSource, 1);
    assert.equal(sock.refused, 0, "the global cap was not the reason");
    conns[0].close();
    await accepted(sock, 1);
    const again = await Deno.connect({ hostname: "127.0.0.1", port: sock.localPort });
    conns[0] = again;
    await accepted(sock, 2);
    assert.equal(await closedByServer(again, 100), false, "a slot freed by a close is usable again");
    assert.deepEqual(sock.statRecord(), {
      tcp_refused: 0,
      tcp_refused_per_source: 1,
      tcp_hello_timeouts: 0,
      tcp_idle_closed: 0,
      tcp_write_drops: 0,
    });
  } finally {
    closeAll(conns);
    sock.close();
  }
});
