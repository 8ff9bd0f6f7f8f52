import assert from "node:assert/strict";
import { runHeapProbe } from "../src/testing/heap_probe.ts";
import { EndpointSlots } from "../src/device/datagram_socket.ts";
import { openUdp, type UdpSocket } from "./udp.ts";
import { until } from "../src/testing/wait.ts";

/** Receives until `want` datagrams arrived (fails after 2 s); returns their bytes. */
async function receive(sock: UdpSocket, want: number): Promise<Uint8Array[]> {
  const bufs = Array.from({ length: 64 }, () => new Uint8Array(2048));
  const sizes = new Int32Array(64);
  const from = new EndpointSlots(64);
  const got: Uint8Array[] = [];
  await until(() => {
    const n = sock.tryReceiveBatch(bufs, sizes, from, 0);
    for (let i = 0; i < n; i++) got.push(bufs[i].slice(0, sizes[i]));
    return got.length >= want;
  }, { what: `${want} datagrams`, timeoutMs: 2000, intervalMs: 2, detail: () => `${got.length} arrived` });
  return got;
}

function datagram(i: number, len: number): Uint8Array {
  const d = new Uint8Array(len);
  for (let j = 0; j < len; j++) d[j] = (i * 31 + j) & 0xff;
  return d;
}

Deno.test("UdpSocket.sendBatch() with gso delivers runs of equal datagrams intact and in order", async () => {
  const tx = openUdp({ host: "127.0.0.1", port: 0, gso: true });
  const a = openUdp({ host: "127.0.0.1", port: 0 });
  const b = openUdp({ host: "127.0.0.1", port: 0 });
  try {
    const to = new EndpointSlots(2);
    to.setIpv4(0, 0x7f000001, a.localPort);
    to.setIpv4(1, 0x7f000001, b.localPort);
    // 50 datagrams to a (1000 bytes, a 300-byte one at 20, then more), 3 to b in between, 10 more to a.
    const plan: [number, number][] = [];
    for (let i = 0; i < 50; i++) plan.push([0, i === 20 ? 300 : 1000]);
    for (let i = 0; i < 3; i++) plan.push([1, 700]);
    for (let i = 0; i < 10; i++) plan.push([0, 1200]);
    const bufs = plan.map(([, len], i) => {
      const buf = new Uint8Array(16 + len);
      buf.set(datagram(i, len), 16);
      return buf;
    });
    const offsets = new Int32Array(plan.length).fill(16);
    const sizes = Int32Array.from(plan, ([, len]) => len);
    const rows = Int32Array.from(plan, ([row]) => row);
    assert.equal(tx.sendBatch(bufs, offsets, sizes, plan.length, to, rows), plan.length);
    assert.equal(tx.gso, true, "the kernel took UDP_SEGMENT");
    const wantA = plan.map(([row, len], i) => row === 0 ? datagram(i, len) : null).filter((d) => d !== null);
    const wantB = plan.map(([row, len], i) => row === 1 ? datagram(i, len) : null).filter((d) => d !== null);
    assert.deepEqual(await receive(a, wantA.length), wantA);
    assert.deepEqual(await receive(b, wantB.length), wantB);
  } finally {
    tx.close();
    a.close();
    b.close();
  }
});

Deno.test("UdpSocket.sendBatch() with gso sends a single datagram and unsendable rows as without", async () => {
  const tx = openUdp({ host: "127.0.0.1", port: 0, gso: true });
  const a = openUdp({ host: "127.0.0.1", port: 0 });
  try {
    const to = new EndpointSlots(2);
    to.setIpv4(0, 0x7f000001, a.localPort);
    const bufs = [datagram(1, 100), datagram(2, 100), datagram(3, 100)];
    const rows = Int32Array.from([0, 1, 0]); // row 1 is unset
    const n = tx.sendBatch(bufs, new Int32Array(3), Int32Array.from([100, 100, 100]), 3, to, rows);
    assert.equal(n, 2);
    assert.equal(tx.sendErrors, 1);
    assert.deepEqual(await receive(a, 2), [bufs[0], bufs[2]]);
  } finally {
    tx.close();
    a.close();
  }
});

Deno.test("UdpSocket.sendBatch() with gso allocates nothing per datagram after warm-up", async () => {
  const url = new URL("./udp.ts", import.meta.url).href;
  const slots = new URL("../src/device/datagram_socket.ts", import.meta.url).href;
  const script = `
    import { openUdp } from ${JSON.stringify(url)};
    import { EndpointSlots } from ${JSON.stringify(slots)};
    const tx = openUdp({ host: "127.0.0.1", port: 0, gso: true });
    const rx = openUdp({ host: "127.0.0.1", port: 0, recvBufferBytes: 8 << 20 });
    const to = new EndpointSlots(1);
    to.setIpv4(0, 0x7f000001, rx.localPort);
    const bufs = Array.from({ length: 32 }, () => new Uint8Array(1500));
    const offsets = new Int32Array(32).fill(24);
    const sizes = new Int32Array(32).fill(1400);
    const rows = new Int32Array(32);
    const rbufs = Array.from({ length: 64 }, () => new Uint8Array(2048));
    const rsizes = new Int32Array(64);
    const from = new EndpointSlots(64);
    let got = 0;
    const run = (rounds) => {
      for (let r = 0; r < rounds; r++) {
        tx.sendBatch(bufs, offsets, sizes, 32, to, rows);
        let n;
        while ((n = rx.tryReceiveBatch(rbufs, rsizes, from, 0)) > 0) got += n;
      }
    };
    run(300);
    const h = Deno.memoryUsage().heapUsed;
    run(3000);
    console.log(JSON.stringify({ perDatagram: (Deno.memoryUsage().heapUsed - h) / (3000 * 32), got, gso: tx.gso }));
    tx.close();
    rx.close();
  `;
  const r = await runHeapProbe<{ perDatagram: number; got: number; gso: boolean }>(script, ["-A"]);
  assert.equal(r.gso, true);
  assert.ok(r.got > 3000 * 16, `received ${r.got}`);
  // One allocation per datagram is ≥ 12 bytes (V8's smallest heap object); less is the runtime's own noise.
  assert.ok(r.perDatagram < 4, `${r.perDatagram} bytes per datagram`);
});
